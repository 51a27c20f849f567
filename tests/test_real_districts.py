"""A planner's own data, shaped like the real thing: names and no codes, one level only,
mixed OpenStreetMap admin levels, GBK files, missing values, 9-digit codes, spreadsheets.

The files are made from the built-in sample district the way real files come: codes
dropped, columns renamed to what a city's GIS department writes (街道名称, 社区名称,
常住人口), attributes in GBK without a .cpg, rows shuffled.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from geo.cli import app
from geo.district.edit import renumber_units
from geo.district.hierarchy import build_district, read_district
from geo.errors import ColumnError, InputError
from geo.io import write_units
from geo.plan.model import Plan
from geo.propose.search import propose_plan
from geo.rules.bands import Band
from geo.rules.rulebook import evaluate_rules, load_rulebook, status_table
from geo.sample.build import sample_district
from geo.sample.write import write_sample

runner = CliRunner()
RULES = load_rulebook()


@pytest.fixture(scope="module")
def sample_frames() -> dict[str, gpd.GeoDataFrame]:
    return sample_district()


def _uncoded(frames, *, population: bool = True, seed: int = 0):
    """Streets and communities with names only (no codes, no parent column), rows shuffled."""
    st = frames["street"][["name", "geometry"]].rename(columns={"name": "街道名称"})
    cols = ["name", "population", "geometry"] if population else ["name", "geometry"]
    cm = frames["community"][cols].rename(columns={"name": "社区名称", "population": "常住人口"})
    rng = np.random.default_rng(seed)
    return (
        st.iloc[rng.permutation(len(st))].reset_index(drop=True),
        cm.iloc[rng.permutation(len(cm))].reset_index(drop=True),
    )


@pytest.fixture(scope="module")
def uncoded_dir(sample_frames, tmp_path_factory) -> Path:
    """GBK Shapefiles without .cpg, names only — what a city's GIS export looks like."""
    d = tmp_path_factory.mktemp("uncoded")
    st, cm = _uncoded(sample_frames)
    st.to_file(d / "jiedao.shp", encoding="gbk")
    cm.to_file(d / "shequ.shp", encoding="gbk")
    for cpg in d.glob("*.cpg"):
        cpg.unlink()
    return d


@pytest.fixture(scope="module")
def uncoded(uncoded_dir):
    return read_district(uncoded_dir)


# ------------------------------------------------------------------ no codes, no links


def test_uncoded_names_get_stable_generated_codes_and_spatial_parents(uncoded, sample_frames):
    d = uncoded
    st, cm = d.units["street"], d.units["community"]
    assert st["code"].notna().all() and cm["code"].notna().all()
    assert (st["code_source"] == "generated").all() and (cm["code_source"] == "generated").all()
    assert st["code"].str.fullmatch(r"\d{12}").all() and cm["code"].str.fullmatch(r"\d{12}").all()
    assert st["code"].is_unique and cm["code"].is_unique
    # communities extend their street's code and sit in the street they overlap most
    assert (cm["code"].str[:9] == cm["parent_code"].str[:9]).all()
    truth = sample_frames["community"].set_index("name")["parent_code"]
    street_name = st.set_index("code")["name"]
    true_street = sample_frames["street"].set_index("code")["name"]
    for name, parent in zip(cm["name"], cm["parent_code"], strict=True):
        assert street_name[parent] == true_street[truth[name]]
    # the town's digits say town; streets say street
    kinds = dict(zip(st["name"], st["kind"], strict=True))
    assert kinds["怡海镇"] == "town" and int(st.set_index("name").loc["怡海镇", "code"][6:9]) >= 100
    assert any("overlaps most" in n for n in d.notes)
    rules = [f.rule for f in d.findings]
    # one finding per level for missing codes, none per unit; no childless streets
    assert rules.count("code.missing") == 2
    assert "hierarchy.childless" not in rules and "hierarchy.unlinked" not in rules
    assert not [f for f in d.findings if "None" in f.message]


def test_community_layer_naming_its_street_by_name(sample_frames, tmp_path):
    """社区名称 is the community's name, 街道名称 its street's: linked by name, not guessed."""
    st, cm = _uncoded(sample_frames)
    truth = sample_frames["community"].set_index("name")["parent_code"]
    street_names = sample_frames["street"].set_index("code")["name"]
    cm["街道名称"] = [street_names[truth[n]] for n in cm["社区名称"]]
    st.to_file(tmp_path / "a.geojson")
    cm.to_file(tmp_path / "b.geojson")
    d = read_district(tmp_path)
    assert d.levels == ["street", "community"]
    comm, streets = d.units["community"], d.units["street"].set_index("code")
    assert comm["name"].str.endswith(("社区", "村")).all()
    assert [streets.loc[p, "name"] for p in comm["parent_code"]] == list(cm["街道名称"])
    assert any("matched by name" in n for n in d.notes)


def test_generated_codes_do_not_depend_on_row_order(sample_frames):
    a = build_district(dict(zip(("street", "community"), _uncoded(sample_frames, seed=1),
                                strict=True)))
    b = build_district(dict(zip(("street", "community"), _uncoded(sample_frames, seed=2),
                                strict=True)))
    for lv in ("street", "community"):
        ca = dict(zip(a.units[lv]["name"], a.units[lv]["code"], strict=True))
        cb = dict(zip(b.units[lv]["name"], b.units[lv]["code"], strict=True))
        assert ca == cb


def test_status_agrees_with_findings_on_uncoded_units(uncoded):
    table = status_table(uncoded, RULES, "street")
    out = {f.name for f in evaluate_rules(uncoded, RULES) if f.level == "street" and
           f.rule in {r.id for r in RULES.rules}}
    assert out
    assert set(table.loc[table["status"] == "outside", "name"]) == out
    assert "unknown" not in set(table["status"])
    big = table.loc[table["area_km2"].idxmax()]
    assert big["status"] in ("outside", "no rule")


def test_check_propose_and_export_on_uncoded_gbk_files(uncoded_dir, tmp_path):
    r = runner.invoke(app, ["check", str(uncoded_dir), "--format", "json"])
    assert r.exit_code == 1, r.output
    report = json.loads(r.output)
    rules = [f["rule"] for f in report["findings"]]
    assert rules.count("code.missing") == 2
    r = runner.invoke(app, ["export", str(uncoded_dir), "--to", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    comm = gpd.read_file(tmp_path / "out" / "communities.geojson")
    assert comm["name"].str.endswith(("社区", "村")).all()


def test_propose_on_uncoded_data_with_and_without_residents(uncoded, sample_frames):
    plan = Plan.from_district(uncoded)
    proposal = propose_plan(plan, RULES, time_limit_s=5, seed=1)
    table = proposal.plan.street_table(RULES)
    assert table["population"].notna().all()
    assert proposal.summary["in_band_after"] >= proposal.summary["in_band_before"]
    st, cm = _uncoded(sample_frames, population=False)
    bare = build_district({"street": st, "community": cm})
    with pytest.raises(InputError, match=r"residents \(population\) of 115 communities"):
        propose_plan(Plan.from_district(bare), RULES, time_limit_s=5)


def test_cli_propose_without_residents_exits_2_naming_population(sample_frames, tmp_path):
    st, cm = _uncoded(sample_frames, population=False)
    st.to_file(tmp_path / "streets.geojson")
    cm.to_file(tmp_path / "communities.geojson")
    r = runner.invoke(app, ["propose", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert "population" in r.output and "not zero" in r.output


# ------------------------------------------------------------------------ missing is not 0


def test_missing_population_is_no_data_in_the_editor_not_zero(sample_frames):
    frames = {lv: f.copy() for lv, f in sample_frames.items() if lv != "grid"}
    frames["street"]["population"] = np.nan
    frames["street"]["households"] = np.nan
    victim = frames["community"].index[0]
    frames["community"].loc[victim, ["population", "households"]] = np.nan
    d = build_district(frames)
    street = d.units["community"].loc[victim, "parent_code"]
    # the street's population is not a partial sum of its communities
    assert math.isnan(d.units["street"].set_index("code").loc[street, "population"])
    plan = Plan.from_district(d)
    row = plan.street_table(RULES).set_index("code").loc[street]
    assert math.isnan(row["population"]) and row["population_status"] == "no data"
    assert row["status"] in ("no data", "outside")
    msgs = [f for f in plan.findings(RULES) if f.rule == "plan.missing_figures"]
    assert [f.code for f in msgs] == [street]
    assert d.units["community"].loc[victim, "name"] in msgs[0].message
    assert not [f for f in plan.findings(RULES) if f.code == street and
                f.rule == "street.population"]
    # the export carries the missing total as missing, not as the others' sum
    exported = plan.to_units()["street"].set_index("code")
    assert math.isnan(exported.loc[street, "population"])


# -------------------------------------------------------------------------- band edges


def test_band_edges_are_in_band_as_a_planner_reads_them():
    area = Band("area_km2", 6.0, 8.0)
    pop = Band("population", 80_000, 120_000)
    for v in (6.0, 8.0, 5.996, 8.004):
        assert area.state(v) == "ok", v
    assert area.state(5.994) == "below" and area.state(8.006) == "above"
    assert pop.state(80_000) == "ok" and pop.state(120_000) == "ok"
    assert pop.state(79_999.6) == "ok" and pop.state(79_999.4) == "below"
    assert area.state(None) == "no data" and area.state(float("nan")) == "no data"
    assert area.deviation(9.0) == (1.0, 12.5) and area.deviation(7.0) is None


def test_exact_band_edge_streets_agree_everywhere(tiny):
    """Two 4 km² streets of 80,000 residents under a 4–8 km² / 80,000 rulebook: in band."""
    from geo.propose.state import _bands, _violation
    from geo.rules.rulebook import rulebook_from_dict

    d = build_district(tiny)
    area = float(d.units["street"]["area_km2"].iloc[0])
    rb = rulebook_from_dict({"name": "edge", "rules": [
        {"id": "street.area_km2", "level": "street", "measure": "area_km2",
         "min": round(area, 2), "max": 8, "kinds": ["street"], "title": "area",
         "source": "test", "status": "confirmed"},
    ]})
    assert set(status_table(d, rb, "street")["status"]) == {"ok"}
    plan = Plan.from_district(d)
    assert set(plan.street_table(rb)["status"]) == {"ok"}
    bands = _bands(rb, "street")
    totals = plan.totals()
    for a_m2 in totals["area_m2"]:
        assert _violation(bands, a_m2 / 1e6, 0, 0)[1] == 0


# -------------------------------------------------------------- one level, mixed levels


def test_streets_only_checks_and_refuses_editing_plainly(sample_frames):
    d = build_district({"street": sample_frames["street"][["name", "geometry"]]})
    assert d.levels == ["street"]
    table = status_table(d, RULES, "street")
    assert set(table["status"]) <= {"outside", "no data", "no rule"}
    with pytest.raises(InputError, match="only streets"):
        Plan.from_district(d)


def test_osm_file_with_city_districts_streets_and_a_reserve(sample_frames, tmp_path):
    streets = sample_frames["street"]
    city = shapely.union_all(streets.geometry.values)
    half = shapely.box(*city.bounds[:2], (city.bounds[0] + city.bounds[2]) / 2, city.bounds[3])
    rows = [
        {"name": "示例市", "admin_level": "6", "boundary": "administrative", "geometry": city},
        {"name": "东区", "admin_level": "7", "boundary": "administrative",
         "geometry": city.intersection(half)},
        {"name": "湿地保护区", "admin_level": None, "boundary": "protected_area",
         "geometry": city.centroid.buffer(0.005)},
    ] + [
        {"name": n, "admin_level": "8", "boundary": "administrative", "geometry": g}
        for n, g in zip(streets["name"], streets.geometry, strict=True)
    ]
    path = tmp_path / "osm_boundaries.geojson"
    gpd.GeoDataFrame(rows, crs=4326).to_file(path)
    d = read_district(path)
    assert d.levels == ["street"] and len(d.units["street"]) == len(streets)
    notes = " ".join(d.notes)
    assert "示例市" in notes and "admin_level 6" in notes and "湿地保护区" in notes
    assert not [f for f in d.findings if f.rule == "hierarchy.overlap"]


# ----------------------------------------------------------------------------- codes


def test_nine_digit_township_codes_are_street_codes(tiny):
    st = tiny["street"].assign(code=["370299001", "370299002"])
    cm = tiny["community"].drop(columns="parent_code")
    d = build_district({"street": st, "community": cm})
    assert list(d.units["street"]["kind"]) == ["street", "street"]
    assert d.units["community"]["parent_code"].str.len().eq(9).all()
    assert "code.parent_mismatch" not in [f.rule for f in d.findings]


def test_codes_mangled_by_a_spreadsheet_are_refused(tiny, tmp_path):
    cm = tiny["community"].assign(code=["3.70299e+11"] * 4)
    with pytest.raises(ColumnError, match="scientific notation"):
        build_district({"street": tiny["street"], "community": cm})
    cm.to_file(tmp_path / "communities.geojson")
    tiny["street"].to_file(tmp_path / "streets.geojson")
    r = runner.invoke(app, ["check", str(tmp_path)])
    assert r.exit_code == 2 and "as text" in r.output
    # whole codes stored as numbers (a column with gaps becomes float) are fine
    ok = tiny["community"].assign(code=[float(c) for c in tiny["community"]["code"]])
    d = build_district({"street": tiny["street"], "community": ok})
    assert list(d.units["community"]["code"]) == list(tiny["community"]["code"])


# -------------------------------------------------------------------- assignment tables


def test_gbk_assignment_table_and_unknown_codes(tiny, tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    for lv, name in (("street", "streets"), ("community", "communities"), ("grid", "grids")):
        tiny[lv].to_file(src / f"{name}.geojson")
    table = pd.DataFrame({
        "level": ["community", "community", "community"],
        "code": ["370299001001", "999999999999", "370299001002"],
        "parent_code": ["370299002000", "370299001000", "370299009000"],
        "name": ["一社区", "无此社区", "二社区"],
    })
    path = tmp_path / "plan.csv"
    table.to_csv(path, index=False, encoding="gbk")
    r = runner.invoke(app, ["check", str(src), "--assign", str(path), "--format", "json"])
    assert r.exit_code == 1, r.output
    rules = {f["rule"]: f for f in json.loads(r.output)["findings"]}
    assert "999999999999" in rules["assign.unknown_code"]["message"]
    assert "370299009000" in rules["assign.unknown_parent"]["message"]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    r = runner.invoke(app, ["check", str(src), "--assign", str(empty)])
    assert r.exit_code == 2 and "empty" in r.output
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02PK")
    r = runner.invoke(app, ["check", str(src), "--assign", str(binary)])
    assert r.exit_code == 2 and "binary" in r.output


# ------------------------------------------------------------------ what it writes, it reads


def test_the_sample_folder_reads_back(tmp_path):
    write_sample(tmp_path)
    d = read_district(tmp_path)
    assert d.levels == ["street", "community", "grid"]
    notes = " ".join(d.notes)
    assert "read once" in notes and "facilities.geojson: left out" in notes
    r = runner.invoke(app, ["check", str(tmp_path), "--show", "street"])
    assert r.exit_code in (0, 1), r.output


def test_geojson_round_trip_gives_the_same_findings(sample_frames, tmp_path):
    d = build_district(sample_frames)
    write_units(d.units, tmp_path / "out", fmt="geojson")
    again = read_district(tmp_path / "out")

    def key(findings):
        return sorted((f.rule, f.level, f.code or "") for f in findings)

    assert key(again.findings) == key(d.findings)


# ----------------------------------------------------------------- findings to act on


def test_gap_names_the_units_around_it_and_straddles_list_real_shares(tiny):
    grid = tiny["grid"]
    d = build_district({**tiny, "grid": grid.drop(index=grid.index[0])})
    gaps = [f for f in d.findings if f.rule == "hierarchy.gap"]
    assert gaps and "bordered by" in gaps[0].message
    assert gaps[0].related
    d = build_district(tiny)
    for f in d.findings:
        if f.rule == "hierarchy.straddle":
            assert " 0.0%" not in f.message


def test_moved_communities_give_one_finding_each_and_renumber(sample_frames):
    frames = {lv: f.copy() for lv, f in sample_frames.items()}
    comm = frames["community"]
    streets = sorted(comm["parent_code"].unique())
    moved = comm.index[comm["parent_code"] == streets[0]][:3]
    comm.loc[moved, "parent_code"] = streets[1]
    frames["street"] = frames["street"].drop(columns=["population", "households"])
    d = build_district({"community": comm, "grid": frames["grid"]})
    d = build_district({"street": _streets_from(comm), "community": comm, "grid": frames["grid"]})
    found = [f for f in d.findings if f.rule == "code.parent_mismatch"]
    assert sorted(f.code for f in found) == sorted(comm.loc[moved, "code"])
    assert all(f.value and f.value > 0 for f in found)  # grids counted in the one finding
    units, table = renumber_units(d.units)
    assert set(table.loc[table["level"] == "community", "old_code"]) == set(comm.loc[moved, "code"])
    again = build_district(units)
    assert "code.parent_mismatch" not in [f.rule for f in again.findings]
    new = units["community"].set_index("name").loc[comm.loc[moved, "name"], "code"]
    assert (new.str[:9] == streets[1][:9]).all()
    g = units["grid"]
    assert all(c.startswith(p) for c, p in zip(g["code"], g["parent_code"], strict=True))


def _streets_from(comm: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    groups = comm.groupby("parent_code")
    return gpd.GeoDataFrame(
        {"code": list(groups.groups), "name": [f"街道{i}" for i in range(len(groups))]},
        geometry=[shapely.union_all(g.geometry.values) for _, g in groups],
        crs=4326,
    )


def test_messages_name_units_by_name(uncoded):
    for f in uncoded.findings:
        if f.name:
            assert f.name in f.message or f.rule.startswith(("code.", "population.")), f
        assert not re.search(r"\bNone\b", f.message), f.message


def test_areas_within_a_ten_thousandth_of_the_ellipsoid_across_a_province():
    """Street-sized squares spread over Shandong (115–122.7°E, 34.4–38.4°N): every area is
    within 0.01 % of pyproj.Geod's, wherever the unit lies (a UTM zone is off by up to
    0.1 % here)."""
    from geo.crs import geodesic_area_m2

    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(115.0, 122.7, 60), rng.uniform(34.4, 38.4, 60)
    boxes = [shapely.box(x, y, x + 0.03, y + 0.025) for x, y in zip(lons, lats, strict=True)]
    streets = gpd.GeoDataFrame(
        {"name": [f"第{i}街道" for i in range(len(boxes))]}, geometry=boxes, crs=4326
    )
    d = build_district({"street": streets})
    truth = geodesic_area_m2(d.units["street"]).to_numpy() / 1e6
    err = np.abs(d.units["street"]["area_km2"].to_numpy() / truth - 1)
    assert err.max() < 1e-4, err.max()


# ------------------------------------------------- from a fresh-eyes review of this code


def test_parent_names_with_office_suffixes_and_duplicates(sample_frames):
    st, cm = _uncoded(sample_frames)
    truth = sample_frames["community"].set_index("name")["parent_code"]
    street_names = sample_frames["street"].set_index("code")["name"]
    cm["街道名称"] = [street_names[truth[n]] + "办事处" for n in cm["社区名称"]]
    d = build_district({"street": st, "community": cm})
    comm, streets = d.units["community"], d.units["street"].set_index("code")
    assert [streets.loc[p, "name"] + "办事处" for p in comm["parent_code"]] == list(cm["街道名称"])
    assert "hierarchy.unknown_parent" not in [f.rule for f in d.findings]
    # two streets of one name: their communities fall back to the largest overlap
    st2 = st.copy()
    st2.loc[1, "街道名称"] = st2.loc[0, "街道名称"]
    d = build_district({"street": st2, "community": cm})
    rules = [f.rule for f in d.findings]
    assert "hierarchy.unknown_parent" not in rules and "code.malformed" not in rules
    assert d.units["community"]["code"].str.fullmatch(r"\d{12}").all()
    assert any("match no single street" in n for n in d.notes)


def test_a_community_layer_without_suffixes_is_told_by_its_columns(sample_frames, tmp_path):
    st, cm = _uncoded(sample_frames)
    truth = sample_frames["community"].set_index("name")["parent_code"]
    street_names = sample_frames["street"].set_index("code")["name"]
    cm["街道名称"] = [street_names[truth[n]] for n in cm["社区名称"]]
    cm["社区名称"] = cm["社区名称"].str.replace("社区", "", regex=False)
    st.to_file(tmp_path / "jd.geojson")
    cm.to_file(tmp_path / "sq.geojson")
    d = read_district(tmp_path)
    assert d.levels == ["street", "community"] and len(d.units["community"]) == len(cm)


def test_generated_street_codes_never_repeat_given_township_digits(tiny):
    st = tiny["street"].assign(code=["370299001", None])
    d = build_district({"street": st})
    codes = list(d.units["street"]["code"])
    assert codes[0] == "370299001" and codes[1][:9] != "370299001"


def test_moves_of_most_communities_are_still_renumbered(sample_frames):
    comm = sample_frames["community"].copy()
    streets = sorted(comm["parent_code"].unique())
    # every street office's communities go to the next one: ~110 of 127 moved
    urban = [s for s in streets if s[6:9] < "100"]
    nxt = dict(zip(urban, urban[1:] + urban[:1], strict=True))
    moved = comm["parent_code"].isin(urban)
    comm.loc[moved, "parent_code"] = comm.loc[moved, "parent_code"].map(nxt)
    d = build_district({"street": _streets_from(comm), "community": comm,
                        "grid": sample_frames["grid"]})
    found = [f for f in d.findings if f.rule == "code.parent_mismatch"]
    assert len(found) == int(moved.sum()) > 100
    units, table = renumber_units(d.units)
    assert "code.parent_mismatch" not in [f.rule for f in build_district(units).findings]


def test_mangled_codes_in_an_assignment_table_are_refused(tiny, tmp_path):
    src = tmp_path / "d"
    src.mkdir()
    tiny["street"].to_file(src / "streets.geojson")
    tiny["community"].to_file(src / "communities.geojson")
    path = tmp_path / "plan.csv"
    path.write_text("level,code,parent_code\ncommunity,3.70299E+11,370299001000\n")
    r = runner.invoke(app, ["check", str(src), "--assign", str(path)])
    assert r.exit_code == 2 and "scientific notation" in r.output


def test_an_admin_level_6_file_alone_is_named(tmp_path, tiny):
    city = tiny["street"].dissolve().assign(name="示例区", admin_level="6")
    path = tmp_path / "osm.geojson"
    city[["name", "admin_level", "geometry"]].to_file(path)
    with pytest.raises(Exception, match="admin_level 6"):
        read_district(path)
