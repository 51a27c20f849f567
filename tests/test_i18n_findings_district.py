"""The district model's findings read in Chinese: messy districts, every rule, no English left.

Districts shaped like real data gone wrong (gaps, overlaps, straddles, unknown
and missing parents, moved communities, bad and missing codes, broken figures,
broken shapes, a stale assignment table) are built from the tiny district of
``conftest``; each finding the nesting checks, the reader and the parent links
write is shown through :func:`ui.finding_message` in Chinese. It must differ
from the English, hold no English word, and still name its units.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely
from conftest import UTM, box, chinese_problems, in_chinese, tiny_frames, untranslated

from geo.district.checks import _gap_finding
from geo.district.hierarchy import build_district
from geo.findings import Finding

S1, S2 = "370299001000", "370299002000"
C1, C2, C3, C4 = "370299001001", "370299001002", "370299002001", "370299002002"

RULES = {
    # geo/district/checks.py
    "code.missing", "code.duplicate", "code.malformed", "code.parent_mismatch",
    "hierarchy.overlap", "hierarchy.gap", "hierarchy.outside", "hierarchy.straddle",
    "hierarchy.parent_mismatch", "hierarchy.childless",
    # geo/district/ingest.py
    "population.not_a_number", "population.negative", "households.not_a_number",
    "households.negative", "geometry.invalid", "geometry.repaired", "geometry.empty",
    "population.mismatch", "households.mismatch", "population.missing",
    # geo/district/links.py
    "hierarchy.unknown_parent", "hierarchy.unlinked", "assign.unknown_parent",
    "assign.unknown_code",
}
"""Every rule the three modules write."""


def _geom(geom_utm: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom_utm], crs=UTM).to_crs(4326).iloc[0]


def _replace(frame: gpd.GeoDataFrame, code: str, geom_utm: shapely.Geometry) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.loc[out.index[out["code"] == code][0], "geometry"] = _geom(geom_utm)
    return out


def _extra(rows: list[dict], like: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    more = gpd.GeoDataFrame(rows, crs=UTM).to_crs(4326)
    return pd.concat([like, more], ignore_index=True)


def _bowtie() -> shapely.Polygon:
    return shapely.Polygon([(230_000, 4_001_000), (231_000, 4_002_000),
                            (231_000, 4_001_000), (230_000, 4_002_000)])


def messy_findings() -> list[tuple[str, Finding]]:
    """Findings of messy districts, each with the name of its district (the scenario)."""
    out: list[tuple[str, Finding]] = []

    def add(name: str, layers: dict, **kwargs) -> None:
        out.extend((name, f) for f in build_district(layers, **kwargs).findings)

    t = tiny_frames()
    # a grid missing: a gap inside its community, bordered by the grid beside it
    add("grid gap", {**t, "grid": t["grid"][t["grid"]["code"] != C1 + "01"]})
    # a hole between the streets
    ring = box(0, 0, 4000, 2000).difference(box(1500, 500, 2500, 1500))
    s = _replace(t["street"], S1, ring.intersection(box(0, 0, 2000, 2000)))
    s = _replace(s, S2, ring.intersection(box(2000, 0, 4000, 2000)))
    add("street gap", {"street": s})
    # two grids overlapping
    add("overlap", {**t, "grid": _replace(t["grid"], C1 + "01", box(0, 1000, 1200, 2000))})
    # a community reaching into the next street, one reaching out of the district
    add("straddle", {"street": t["street"],
                     "community": _replace(t["community"], C3, box(1500, 1000, 4000, 2000))})
    add("straddle outside", {"street": t["street"],
                             "community": _replace(t["community"], C4, box(2000, 0, 4600, 1000))})
    # a community far from every street
    enclave = _extra([{"code": "370299002003", "name": "飞地社区", "parent_code": S2,
                       "geometry": box(10_000, 0, 11_000, 1000)}], t["community"])
    add("outside", {"street": t["street"], "community": enclave})
    # a parent code that is no street; a community with neither parent code nor usable code
    c = t["community"].copy()
    c.loc[0, "parent_code"] = "370299009000"
    c.loc[1, "parent_code"] = None
    c.loc[1, "code"] = "X1"
    add("unknown parent", {"street": t["street"], "community": c}, link="column")
    # eight grids without parents or codes that nest
    g = t["grid"].drop(columns="parent_code").assign(code=[f"G{k}" for k in range(1, 9)])
    add("unlinked many", {"community": t["community"], "grid": g}, link="code")
    # a community moved to the other street, with its grids, and without
    c = t["community"].copy()
    c.loc[0, "parent_code"] = S2
    add("moved with grids", {**t, "community": c})
    add("moved", {"street": t["street"], "community": c})
    # grids whose codes do not extend their community's, four of them under 一社区
    g = t["grid"][t["grid"]["parent_code"] != C1]
    four = [{"code": f"3702990090010{k}", "name": f"一社区第{k}格", "parent_code": C1,
             "population": 1000, "geometry": box(500 * (k - 1), 1000, 500 * k, 2000)}
            for k in range(1, 5)]
    add("grid codes", {**t, "grid": _extra(four, g)})
    # grids under streets, numbered under another street
    g = t["grid"].copy()
    g["parent_code"] = g["parent_code"].str[:9] + "000"
    g.loc[g["parent_code"] == S1, "code"] = [f"3702990090000{k}" for k in range(1, 5)]
    add("grid codes under streets", {"street": t["street"], "grid": g})
    # a street without communities
    add("childless", {"community": t["community"],
                      "grid": t["grid"][t["grid"]["parent_code"] != C4]})
    # two communities sharing a code, one of 11 digits, one with village digits 000
    c = t["community"].copy()
    c.loc[1, "code"] = C1
    c.loc[2, "code"] = "37029900200"
    c.loc[3, "code"] = "370299002000"
    add("bad community codes", {"street": t["street"], "community": c})
    # streets with village digits, or township digits 000
    s = t["street"].copy()
    s["code"] = ["370299001001", "370299000000"]
    add("bad street codes", {"street": s})
    # a community without a code; eight grids without one
    c = t["community"].copy()
    c.loc[3, "code"] = None
    add("missing code", {"street": t["street"], "community": c})
    add("missing codes", {"grid": t["grid"].assign(code=None, parent_code=None)})
    # shapes: a bowtie, repaired or not, and an empty polygon
    g = _replace(t["grid"], C1 + "01", _bowtie())
    add("invalid", {"grid": g})
    add("repaired", {"grid": g}, repair=True)
    g = t["grid"].copy()
    g.loc[3, "geometry"] = shapely.Polygon()
    add("empty", {"grid": g})
    # figures: negative, not a number, missing, and stated against their parts
    g = t["grid"].copy().astype({"population": object})
    g["households"] = pd.Series([700] * 8, dtype=object)
    g.loc[0, "population"] = -5
    g.loc[1, "population"] = "很多"
    g.loc[2, "population"] = None
    g.loc[4, "households"] = -3
    g.loc[5, "households"] = "不详"
    add("bad figures", {"grid": g})
    add("no figures", {"grid": t["grid"].drop(columns="population")})
    add("stated figures", {**t, "street": t["street"].assign(population=[8000, 9000],
                                                             households=[100, 3200])})
    # an assignment table naming parents and units that are not in the district
    table = pd.DataFrame({"level": ["community"] * 3, "code": [C1, "999999999999", C2],
                          "parent_code": [S2, S1, "370299009000"]})
    add("assignment", {"street": t["street"], "community": t["community"]}, assignment=table)
    many = pd.DataFrame({
        "level": ["community"] * 12,
        "code": [C1, C2, C3, C4, C1, C2] + [f"99999999990{k}" for k in range(6)],
        "parent_code": [f"37029900900{k}" for k in range(6)] + [S1] * 6,
    })
    add("assignment many", {"street": t["street"], "community": t["community"]},
        assignment=many)
    # a gap with no unit beside it (direct: the district never makes one)
    crs = pyproj.CRS.from_epsg(UTM)
    hole = box(5000, 5000, 5100, 5100)
    parent = pd.Series({"code": C1, "name": "一社区"})
    out.append(("lonely gap", _gap_finding("grid", "community", parent, hole, crs)))
    out.append(("lonely gap", _gap_finding("street", None, None, hole, crs)))
    return out


@pytest.fixture(scope="module")
def findings() -> list[tuple[str, Finding]]:
    return messy_findings()


@pytest.fixture
def chinese():
    with in_chinese() as ui:
        yield ui.finding_message


def test_every_rule_of_the_district_model_occurs(findings):
    seen = {f.rule for _, f in findings}
    assert RULES <= seen, sorted(RULES - seen)


def test_every_finding_of_the_district_model_reads_in_chinese(findings, chinese):
    problems = []
    for scenario, f in findings:
        if f.rule not in RULES:
            continue  # band breaches and the like: not written in these modules
        assert f.template, (scenario, f.rule, f.message)
        zh = chinese(f)
        problems += [(scenario, f.rule, "not in the catalogue", t)
                     for t in untranslated(f.template, f.args)]
        for problem in chinese_problems(f.message, zh, keep=(f.code, f.name)):
            problems.append((scenario, f.rule, problem, zh))
    assert not problems, "\n".join(map(str, problems))


def test_chinese_keeps_the_figures(findings, chinese):
    by_rule = {}
    for scenario, f in findings:
        by_rule.setdefault((scenario, f.rule), f)
    overlap = by_rule[("overlap", "hierarchy.overlap")]
    area = f"{overlap.area_m2:,.0f} m²"  # 199,804 m²: 200 m by 1 km, on the ellipsoid
    assert area in overlap.message and area in chinese(overlap)
    straddle = by_rule[("straddle", "hierarchy.straddle")]
    assert "80.0%" in chinese(straddle) and "20.0%" in chinese(straddle)
    stated = by_rule[("stated figures", "population.mismatch")]
    assert "9,000" in chinese(stated) and "8,000" in chinese(stated)
    many = by_rule[("unlinked many", "hierarchy.unlinked")]
    assert "and 3 more" in many.message and "3" in chinese(many)
