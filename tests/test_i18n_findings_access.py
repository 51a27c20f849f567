"""The coverage audit's, the siting's, the density envelopes' and the plan's findings in Chinese.

Small real-shaped inputs on the tiny district of ``conftest`` (a 100 m street
lattice cut, holed or stopping short; residents placed by hand; facilities too
small, without floor area, of unknown type, in a village, off the network;
candidate sites with and without floor area) make every finding that
``geo/access``, ``geo/siting/api.py``, the rulebook's density envelopes and the
plan's missing figures write. Each is shown through :func:`ui.finding_message`
in Chinese: it must differ from the English, hold no English word outside the
data it names (facility types and names as the rulebook and the layers spell
them), and still name its units and facilities.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import UTM, X0, Y0, chinese_problems, in_chinese, tiny_frames, untranslated
from test_audit_real import SPREAD, demand, facilities, lattice

from geo.access.coverage import audit_coverage, normalise_facilities
from geo.access.network import network_from_tables
from geo.district.hierarchy import build_district
from geo.findings import Finding
from geo.plan.model import Plan
from geo.rules.rulebook import evaluate_rules, load_rulebook
from geo.siting.api import propose_sites

RULES = load_rulebook()

FAMILIES = {
    # geo/access/coverage.py
    "coverage.no_residents", "facility.unknown_type",
    # geo/access/reach.py
    "network.partial", "network.long_snap", "facility.outside_network", "coverage.island",
    # geo/access/summaries.py
    "facility_size.<type>", "facility.no_floor_area",
    # geo/access/unit_tables.py: per unit, and folded into one for the district
    "coverage.<type>", "floor_area.<type>", "facility.not_judged", "coverage.<type> district",
    "floor_area.<type> district",
    # geo/siting/api.py
    "siting.approximate", "siting.<type>", "siting.beyond_candidates", "siting.note",
    # geo/rules/rulebook.py
    "street.density_envelope", "street.density_envelope district",
    # geo/plan/tables.py
    "plan.missing_figures",
}
"""The findings these modules write, by family (a facility type's rules as ``<type>``)."""

PTS = [(x, y, 2500.0) for x in (500.0, 1500, 2500, 3500) for y in (500.0, 1500)]
"""1,000 households at each grid's centre."""
STOCK = [
    ("community_service_centre", "一中心", 600.0, 500, 1400),
    ("community_service_station", "一服务站", 300.0, 1500, 1400),
    ("community_service_centre", "二中心", 400.0, 500, 400),
    ("community_service_centre", "无面积中心", None, 2500, 1500),
]


def family(f: Finding) -> str:
    head, _, tail = f.rule.partition(".")
    if head in ("coverage", "floor_area", "facility_size", "siting") and tail in RULES.facilities:
        name = f"{head}.<type>"
        return f"{name} district" if f.level == "district" else name
    if f.rule.endswith("density_envelope") and f.level == "district":
        return f"{f.rule} district"
    return f.rule


def _audits() -> list[tuple[str, Finding]]:
    d = build_district(tiny_frames())
    centre = facilities([("community_service_centre", "中心", 800.0, 500, 500)])
    out: list[tuple[str, Finding]] = []

    def add(name: str, findings: list[Finding]) -> None:
        out.extend((name, f) for f in findings)

    # a network stopping at x = 2400; a hole in it around 一社区's residents
    add("partial network", audit_coverage(d, RULES, demand=demand(SPREAD), facilities=centre,
                                          network=lattice(2400)).findings)
    add("long snap", audit_coverage(d, RULES, demand=demand([*SPREAD, (1000.0, 1500.0, 150.0)]),
                                    facilities=centre,
                                    network=lattice(hole=(600, 1400, 1200, 1800))).findings)
    # a network cut at x = 2050; a station off it, below its minimum; a type the rulebook lacks
    odd = facilities([("health_station", "站", 150.0, 100, 100),
                      ("health_station", "远站", 100.0, 1000, 2900),
                      ("swimming_pool", "泳池", 50.0, 500, 500)])
    cut = [(220.0, 210.0, 10.0), (620.0, 210.0, 10.0), (1750.0, 1750.0, 10.0),
           (3000.0, 500.0, 10.0)]
    add("cut network", audit_coverage(d, RULES, demand=demand(cut), facilities=odd,
                                      network=lattice(cut_x=2050)).findings)
    # floor areas short, missing for 12 centres (a list longer than it names)
    add("stock", audit_coverage(d, RULES, demand=demand(PTS), facilities=facilities(STOCK),
                                detour=1.0).findings)
    many = facilities([*(("community_service_centre", f"无面积{i}", None, 100 + 300 * i, 300)
                         for i in range(12)),
                       ("community_service_station", "站甲", 300.0, 500, 500)])
    add("many without floor area", audit_coverage(d, RULES, demand=demand(PTS), facilities=many,
                                                  detour=1.0).findings)
    # 四社区 a village: not judged against the urban norms
    village = build_district(tiny_frames())
    com = village.units["community"]
    com.loc[com["name"] == "四社区", "kind"] = "village"
    add("village", audit_coverage(village, RULES, demand=demand(PTS),
                                  facilities=facilities(STOCK), detour=1.0).findings)
    add("no residents", audit_coverage(d, RULES, demand=demand([(500.0, 500.0, 0.0)]),
                                       facilities=centre, detour=1.0).findings)
    # two separate pieces of network, three types on one of them
    nodes = pd.DataFrame({"id": [10, 11, 12, 13], "lon": [120.0, 120.001, 120.01, 120.011],
                          "lat": [36.0] * 4})
    edges = pd.DataFrame({"u": [10, 12], "v": [11, 13], "length": [100.0, 100.0]})
    units = gpd.GeoDataFrame({"code": ["A"], "name": ["甲社区"], "population": [200]},
                             geometry=[shapely.box(119.999, 35.999, 120.012, 36.001)], crs=4326)
    dem = gpd.GeoDataFrame({"population": [100.0, 100.0], "households": [40.0, 40.0],
                            "unit_code": ["A", "A"], "method": ["spread"] * 2},
                           geometry=gpd.points_from_xy([120.0005, 120.0105], [36.0, 36.0]),
                           crs=4326)
    three = normalise_facilities(gpd.GeoDataFrame(
        {"type": ["health_station", "community_service_centre", "elderly_day_care"],
         "name": ["站", "中心", "托老所"], "floor_area_m2": [150.0, 800.0, 800.0]},
        geometry=gpd.points_from_xy([120.0] * 3, [36.0] * 3), crs=4326))
    add("island", audit_coverage(build_district({"community": units}), RULES, demand=dem,
                                 facilities=three,
                                 network=network_from_tables(nodes, edges)).findings)
    # eight grids, one station and one small centre in a corner: most grids fall short
    grids = build_district({"grid": tiny_frames()["grid"].drop(columns=["parent_code"])})
    corner = facilities([("health_station", "站", 150.0, 100, 100),
                         ("community_service_centre", "小中心", 300.0, 100, 150)])
    pts = [(x, y, 500.0) for x in np.arange(250.0, 4000, 500) for y in (250.0, 750, 1250, 1750)]
    add("most grids short", audit_coverage(grids, RULES, demand=demand(pts), facilities=corner,
                                           detour=1.0).findings)
    return out


def _points(xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy],
                            crs=UTM).to_crs(4326)


def _siting() -> list[tuple[str, Finding]]:
    d = build_district(tiny_frames(), household_size=RULES.household_size)
    gx, gy = np.meshgrid(np.arange(0, 4001, 100), np.arange(0, 2001, 100))
    ids = np.arange(gx.size).reshape(gx.shape)
    nodes = pd.DataFrame({"id": ids.ravel(), "x": X0 + gx.ravel(), "y": Y0 + gy.ravel()})
    edges = pd.concat([pd.DataFrame({"u": ids[:, :-1].ravel(), "v": ids[:, 1:].ravel()}),
                       pd.DataFrame({"u": ids[:-1, :].ravel(), "v": ids[1:, :].ravel()})])
    net = network_from_tables(nodes, edges.assign(length=100.0), crs=UTM, source="lattice")
    existing = _points([(500, 500)], type=["community_service_centre"], name=["E"])
    sites = _points([(600, 500), (3500, 1950)], name=["旧仓库", "空置楼"], id=["p", "q"],
                    floor_area_m2=[np.nan, 900.0])
    out: list[tuple[str, Finding]] = []
    r = propose_sites(d, RULES, facility_type="community_service_centre", k=2, candidates=sites,
                      network=net, facilities=existing, capacity=True)
    out += [("capacity", f) for f in r.findings]
    r = propose_sites(d, RULES, facility_type="health_station", k=2, facilities=existing)
    out += [("straight line", f) for f in r.findings]
    xy = [(x, y) for x in range(150, 4000, 300) for y in range(150, 2000, 300)]
    dense = _points(xy, type=["community_service_centre"] * len(xy))
    r = propose_sites(d, RULES, facility_type="community_service_centre", facilities=dense,
                      detour=1.0, k=2)
    out += [("all covered", f) for f in r.findings]
    return out


def _rules_and_plan() -> list[tuple[str, Finding]]:
    out: list[tuple[str, Finding]] = []
    for name, per_grid in (("too dense", 30_000), ("too sparse", 500)):
        out += [(name, f) for f in evaluate_rules(build_district(tiny_frames(per_grid)), RULES)]
    frames = tiny_frames()
    com = frames["community"].assign(population=[9000.0, np.nan, 8000.0, 7000.0],
                                     households=[3000.0, np.nan, 2600.0, np.nan])
    plan = Plan.from_district(build_district({"street": frames["street"], "community": com}))
    out += [("figures missing", f) for f in plan.findings(RULES)]
    return out


@pytest.fixture(scope="module")
def findings() -> list[tuple[str, Finding]]:
    return [(s, f) for s, f in _audits() + _siting() + _rules_and_plan() if family(f) in FAMILIES]


@pytest.fixture
def chinese():
    with in_chinese() as ui:
        yield ui.finding_message


def test_every_finding_of_these_modules_occurs(findings):
    seen = {family(f) for _, f in findings}
    assert seen == FAMILIES, sorted(FAMILIES - seen)


# data the findings quote as given: type keys (known or not), the rulebook's sources
DATA = {*RULES.facilities, "swimming_pool",
        *(getattr(t, f) for t in RULES.facilities.values()
          for f in ("radius_source", "floor_area_source", "ratio_source"))}


def test_every_finding_reads_in_chinese(findings, chinese):
    problems = []
    for scenario, f in findings:
        assert f.template and f.template.format(**f.args) == f.message, (scenario, f.rule)
        zh = chinese(f)
        problems += [(scenario, f.rule, "not in the catalogue", t)
                     for t in untranslated(f.template, f.args)]
        for problem in chinese_problems(f.message, zh, keep=(f.code, f.name),
                                        exempt=DATA):
            problems.append((scenario, f.rule, problem, zh))
    assert not problems, "\n".join(map(str, problems))


def test_the_chinese_names_the_units_and_facilities(findings, chinese):
    first = {}
    for scenario, f in findings:
        first.setdefault((scenario, family(f)), f)

    def zh(scenario: str, fam: str) -> str:
        return chinese(first[(scenario, fam)])

    assert "三社区 (600)" in zh("partial network", "network.partial")
    assert "66%" in zh("partial network", "network.partial")
    assert "一社区 (150)" in zh("long snap", "network.long_snap")
    assert "远站" in zh("cut network", "facility.outside_network")
    assert "'swimming_pool'" in zh("cut network", "facility.unknown_type")
    assert "无面积中心" in zh("stock", "facility.no_floor_area")
    assert "三社区" in zh("stock", "facility.no_floor_area")  # a unit not judged for it
    listed = zh("many without floor area", "facility.no_floor_area")
    assert "无面积9" in listed and "另有 2 个" in listed and "无面积10" not in listed
    assert "四社区" in zh("village", "facility.not_judged") and "村" in zh(
        "village", "facility.not_judged")
    assert "2,000 户" in zh("stock", "floor_area.<type>")
    beyond = [chinese(f) for s, f in findings if s == "cut network" and f.name == "四社区"
              and family(f) == "coverage.<type>"]
    assert beyond and "路网断开" in beyond[0] and "无法到达" in beyond[0]
    worst = zh("most grids short", "coverage.<type> district")
    assert "一社区第01网格 (0%)" in worst and "8 个网格中有 8 个" in worst
    assert "空置楼 (q)" in zh("capacity", "siting.<type>")
    assert "最多服务 3,000 户" in zh("capacity", "siting.<type>")
    assert "500 m" in zh("all covered", "siting.note")
    assert "甲街道" in zh("too dense", "street.density_envelope")
    assert "二社区" in zh("figures missing", "plan.missing_figures")
