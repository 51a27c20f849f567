"""The audit reads the rulebook's parsed fields: ratio_includes, OSM typing, kinds, notes.

Same tiny district as ``test_audit_real`` (四 communities of 2,000 households each).
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import tiny_frames
from test_audit_real import demand, facilities

from geo.access.coverage import audit_coverage, facilities_from_osm
from geo.district.hierarchy import build_district
from geo.report import _audit_html
from geo.rules.rulebook import load_rulebook

RULES = load_rulebook()
PTS = [(x, y, 2500.0) for x in (500.0, 1500, 2500, 3500) for y in (500.0, 1500)]
"""1,000 households at each grid's centre: 2,000 per community."""
FAC = [
    ("community_service_centre", "一中心", 600.0, 500, 1400),
    ("community_service_station", "一服务站", 300.0, 1500, 1400),
]


def with_centre(rulebook, **changes):
    facs = dict(rulebook.facilities)
    facs["community_service_centre"] = dataclasses.replace(
        facs["community_service_centre"], **changes)
    return dataclasses.replace(rulebook, facilities=facs)


def ratio_of(result, name="一社区"):
    t = result.unit_tables["community"]
    t = t[t["type"] == "community_service_centre"].set_index("name")
    return t.loc[name]


def test_ratio_includes_decides_the_stock(district_tiny):
    r = audit_coverage(district_tiny, RULES, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    assert RULES.facility("community_service_centre").ratio_includes == (
        "community_service_station",)
    assert ratio_of(r)["m2_per_100hh"] == pytest.approx(100 * 900 / 2000)  # 45: both count
    alone = with_centre(RULES, ratio_includes=())
    r2 = audit_coverage(district_tiny, alone, demand=demand(PTS), facilities=facilities(FAC),
                        detour=1.0)
    row = ratio_of(r2)
    assert row["m2_per_100hh"] == pytest.approx(100 * 600 / 2000)  # 30: the centre alone
    assert row["stock_facilities"] == 1


def test_benchmark_comes_from_the_rulebook(district_tiny):
    rb = with_centre(RULES, benchmark_floor_area_m2=1000.0, benchmark_source="test source")
    r = audit_coverage(district_tiny, rb, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    d = r.benchmark_table[r.benchmark_table["level"] == "district"].iloc[0]
    assert d["benchmark_floor_area_m2"] == 1000 and d["benchmark_source"] == "test source"
    none = with_centre(RULES, benchmark_floor_area_m2=None)
    r = audit_coverage(district_tiny, none, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    assert r.benchmark_table.empty


def test_osm_typing_leaves_out_ministries_and_police_stations():
    rows = [
        ({"office": "government", "government": "ministry", "name": "Ministry of Finance"}),
        ({"amenity": "police", "name": "Helsinki Police Department"}),
        ({"office": "government", "government": "community", "name": "x"}),
        ({"office": "government", "name": "中山路社区居委会"}),
        ({"amenity": "police", "name": "八大湖警务室"}),
        ({"amenity": "community_centre", "name": "社区中心"}),
    ]
    cols = sorted({k for r in rows for k in r})
    pois = gpd.GeoDataFrame(
        {c: [r.get(c) for r in rows] for c in cols},
        geometry=[shapely.Point(120.4 + i * 0.001, 36.1) for i in range(len(rows))], crs=4326)
    fac = facilities_from_osm(pois, RULES)
    got = dict(zip(fac["name"], fac["type"], strict=True))
    assert got == {
        "x": "community_service_station",
        "中山路社区居委会": "community_service_station",
        "八大湖警务室": "police_post",
        "社区中心": "community_service_centre",
    }
    assert np.isnan(fac["floor_area_m2"]).all()


def test_a_village_is_not_flagged_for_the_urban_ratio():
    """四社区 becomes a village (村委会): 0 m² per 100 households, shown but not flagged."""
    d = build_district(tiny_frames())
    com = d.units["community"]
    com.loc[com["name"] == "四社区", "kind"] = "village"  # as a 村委会 code would make it
    r = audit_coverage(d, RULES, demand=demand(PTS), facilities=facilities(FAC), detour=1.0)
    assert ratio_of(r, "四社区")["m2_per_100hh"] == 0.0  # figures are shown
    flagged = {f.name for f in r.findings if f.rule == "floor_area.community_service_centre"}
    assert "四社区" not in flagged and {"二社区", "三社区"} <= flagged
    assert "四社区" not in {f.name for f in r.findings if f.rule.startswith("coverage.")}
    note = [f for f in r.findings if f.rule == "facility.not_judged"]
    assert note and all("四社区" in f.message and "village" in f.message for f in note)
    assert "not held to urban norms" in note[0].message
    # a centre of 300 m² (below the 600 m² minimum) in the village is not flagged either
    small = facilities([*FAC, ("community_service_centre", "村中心", 300.0, 3500, 500)])
    r3 = audit_coverage(d, RULES, demand=demand(PTS), facilities=small, detour=1.0)
    assert "村中心" not in {f.name for f in r3.findings if f.rule.startswith("facility_size")}
    status = r3.facility_table.set_index("name").loc["村中心", "status"]
    assert status.startswith("not judged (village")
    html = _audit_html(r)
    assert "Units not judged" in html and "四社区" in html.split("Units not judged")[1]
    # the same village as an urban community would be flagged
    r2 = audit_coverage(build_district(tiny_frames()), RULES, demand=demand(PTS),
                        facilities=facilities(FAC), detour=1.0)
    assert "四社区" in {f.name for f in r2.findings
                      if f.rule == "floor_area.community_service_centre"}


def test_floor_area_findings_take_the_type_severity(district_tiny):
    strict = with_centre(RULES, force="mandatory", severity_table=(("mandatory", "error"),))
    r = audit_coverage(district_tiny, strict, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    sev = {f.severity for f in r.findings if f.rule == "floor_area.community_service_centre"}
    assert sev == {"error"}
    r = audit_coverage(district_tiny, RULES, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    sev = {f.severity for f in r.findings if f.rule == "floor_area.community_service_centre"}
    assert sev == {"warning"}  # advisory in the shipped rulebook


def test_categories_without_facilities_use_their_note(district_tiny):
    r = audit_coverage(district_tiny, RULES, demand=demand(PTS), facilities=facilities(FAC),
                       detour=1.0)
    cats = r.category_table.set_index("category")
    cat = RULES.categories["property_services"]
    assert cats.loc["property_services", "facility_types"] == cat.note
    assert cats.loc["property_services", "note_zh"] == cat.note_zh != ""


@pytest.fixture(scope="module")
def district_tiny():
    return build_district(tiny_frames())
