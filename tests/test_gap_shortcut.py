"""The gap check skips parents its children surely tile, and never one with a gap."""

from __future__ import annotations

import geopandas as gpd
import pyproj
from conftest import UTM, box

from geo.district.checks import check_nesting


def _nest(children: list, parent=None) -> list:
    kids = gpd.GeoDataFrame(
        [{"code": f"3702990010010{k}", "name": f"网格{k}", "parent_code": "370299001001",
          "geometry": g} for k, g in enumerate(children)], crs=UTM).to_crs(4326)
    par = gpd.GeoDataFrame([{"code": "370299001001", "name": "社区", "parent_code": None,
                             "geometry": parent or box(0, 0, 100, 100)}], crs=UTM).to_crs(4326)
    return check_nesting(kids, par, child_level="grid", parent_level="community",
                         metric_crs=pyproj.CRS(UTM))


def test_children_that_overlap_each_other_do_not_hide_a_gap() -> None:
    """Two grids overlapping by 1,800 m² add up to more than their community, yet leave
    its top-right corner (400 m²) uncovered: the gap is still found.

    ::

        +------+----+      y 90-100, x 60-100: uncovered
        |  A   |####|
        |   +--+----+
        |   |AB|  B |      A: x 0-60, B: x 40-100 (y 0-90)
        +---+--+----+
    """
    found = _nest([box(0, 0, 60, 100), box(40, 0, 100, 90)])
    gaps = [f for f in found if f.rule == "hierarchy.gap"]
    assert len(gaps) == 1 and abs(gaps[0].area_m2 - 400) < 1


def test_a_tiled_parent_has_no_gap_and_a_holed_one_has() -> None:
    """Four grids tiling the community: no gap; leave one out: a 2,500 m² gap."""
    quads = [box(0, 0, 50, 50), box(50, 0, 100, 50), box(0, 50, 50, 100), box(50, 50, 100, 100)]
    assert not [f for f in _nest(quads) if f.rule == "hierarchy.gap"]
    gaps = [f for f in _nest(quads[:3]) if f.rule == "hierarchy.gap"]
    assert len(gaps) == 1 and abs(gaps[0].area_m2 - 2500) < 1
