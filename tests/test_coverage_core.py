"""The array core of the coverage audit, on hand-drawn graphs.

The line graph used here (metres)::

    n0 ---100--- n1 ---100--- n2 ---100--- n3 ---100--- n4
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from geo.access.reach import (
    catchments,
    nearest_source_distance,
    straight_line_catchments,
    two_step_provision,
)


def line_graph(n: int = 5, step: float = 100.0) -> csr_matrix:
    i = np.arange(n - 1)
    rows = np.r_[i, i + 1]
    cols = np.r_[i + 1, i]
    return csr_matrix((np.full(len(rows), step), (rows, cols)), shape=(n, n))


def test_nearest_source_counts_snapping_and_stops_at_limit():
    g = line_graph()
    d = nearest_source_distance(g, np.array([0]), np.array([10.0]), limit_m=250)
    np.testing.assert_allclose(d[:3], [10, 110, 210])
    assert np.isinf(d[3]) and np.isinf(d[4])


def test_nearest_of_two_sources_and_shared_node():
    g = line_graph()
    d = nearest_source_distance(g, np.array([0, 4, 4]), np.array([0.0, 50.0, 5.0]),
                                limit_m=1e9)
    np.testing.assert_allclose(d, [0, 100, 200, 105, 5], atol=1e-5)


def test_no_sources_means_nothing_reached():
    assert np.isinf(nearest_source_distance(line_graph(), np.zeros(0, int), np.zeros(0),
                                            limit_m=100)).all()


def test_catchments_include_both_snapping_distances():
    g = line_graph()
    dem_nodes = np.array([0, 1, 2, 3, 4, 1])
    dem_off = np.array([0, 0, 0, 0, 0, 60.0])
    (m,) = catchments(g, np.array([0]), np.array([0.0]), dem_nodes, dem_off, radius_m=150)
    assert m.tolist() == [0, 1]  # the point 60 m off n1 is 160 m away
    (m,) = catchments(g, np.array([0]), np.array([45.0]), dem_nodes, dem_off, radius_m=150)
    assert m.tolist() == [0, 1]
    (m,) = catchments(g, np.array([0]), np.array([55.0]), dem_nodes, dem_off, radius_m=150)
    assert m.tolist() == [0]


def test_catchments_chunking_gives_the_same_answer():
    rng = np.random.default_rng(1)
    g = line_graph(60, 37.0)
    fac = rng.integers(0, 60, 25)
    off = rng.uniform(0, 30, 25)
    dem = rng.integers(0, 60, 300)
    doff = rng.uniform(0, 30, 300)
    a = catchments(g, fac, off, dem, doff, radius_m=200)
    b = catchments(g, fac, off, dem, doff, radius_m=200, max_cells=60)  # one facility a chunk
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # brute force
    pos = np.arange(60) * 37.0
    for j in range(25):
        dist = np.abs(pos[dem] - pos[fac[j]]) + doff + off[j]
        assert a[j].tolist() == np.flatnonzero(dist <= 200).tolist()


def test_two_step_provision_shares_floor_area_over_catchments():
    members = [np.array([0, 1]), np.array([3, 4]), np.array([1, 2, 3])]
    supply = np.array([100.0, 100.0, 30.0])
    weight = np.ones(5)
    prov, load = two_step_provision(members, supply, weight)
    np.testing.assert_allclose(load, [2, 2, 3])
    np.testing.assert_allclose(prov, [50, 60, 10, 60, 50])
    # total provision weighted by demand equals total supply reaching anyone
    assert (prov * weight).sum() == pytest.approx(supply.sum())


def test_straight_line_catchments_use_detour():
    fac = np.array([[0.0, 0.0]])
    dem = np.array([[0.0, 100.0], [0.0, 130.0]])
    (m,) = straight_line_catchments(fac, dem, radius_m=150, detour=1.25)  # 120 m straight
    assert m.tolist() == [0]


def test_a_facility_on_a_node_reaches_exactly_the_radius():
    d = nearest_source_distance(line_graph(), np.array([0]), np.array([0.0]), limit_m=200)
    assert d[0] == 0.0 and d[2] == 200.0  # no epsilon pushes the boundary node out
