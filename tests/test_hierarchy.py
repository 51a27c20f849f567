"""The model: levels, kinds, parent links, derived figures and nesting checks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import UTM, box, rules_of, tiny_frames

from geo.district.hierarchy import build_district
from geo.district.ingest import assign_levels, guess_columns
from geo.district.model import kind_from_code, kind_from_name
from geo.errors import ColumnError, GeometryTypeError, LevelError
from geo.io import Layer


def model_rules(district):
    return rules_of(
        [f for f in district.findings if f.rule.startswith(("hierarchy.", "code.", "geometry."))]
    )


def replace_geom(frame, code, geom_utm):
    out = frame.copy()
    idx = out.index[out["code"] == code][0]
    out.loc[idx, "geometry"] = gpd.GeoSeries([geom_utm], crs=UTM).to_crs(4326).iloc[0]
    return out


def test_clean_district_has_no_model_findings(tiny):
    d = build_district(tiny)
    assert model_rules(d) == []
    assert d.levels == ["street", "community", "grid"]
    assert d.building_block == "grid"
    # areas come from an equal-area projection fitted to the data (a UTM zone is off by
    # up to 0.08 % even at its central meridian)
    assert "Equal Area" in d.metric_crs.name
    # areas: 4 km² per street, 2 per community, 1 per grid
    np.testing.assert_allclose(d.units["street"]["area_km2"], 4.0, rtol=1e-3)
    np.testing.assert_allclose(d.units["grid"]["area_km2"], 1.0, rtol=1e-3)


def test_population_from_children_and_households_derived(tiny):
    d = build_district(tiny, household_size=2.5)
    streets = d.units["street"]
    assert list(streets["population"]) == [8000, 8000]
    assert set(streets["population_source"]) == {"children"}
    grids = d.units["grid"]
    assert list(grids["households"]) == [800] * 8
    assert set(grids["households_source"]) == {"derived"}
    assert set(grids["population_source"]) == {"given"}


def test_population_from_households_when_only_households(tiny):
    tiny["grid"] = tiny["grid"].drop(columns="population").assign(households=1000)
    d = build_district(tiny, household_size=2.62)
    assert list(d.units["grid"]["population"]) == [2620] * 8
    assert set(d.units["grid"]["population_source"]) == {"derived"}


def test_stated_population_disagreeing_with_children_is_reported(tiny):
    tiny["street"] = tiny["street"].assign(population=[8000, 9000])
    d = build_district(tiny)
    found = [f for f in d.findings if f.rule == "population.mismatch"]
    assert len(found) == 1 and found[0].code == "370299002000"
    assert found[0].deviation == pytest.approx(1000)


def test_gap_inside_parent_is_reported_with_area_and_place(tiny):
    tiny["grid"] = tiny["grid"][tiny["grid"]["code"] != "37029900100101"]
    d = build_district(tiny)
    gaps = [f for f in d.findings if f.rule == "hierarchy.gap" and f.level == "grid"]
    assert len(gaps) == 1
    assert gaps[0].code == "370299001001"  # the parent community
    assert gaps[0].area_m2 == pytest.approx(1e6, rel=1e-3)
    lon, lat = gaps[0].lon, gaps[0].lat
    pt = gpd.GeoSeries.from_xy([lon], [lat], crs=4326).to_crs(UTM).iloc[0]
    assert box(0, 1000, 1000, 2000).contains(pt)


def test_gap_between_top_level_units(tiny):
    # shrink street S2's community C3 and the street itself so a hole opens
    s = tiny["street"].copy()
    ring = box(0, 0, 4000, 2000).difference(box(1500, 500, 2500, 1500))
    left = ring.intersection(box(0, 0, 2000, 2000))
    right = ring.intersection(box(2000, 0, 4000, 2000))
    s = replace_geom(s, "370299001000", left)
    s = replace_geom(s, "370299002000", right)
    d = build_district({"street": s})
    gaps = [f for f in d.findings if f.rule == "hierarchy.gap"]
    assert len(gaps) == 1 and gaps[0].area_m2 == pytest.approx(1e6, rel=1e-3)


def test_overlap_is_reported(tiny):
    tiny["grid"] = replace_geom(tiny["grid"], "37029900100101", box(0, 1000, 1200, 2000))
    d = build_district(tiny)
    over = [f for f in d.findings if f.rule == "hierarchy.overlap"]
    assert len(over) == 1
    assert over[0].area_m2 == pytest.approx(200 * 1000, rel=1e-3)
    assert set((over[0].code, *over[0].related)) == {"37029900100101", "37029900100102"}


def test_straddling_community_reports_shares(tiny):
    # C3 reaches 500 m into street S1 (and overlaps C1, which the check also reports)
    tiny["community"] = replace_geom(tiny["community"], "370299002001", box(1500, 1000, 4000, 2000))
    d = build_district({k: tiny[k] for k in ("street", "community")})
    st = [f for f in d.findings if f.rule == "hierarchy.straddle"]
    assert len(st) == 1 and st[0].code == "370299002001"
    assert st[0].value == pytest.approx(0.2, abs=1e-3)
    assert "370299001000" in st[0].related
    assert "80.0%" in st[0].message and "20.0%" in st[0].message


def test_community_outside_every_street(tiny):
    extra = gpd.GeoDataFrame(
        [
            {
                "code": "370299002003",
                "name": "飞地社区",
                "parent_code": "370299002000",
                "geometry": box(10_000, 0, 11_000, 1000),
            }
        ],
        crs=UTM,
    ).to_crs(4326)
    import pandas as pd

    tiny["community"] = pd.concat([tiny["community"], extra], ignore_index=True)
    d = build_district({k: tiny[k] for k in ("street", "community")})
    out = [f for f in d.findings if f.rule == "hierarchy.outside"]
    assert [f.code for f in out] == ["370299002003"]
    assert "lies in no street" in out[0].message


def test_unknown_parent_and_unlinked(tiny):
    c = tiny["community"].copy()
    c.loc[0, "parent_code"] = "370299009000"
    c.loc[1, "parent_code"] = None
    c.loc[1, "code"] = "X1"  # no code prefix to fall back on
    d = build_district({"street": tiny["street"], "community": c})
    assert "hierarchy.unknown_parent" in model_rules(d)
    # no parent code and no code prefix: linked by largest overlap by default, said in a note
    assert "hierarchy.unlinked" not in rules_of(d.findings)
    comm = d.units["community"].set_index("code")
    assert comm.loc["X1", "parent_code"] == "370299001000"
    assert any("overlaps most" in n for n in d.notes)
    # with links from columns and codes only, it stays unlinked and is reported
    d = build_district({"street": tiny["street"], "community": c}, link="code")
    assert "hierarchy.unlinked" in rules_of(d.findings)


def test_parents_from_code_prefixes(tiny):
    d = build_district(
        {
            "street": tiny["street"],
            "community": tiny["community"].drop(columns="parent_code"),
            "grid": tiny["grid"].drop(columns="parent_code"),
        }
    )
    assert model_rules(d) == []
    assert d.units["grid"]["parent_code"].tolist() == [c[:12] for c in d.units["grid"]["code"]]
    assert any("code prefixes" in n for n in d.notes)


def test_spatial_link_on_request(tiny):
    c = tiny["community"].drop(columns="parent_code").assign(code=["A", "B", "C", "D"])
    d = build_district({"street": tiny["street"], "community": c}, link="spatial")
    assert d.units["community"]["parent_code"].tolist() == [
        "370299001000",
        "370299001000",
        "370299002000",
        "370299002000",
    ]


def test_parent_mismatch_is_reported(tiny):
    c = tiny["community"].copy()
    c.loc[0, "parent_code"] = "370299002000"
    d = build_district({"street": tiny["street"], "community": c})
    mm = [f for f in d.findings if f.rule == "hierarchy.parent_mismatch"]
    assert len(mm) == 1 and mm[0].code == "370299001001"
    assert "code.parent_mismatch" in model_rules(d)


def test_childless_parent(tiny):
    g = tiny["grid"][tiny["grid"]["parent_code"] != "370299002002"]
    d = build_district({"community": tiny["community"], "grid": g})
    assert "hierarchy.childless" in model_rules(d)


def test_duplicate_and_malformed_codes(tiny):
    c = tiny["community"].copy()
    c.loc[1, "code"] = c.loc[0, "code"]
    c.loc[2, "code"] = "37029900200"  # 11 digits
    d = build_district({"street": tiny["street"], "community": c})
    dup = [f for f in d.findings if f.rule == "code.duplicate"]
    assert len(dup) == 1 and dup[0].value == 2
    bad = [f for f in d.findings if f.rule == "code.malformed"]
    assert [f.code for f in bad] == ["37029900200"]
    assert "12 digits" in bad[0].message


def test_missing_code_is_reported(tiny):
    c = tiny["community"].copy()
    c.loc[3, "code"] = None
    d = build_district({"street": tiny["street"], "community": c})
    assert "code.missing" in model_rules(d)


def test_invalid_polygon_reported_and_repaired_only_on_request(tiny):
    bowtie = shapely.Polygon(
        [
            (X, Y)
            for X, Y in (
                (230_000, 4_001_000),
                (231_000, 4_002_000),
                (231_000, 4_001_000),
                (230_000, 4_002_000),
            )
        ]
    )
    g = replace_geom(tiny["grid"], "37029900100101", bowtie)
    d = build_district({"grid": g})
    inv = [f for f in d.findings if f.rule == "geometry.invalid"]
    assert len(inv) == 1 and "--repair" in inv[0].message and "Self-intersection" in inv[0].message
    assert not d.units["grid"].geometry.iloc[0].is_valid  # untouched
    fixed = build_district({"grid": g}, repair=True)
    assert "geometry.repaired" in rules_of(fixed.findings)
    assert fixed.units["grid"].geometry.is_valid.all()


def test_bad_population_values(tiny):
    g = tiny["grid"].copy().astype({"population": object})
    g.loc[0, "population"] = -5
    g.loc[1, "population"] = "many"
    g.loc[2, "population"] = None
    d = build_district({"grid": g})
    r = rules_of(d.findings)
    assert "population.negative" in r and "population.not_a_number" in r
    assert "population.missing" in r
    assert d.units["grid"]["population"].isna().sum() == 3


def test_points_where_polygons_expected(tiny):
    pts = tiny["grid"].copy()
    pts["geometry"] = pts.geometry.representative_point()
    with pytest.raises(GeometryTypeError, match="where polygons are expected"):
        build_district({"grid": pts})


def test_kinds_from_codes_and_names():
    assert kind_from_code("street", "370299001000") == "street"
    assert kind_from_code("street", "370299101000") == "town"
    assert kind_from_code("street", "370299201000") == "township"
    assert kind_from_code("community", "370299101001") == "community"
    assert kind_from_code("community", "370299101201") == "village"
    assert kind_from_code("street", "12345") is None
    assert kind_from_name("street", "银滩镇") == "town"
    assert kind_from_name("street", "大王乡") == "township"
    assert kind_from_name("community", "赵家村") == "village"
    assert kind_from_name("community", "书院社区") == "community"


def test_guess_columns_chinese_names():
    found = guess_columns(["编码", "名称", "常住人口", "户数", "geometry"])
    assert found == {"code": "编码", "name": "名称", "population": "常住人口", "households": "户数"}
    with pytest.raises(ColumnError, match="not in the layer"):
        guess_columns(["a"], overrides={"code": "b"})


def test_levels_guessed_from_codes_names_and_file_names(tiny):
    layers = [
        Layer("a.geojson", "a", tiny["street"]),
        Layer("b.geojson", "b", tiny["grid"]),
        Layer("c.geojson", "c", tiny["community"].drop(columns="code")),
    ]
    chosen, notes = assign_levels(layers)
    assert chosen["street"].name == "a" and chosen["grid"].name == "b"
    assert chosen["community"].name == "c"  # from the names ending in 社区
    anon = tiny["street"].drop(columns="name").assign(code=["1", "2"])
    chosen, _ = assign_levels([Layer("jiedao.shp", "jiedao", anon)])
    assert list(chosen) == ["street"]
    with pytest.raises(LevelError, match="--level"):
        assign_levels([Layer("x.shp", "x", anon)])
    with pytest.raises(LevelError, match="Both"):
        assign_levels([Layer("a", "a", tiny["grid"]), Layer("b", "b", tiny["grid"].iloc[:5])])
    # the same units twice (a GeoPackage beside GeoJSON copies) are read once
    chosen, notes = assign_levels([Layer("a", "a", tiny["grid"]), Layer("b", "b", tiny["grid"])])
    assert list(chosen) == ["grid"] and any("read once" in n for n in notes)


def test_missing_street_level_is_built_from_community_parent_codes(tiny):
    d = build_district({"community": tiny["community"].drop(columns="parent_code")})
    d2 = build_district({"community": tiny["community"], "grid": tiny["grid"]})
    assert "street" not in d.units
    assert list(d2.units["street"]["code"]) == ["370299001000", "370299002000"]
    np.testing.assert_allclose(d2.units["street"]["area_km2"], 4.0, rtol=1e-3)


def test_inputs_are_not_mutated(tiny):
    before = {k: v.copy() for k, v in tiny.items()}
    build_district(tiny)
    for k in tiny:
        assert tiny[k].equals(before[k])


def test_fixture_is_what_the_picture_says():
    f = tiny_frames()
    assert len(f["grid"]) == 8 and len(f["community"]) == 4 and len(f["street"]) == 2


def test_split_community_along_a_line_follows_grids_and_conserves_residents():
    from geo.district.edit import split_community
    from geo.sample.build import sample_district

    d = build_district(sample_district())
    comm = d.units["community"]
    row = comm.iloc[5]
    m = gpd.GeoSeries([row.geometry], crs=4326).to_crs(d.metric_crs).iloc[0]
    c = m.centroid
    minx, _, maxx, _ = m.bounds
    line = gpd.GeoSeries([shapely.LineString([(minx - 50, c.y), (maxx + 50, c.y)])],
                         crs=d.metric_crs).to_crs(4326).iloc[0]
    new, info = split_community(d, row["code"], line)
    assert info["method"] == "grids" and len(info["new"]) == 2
    nc = new.units["community"].set_index("code")
    assert row["code"] not in nc.index
    assert nc.loc[info["new"], "population"].sum() == pytest.approx(row["population"])
    assert all(len(code) == 12 and code[:9] == row["code"][:9] for code in info["new"])
    grids = new.units["grid"]
    assert set(grids.loc[grids["parent_code"].isin(info["new"]), "code"].str[:12]) == set(
        info["new"])
    assert model_rules(new) == []
    assert new.units["street"]["population"].sum() == d.units["street"]["population"].sum()


def test_split_needs_a_line_that_crosses(tiny):
    from geo.district.edit import split_community
    from geo.errors import InputError

    d = build_district({k: tiny[k] for k in ("street", "community")})
    inside = gpd.GeoSeries([shapely.LineString([(230_200, 4_001_200), (230_300, 4_001_300)])],
                           crs=UTM).to_crs(4326).iloc[0]
    with pytest.raises(InputError, match="does not cut"):
        split_community(d, "370299001001", inside)
    across = gpd.GeoSeries([shapely.LineString([(230_500, 4_000_900), (230_500, 4_002_100)])],
                           crs=UTM).to_crs(4326).iloc[0]
    new, info = split_community(d, "370299001001", across)
    assert info["method"] == "area (estimated)"
    assert sum(info["population"]) == pytest.approx(0.0)  # no figures given: nothing to share
    assert len(new.units["community"]) == 5


def test_each_level_can_name_its_own_columns(tiny):
    streets = tiny["street"].rename(columns={"code": "JDDM"})
    comms = tiny["community"].rename(columns={"code": "SQDM"})
    d = build_district({"street": streets, "community": comms},
                       level_columns={"street": {"code": "JDDM"}, "community": {"code": "SQDM"}})
    assert list(d.units["street"]["code"]) == ["370299001000", "370299002000"]
    assert model_rules(d) == []


def test_units_are_the_same_without_the_model_checks(sample_layers):
    """Export skips the model checks: the units it writes must not depend on them."""
    from geo.district.hierarchy import build_district

    messy = {lv: f.copy() for lv, f in sample_layers.items()}
    messy["community"].loc[::9, "geometry"] = messy["community"].geometry[::9].translate(0.001)
    checked = build_district(messy)
    quick = build_district(messy, checks=False)
    assert any(f.rule.startswith("hierarchy.") for f in checked.findings)
    assert not any(f.rule.startswith("hierarchy.") for f in quick.findings)
    for lv in checked.units:
        assert checked.units[lv].equals(quick.units[lv]), lv


def test_streets_and_grids_without_communities(tiny):
    """A city with street offices and grids but no community layer: grids are the blocks.

    The grids' parent codes name streets; no community level is made up from them, and
    their codes are checked against their street's nine digits.
    """
    from geo.district.edit import renumber_units
    from geo.plan.model import Plan

    grids = tiny["grid"].copy()
    grids["parent_code"] = grids["code"].str[:9] + "000"
    d = build_district({"street": tiny["street"], "grid": grids})
    assert d.levels == ["street", "grid"]
    assert model_rules(d) == []
    plan = Plan.from_district(d)
    assert plan.base.level == "grid" and plan.base.n_blocks == 8

    # one grid taken over by the other street still carries its old street's digits
    moved = grids["code"].iloc[0]
    grids.loc[grids.index[0], "parent_code"] = "370299002000"
    d2 = build_district({"street": tiny["street"], "grid": grids})
    found = [f for f in d2.findings if f.rule == "code.parent_mismatch"]
    assert len(found) == 1 and found[0].related == (moved,)
    assert "street" in found[0].message and "370299002" in found[0].message
    _, table = renumber_units(d2.units)
    new = table.loc[table["old_code"] == moved, "new_code"].iloc[0]
    assert new.startswith("370299002") and len(new) == 14
