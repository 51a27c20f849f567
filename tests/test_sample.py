"""Tests of the built-in fictional sample district (geo.sample.build)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import geo.sample.build
from geo import settings
from geo.access.network import load_network, network_from_tables
from geo.errors import InputError
from geo.rules.rulebook import load_rulebook
from geo.sample.build import sample_district, sample_services
from geo.sample.design import COLUMNS, FACILITY_TYPES, SERVICE_FILES
from geo.sample.write import write_sample

LEVELS = ("street", "community", "grid")
METRIC = "EPSG:32651"
OTHER_SEED = 7

Layers = dict[str, gpd.GeoDataFrame]
Services = dict[str, Any]


@pytest.fixture(scope="module")
def district(sample_layers: Layers) -> Layers:
    return sample_layers


@pytest.fixture(scope="module")
def other_district() -> Layers:
    return sample_district(seed=OTHER_SEED)


@pytest.fixture(scope="module", params=["district", "other_district"], ids=["default", "seed-7"])
def any_district(request: pytest.FixtureRequest) -> Layers:
    layers: Layers = request.getfixturevalue(request.param)
    return layers


def _fingerprint(layers: Layers) -> dict[str, tuple[str, list[bytes]]]:
    return {
        level: (
            frame.drop(columns="geometry").to_csv(),
            [bytes(b) for b in shapely.to_wkb(frame.geometry.values)],
        )
        for level, frame in layers.items()
    }


def _street_table(layers: Layers) -> gpd.GeoDataFrame:
    streets = layers["street"].to_crs(METRIC)
    streets["km2"] = streets.area / 1e6
    return streets


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_output_and_none_means_settings_seed(district: Layers) -> None:
    # built afresh (not the per-process copy sample_district hands out); its speed is in bench/
    again = geo.sample.build._build_district(settings.sample_seed)
    assert _fingerprint(again) == _fingerprint(district)
    assert _fingerprint(sample_district(seed=settings.sample_seed)) == _fingerprint(district)


def test_callers_get_copies_of_the_built_district(district: Layers) -> None:
    mine = sample_district()
    mine["grid"].loc[:, "population"] = -1
    assert (sample_district()["grid"]["population"] >= 0).all()
    assert mine["grid"].attrs["seed"] == settings.sample_seed


def test_other_seed_gives_other_district(district: Layers, other_district: Layers) -> None:
    assert _fingerprint(other_district)["grid"] != _fingerprint(district)["grid"]


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(InputError, match="non-negative integer"):
        sample_district(seed=seed)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- schema


def test_levels_columns_crs_and_geometry_types(any_district: Layers) -> None:
    assert list(any_district) == list(LEVELS)
    for level, frame in any_district.items():
        assert tuple(frame.columns) == COLUMNS, level
        assert frame.crs is not None and frame.crs.to_epsg() == 4326
        assert (frame.geom_type == "Polygon").all(), level
        assert frame.is_valid.all(), level
        assert frame["population"].dtype == np.int64
        assert frame["households"].dtype == np.int64
        assert all(isinstance(v, str) for v in frame["code"])
        assert all(isinstance(v, str) for v in frame["name"])
        assert frame.attrs["level"] == level
        assert "虚构" in frame.attrs["district"] and "fictional" in frame.attrs["district"]
    assert any_district["street"]["parent_code"].isna().all()
    for level in ("community", "grid"):
        assert all(isinstance(v, str) for v in any_district[level]["parent_code"])


def test_counts_and_total_population(any_district: Layers) -> None:
    assert 9 <= len(any_district["street"]) <= 12
    assert 100 <= len(any_district["community"]) <= 140
    assert 1000 <= len(any_district["grid"]) <= 1400
    total = int(any_district["grid"]["population"].sum())
    assert 900_000 <= total <= 1_100_000


def test_location_is_near_the_planned_spot(district: Layers) -> None:
    lon, lat = shapely.coverage_union_all(district["street"].geometry.values).centroid.coords[0]
    assert abs(lon - 120.45) < 0.05 and abs(lat - 36.15) < 0.05


def test_density_gradient_and_household_size(district: Layers) -> None:
    grids = district["grid"].to_crs(METRIC)
    density = grids["population"] / (grids.area / 1e6)
    assert 22_000 <= np.percentile(density, 95) <= 40_000  # dense core
    assert np.percentile(density, 10) <= 5_000  # sparse periphery
    streets = _street_table(district)
    town = streets[streets["name"].str.endswith("镇")].iloc[0]
    assert 2_000 <= town["population"] / town["km2"] <= 5_000
    assert (streets["population"] / streets["km2"]).max() >= 20_000
    ratio = grids["population"].sum() / grids["households"].sum()
    assert 2.5 <= ratio <= 2.75
    per_grid = grids["population"] / grids["households"]
    assert per_grid[grids["population"] >= 100].between(2.2, 3.1).all()
    assert (grids["households"] >= 1).all()


def _urban_grid_share_in_band(layers: Layers) -> tuple[int, float]:
    grids = layers["grid"]
    urban = grids["code"].str[6:9].astype(int).between(1, 99)  # under street offices 街道
    in_band = grids.loc[urban, "households"].between(300, 500)
    return int((~in_band).sum()), float(in_band.mean())


def test_grids_are_drawn_by_household_count(any_district: Layers) -> None:
    # Grid managers draw grids by household count (the rulebook's 300-500
    # households per grid): nearly all grids of the street offices hold
    # 300-500 households, a few (parks, industry) do not, and the town's
    # village grids, drawn village by village, hold fewer.
    grids = any_district["grid"]
    outside, share = _urban_grid_share_in_band(any_district)
    assert share >= 0.90, f"only {share:.1%} of urban grids hold 300-500 households"
    assert outside >= 5  # the check still finds a few grids
    village = grids["code"].str[6:9].astype(int).between(100, 199)
    assert grids.loc[village, "households"].median() < 300
    communities = any_district["community"]
    committees = communities[communities["code"].str[9:].astype(int) < 200]  # 居委会
    assert committees["population"].between(5_000, 12_000).mean() >= 0.9


# --------------------------------------------------------------------------- geometry


def _parents(child: gpd.GeoDataFrame, parent: gpd.GeoDataFrame) -> np.ndarray:
    lookup = dict(zip(parent["code"], parent.geometry.values, strict=True))
    return np.array([lookup[code] for code in child["parent_code"]], dtype=object)


@pytest.mark.parametrize(("child", "parent"), [("grid", "community"), ("community", "street")])
def test_children_lie_within_their_parent(any_district: Layers, child: str, parent: str) -> None:
    kids = any_district[child]
    inner = shapely.buffer(kids.geometry.values, -1e-7)
    assert shapely.within(inner, _parents(kids, any_district[parent])).all()


@pytest.mark.parametrize(("child", "parent"), [("grid", "community"), ("community", "street")])
def test_children_tile_their_parent(any_district: Layers, child: str, parent: str) -> None:
    kids = any_district[child].to_crs(METRIC)
    parents = any_district[parent].to_crs(METRIC).set_index("code")
    summed = kids.area.groupby(kids["parent_code"]).sum()
    np.testing.assert_allclose(summed.loc[parents.index], parents.area, rtol=1e-6)


def test_grids_do_not_overlap(any_district: Layers) -> None:
    grids = any_district["grid"].to_crs(METRIC)
    union = shapely.union_all(grids.geometry.values)
    assert abs(grids.area.sum() - union.area) <= 1e-4 * union.area
    assert shapely.coverage_is_valid(any_district["grid"].geometry.values)
    assert shapely.coverage_is_valid(any_district["community"].geometry.values)
    assert shapely.coverage_is_valid(any_district["street"].geometry.values)


@pytest.mark.parametrize("level", ["street", "community"])
def test_communities_and_streets_are_single_polygons_without_holes(
    any_district: Layers, level: str
) -> None:
    geoms = any_district[level].geometry.values
    assert (shapely.get_type_id(geoms) == 3).all()
    assert (shapely.get_num_interior_rings(geoms) == 0).all()


def test_district_is_one_polygon_without_holes(district: Layers) -> None:
    whole = shapely.union_all(district["grid"].geometry.values)
    assert whole.geom_type == "Polygon" and len(whole.interiors) == 0


# --------------------------------------------------------------------------- figures, codes


@pytest.mark.parametrize(("child", "parent"), [("grid", "community"), ("community", "street")])
def test_population_and_households_are_exact_sums(
    any_district: Layers, child: str, parent: str
) -> None:
    kids = any_district[child]
    parents = any_district[parent].set_index("code")
    for column in ("population", "households"):
        summed = kids.groupby("parent_code")[column].sum()
        assert (summed.loc[parents.index] == parents[column]).all(), column
        assert set(summed.index) == set(parents.index)


def test_codes_follow_the_statistical_format(any_district: Layers) -> None:
    streets, communities, grids = (any_district[level] for level in LEVELS)
    for frame, digits in ((streets, 12), (communities, 12), (grids, 14)):
        assert frame["code"].is_unique
        assert frame["code"].str.fullmatch(rf"\d{{{digits}}}").all()
        assert frame["code"].str.startswith("370299").all()
    assert streets["code"].str.endswith("000").all()
    assert (communities["code"].str[:9] == communities["parent_code"].str[:9]).all()
    assert communities["parent_code"].isin(streets["code"]).all()
    assert (communities["code"].str[9:] != "000").all()
    assert (grids["code"].str[:12] == grids["parent_code"]).all()
    assert grids["parent_code"].isin(communities["code"]).all()
    assert grids["code"].str[12:].astype(int).between(1, 99).all()


def test_names_are_unique_and_well_formed(any_district: Layers) -> None:
    streets, communities, grids = (any_district[level] for level in LEVELS)
    for frame in (streets, communities, grids):
        assert frame["name"].is_unique
    assert streets["name"].str.contains(r"(?:街道|镇)$").all()
    assert communities["name"].str.contains(r"(?:社区|村)$").all()
    community_name = dict(zip(communities["code"], communities["name"], strict=True))
    expected = [
        f"{community_name[parent]}第{code[12:]}网格"
        for code, parent in zip(grids["code"], grids["parent_code"], strict=True)
    ]
    assert grids["name"].tolist() == expected


def test_exactly_one_town_with_villages_and_neighbourhood_committees(any_district: Layers) -> None:
    streets, communities = any_district["street"], any_district["community"]
    township = streets["code"].str[6:9].astype(int)
    is_town = township.between(100, 199)
    assert is_town.sum() == 1
    assert streets.loc[is_town, "name"].str.endswith("镇").all()
    assert streets.loc[~is_town, "name"].str.endswith("街道").all()
    assert township[~is_town].between(1, 99).all()

    village_no = communities["code"].str[9:].astype(int)
    is_village = village_no.between(200, 399)
    assert (communities.loc[is_village, "name"].str.endswith("村")).all()
    assert (communities.loc[~is_village, "name"].str.endswith("社区")).all()
    assert village_no[~is_village].between(1, 199).all()
    town_code = streets.loc[is_town, "code"].iloc[0]
    in_town = communities["parent_code"] == town_code
    assert (is_village & in_town).sum() >= 5
    assert (~is_village & in_town).sum() >= 2
    assert not (is_village & ~in_town).any()


def test_street_sizes_cover_the_guideline_bands(any_district: Layers) -> None:
    streets = _street_table(any_district)
    area_ok = streets["km2"].between(6, 8)
    pop_ok = streets["population"].between(80_000, 120_000)
    assert (area_ok & pop_ok).sum() >= 3
    assert (streets["km2"] > 8).any()
    assert (streets["km2"] < 6).any()
    assert (streets["population"] > 120_000).any()
    assert (streets["population"] < 80_000).any()
    assert 65 <= streets["km2"].sum() <= 80


@hsettings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_seed_gives_a_consistent_district(seed: int) -> None:
    layers = sample_district(seed=seed)
    streets = _street_table(layers)
    assert 9 <= len(streets) and 100 <= len(layers["community"]) <= 140
    assert 1000 <= len(layers["grid"]) <= 1400
    for level in ("street", "community"):
        geoms = layers[level].geometry.values
        assert (shapely.get_type_id(geoms) == 3).all()
        assert (shapely.get_num_interior_rings(geoms) == 0).all()
    assert shapely.coverage_is_valid(layers["grid"].geometry.values)
    assert (streets["km2"].between(6, 8) & streets["population"].between(80_000, 120_000)).any()
    assert layers["grid"]["population"].sum() == streets["population"].sum()
    assert _urban_grid_share_in_band(layers)[1] >= 0.90


# --------------------------------------------------------------------------- files


def test_write_sample_files(tmp_path: Path, district: Layers, services: Services) -> None:
    out = tmp_path / "nested" / "sample"
    stale = out / "streets.geojson"
    out.mkdir(parents=True)
    stale.write_text("stale")

    paths = write_sample(out)

    names = ["sample_district.gpkg", "streets.geojson", "communities.geojson", "grids.geojson"]
    service_names = ["facilities.geojson", "buildings.geojson", "network.npz"]
    assert list(SERVICE_FILES.values()) == service_names
    assert [p.name for p in paths] == [*names, *service_names, "README.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    assert sum(sizes.values()) <= 3 * 1024 * 1024
    assert sizes["network.npz"] <= 1024 * 1024

    layers = [str(name) for name in pyogrio.list_layers(out / "sample_district.gpkg")[:, 0]]
    assert sorted(layers) == ["communities", "grids", "streets"]
    for level, layer in (("street", "streets"), ("community", "communities"), ("grid", "grids")):
        back = gpd.read_file(out / "sample_district.gpkg", layer=layer, engine="pyogrio")
        assert tuple(back.columns) == COLUMNS
        assert back["code"].tolist() == district[level]["code"].tolist()
        assert back["population"].tolist() == district[level]["population"].tolist()
        assert back.crs is not None and back.crs.to_epsg() == 4326

        doc = json.loads((out / f"{layer}.geojson").read_text(encoding="utf-8"))
        assert "crs" not in doc  # RFC 7946
        assert len(doc["features"]) == len(district[level])
        ring = doc["features"][0]["geometry"]["coordinates"][0]
        assert all(len(repr(v).split(".")[1]) <= 7 for point in ring for v in point)
        assert doc["features"][0]["properties"]["code"] == district[level]["code"].iloc[0]

    readme = (out / "README.txt").read_text(encoding="utf-8")
    assert "FICTIONAL" in readme and str(settings.sample_seed) in readme
    assert all(name in readme for name in service_names)

    facilities = gpd.read_file(out / "facilities.geojson", engine="pyogrio")
    assert facilities["type"].tolist() == services["facilities"]["type"].tolist()
    assert facilities["name"].tolist() == services["facilities"]["name"].tolist()
    np.testing.assert_array_equal(
        facilities["floor_area_m2"].to_numpy(float), services["facilities"]["floor_area_m2"]
    )
    doc = json.loads((out / "buildings.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert [f["properties"]["floors"] for f in doc["features"]] == services["buildings"][
        "floors"
    ].tolist()
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert all(len(repr(v).split(".")[1]) <= 6 for point in ring for v in point)
    assert shapely.Polygon(ring).exterior.is_ccw  # RFC 7946 winding
    buildings = gpd.read_file(out / "buildings.geojson", engine="pyogrio")
    assert len(buildings) == len(services["buildings"]) and buildings.crs.to_epsg() == 4326
    network = load_network(out / "network.npz")
    assert network.n_nodes == len(services["network_nodes"])
    assert network.node_ids.tolist() == services["network_nodes"]["id"].tolist()


def test_write_sample_is_reproducible(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a", seed=OTHER_SEED)
    second = write_sample(tmp_path / "b", seed=OTHER_SEED)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert f"seed {OTHER_SEED}" in (tmp_path / "a" / "README.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- services


@pytest.fixture(scope="module")
def services() -> Services:
    return sample_services()


def _services_fingerprint(services: Services) -> list[object]:
    parts: list[object] = [services["network_nodes"].to_csv(), services["network_edges"].to_csv()]
    for key in ("buildings", "facilities"):
        frame = services[key]
        parts.append(frame.drop(columns="geometry").to_csv())
        parts.append([bytes(b) for b in shapely.to_wkb(frame.geometry.values)])
    return parts


def _metric(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.to_crs(METRIC).geometry.values, dtype=object)


def test_services_are_deterministic(services: Services) -> None:
    again = sample_services(seed=settings.sample_seed)
    assert _services_fingerprint(again) == _services_fingerprint(services)


def test_services_tables_and_network(services: Services) -> None:
    nodes, edges = services["network_nodes"], services["network_edges"]
    assert list(nodes.columns) == ["id", "lon", "lat"] and nodes["id"].dtype == np.int64
    assert list(edges.columns) == ["u", "v", "length"]
    ids = np.sort(nodes["id"].to_numpy())
    assert nodes["id"].is_unique and ids[0] > 1_000_000_000 and (np.diff(ids) > 1).mean() > 0.9
    assert edges["u"].isin(nodes["id"]).all() and edges["v"].isin(nodes["id"]).all()
    assert 3_000 <= len(nodes) <= 15_000

    net = network_from_tables(nodes, edges)
    assert net.n_nodes == len(nodes) and net.n_edges == len(edges)
    position = {node: k for k, node in enumerate(net.node_ids.tolist())}
    u = np.array([position[x] for x in edges["u"].tolist()])
    v = np.array([position[x] for x in edges["v"].tolist()])
    ratio = edges["length"].to_numpy() / np.hypot(net.x[u] - net.x[v], net.y[u] - net.y[v])
    assert ratio.min() >= 0.99 and ratio.max() <= 1.11
    spacing = np.median(np.hypot(net.x[u] - net.x[v], net.y[u] - net.y[v]))
    assert 90.0 <= spacing <= 150.0

    sizes = np.bincount(net.component_labels())
    assert len(sizes) > 1  # the island
    assert sizes.max() > 0.95 * net.n_nodes
    assert np.sort(sizes)[-2] >= 10


def test_every_facility_type_is_present(district: Layers, services: Services) -> None:
    facilities = services["facilities"]
    rulebook = load_rulebook()
    assert list(facilities.columns) == ["type", "name", "floor_area_m2", "geometry"]
    assert facilities.crs is not None and facilities.crs.to_epsg() == 4326
    assert (facilities.geom_type == "Point").all()
    assert set(facilities["type"]) == set(FACILITY_TYPES)
    assert set(FACILITY_TYPES) <= set(rulebook.facilities)
    assert facilities["name"].is_unique
    assert facilities["floor_area_m2"].dtype == np.float64
    assert 1 <= facilities["floor_area_m2"].isna().sum() <= 5
    counts = facilities["type"].value_counts()
    assert counts["health_centre"] == counts["police_post"] == len(district["street"])


def test_some_communities_have_no_service_centre_within_500_m(
    district: Layers, services: Services
) -> None:
    facilities = services["facilities"]
    centres = _metric(facilities[facilities["type"] == "community_service_centre"])
    communities = district["community"].to_crs(METRIC)
    rep = np.asarray(communities.representative_point().values, dtype=object)
    nearest = np.array([shapely.distance(centres, point).min() for point in rep])
    far = nearest > 500.0  # a straight line; walking is never shorter
    assert far.sum() >= 3
    assert far.mean() < 0.1  # most communities have one
    unserved = np.asarray(communities.geometry.values, dtype=object)[far]
    assert not shapely.intersects(shapely.union_all(unserved), shapely.union_all(centres))


def test_some_floor_areas_are_below_the_rulebook_minimum(services: Services) -> None:
    facilities = services["facilities"]
    rulebook = load_rulebook()
    below = {}
    for kind in FACILITY_TYPES:
        minimum = rulebook.facility(kind).min_floor_area_m2
        if minimum is not None:
            area = facilities.loc[facilities["type"] == kind, "floor_area_m2"]
            below[kind] = int((area < minimum).sum())
    assert sum(below.values()) >= 10
    for kind in ("community_service_centre", "health_station", "elderly_day_care"):
        assert below[kind] >= 2, kind
    assert below["health_centre"] == 1


def test_facilities_sit_on_the_network_but_one(services: Services) -> None:
    net = network_from_tables(services["network_nodes"], services["network_edges"])
    facilities = services["facilities"]
    node, distance = net.snap_lonlat(facilities.geometry.x, facilities.geometry.y)
    assert (distance > 30.0).sum() == 1 and distance.max() > 500.0  # one outside the network
    labels = net.component_labels()
    mainland = np.argmax(np.bincount(labels))
    assert (labels[node] == mainland).all()  # the island has no facility


def test_buildings_lie_inside_the_district(district: Layers, services: Services) -> None:
    buildings = services["buildings"]
    assert list(buildings.columns) == ["floors", "geometry"]
    assert buildings.crs is not None and buildings.crs.to_epsg() == 4326
    assert buildings["floors"].dtype == np.int64
    assert 5_000 <= len(buildings) <= 12_000
    assert (buildings.geom_type == "Polygon").all() and buildings.is_valid.all()
    footprints = _metric(buildings)
    grids = _metric(district["grid"])
    whole = shapely.coverage_union_all(grids)
    assert shapely.within(footprints, whole).all()
    left, right = shapely.STRtree(footprints).query(footprints, predicate="intersects")
    assert (left == right).all()  # none overlaps another
    assert 50.0 <= np.median(shapely.area(footprints)) <= 1_000.0
    floors = buildings["floors"]
    assert floors.min() == 1 and floors.max() >= 25
    # Every urban grid has buildings; some rural grids have none.
    owner = shapely.STRtree(grids).query(shapely.centroid(footprints), predicate="within")[1]
    has = np.zeros(len(grids), dtype=bool)
    has[owner] = True
    codes = district["grid"]["code"]
    urban = codes.str[6:9].astype(int).between(1, 99).to_numpy()
    dense = (district["grid"]["population"] / (shapely.area(grids) / 1e6) > 5_000).to_numpy()
    assert has[urban & dense].mean() > 0.99
    assert (~has[~urban]).sum() >= 3


def test_the_kept_sample_is_the_built_one(tmp_path, monkeypatch) -> None:
    """The sample kept in the user cache between processes equals a fresh build, and a
    damaged cache file is built anew rather than trusted."""
    import geo.sample.build as build

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    seed = settings.sample_seed  # only the default seed is kept
    fresh = build._build_district(seed)
    first = build._kept("district", seed, lambda: build._build_district(seed))
    folder = tmp_path / "wangge" / "sample"
    (folder / "sample-district-0-older.pickle").write_bytes(b"left by an older version")
    kept = list(folder.glob(f"sample-district-{seed}-*.pickle"))
    assert len(kept) == 1
    again = build._kept("district", seed, lambda: pytest.fail("built again"))
    assert _fingerprint(first) == _fingerprint(fresh) == _fingerprint(again)
    kept[0].write_bytes(b"not a pickle")
    rebuilt = build._kept("district", seed, lambda: build._build_district(seed))
    assert _fingerprint(rebuilt) == _fingerprint(fresh)
    assert [p.name for p in folder.iterdir()] == [kept[0].name]  # the older file removed
    calls = []
    build._kept("district", OTHER_SEED, lambda: calls.append(1) or fresh)  # other seeds: built
    monkeypatch.setenv("WANGGE_SAMPLE_CACHE", "0")
    build._kept("district", seed, lambda: calls.append(2) or fresh)
    assert calls == [1, 2]
