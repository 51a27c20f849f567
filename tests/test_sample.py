"""Tests of the built-in fictional sample district (geo.sample)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from geo import settings
from geo.errors import InputError
from geo.sample import COLUMNS, sample_district, write_sample

LEVELS = ("street", "community", "grid")
METRIC = "EPSG:32651"
OTHER_SEED = 7

Layers = dict[str, gpd.GeoDataFrame]


@pytest.fixture(scope="module")
def district() -> Layers:
    return sample_district()


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
    started = time.perf_counter()
    again = sample_district(seed=settings.sample_seed)
    elapsed = time.perf_counter() - started
    assert _fingerprint(again) == _fingerprint(district)
    assert elapsed < 3.0, f"generation took {elapsed:.2f} s"


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


def test_write_sample_files(tmp_path: Path, district: Layers) -> None:
    out = tmp_path / "nested" / "sample"
    stale = out / "streets.geojson"
    out.mkdir(parents=True)
    stale.write_text("stale")

    paths = write_sample(out)

    names = ["sample_district.gpkg", "streets.geojson", "communities.geojson", "grids.geojson"]
    assert [p.name for p in paths] == [*names, "README.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    assert sum(p.stat().st_size for p in out.iterdir()) <= 2 * 1024 * 1024

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


def test_write_sample_is_reproducible(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a", seed=OTHER_SEED)
    second = write_sample(tmp_path / "b", seed=OTHER_SEED)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert f"seed {OTHER_SEED}" in (tmp_path / "a" / "README.txt").read_text(encoding="utf-8")
