"""Service areas drawn as the ways within reach: they cover what is reached and nothing far."""

from __future__ import annotations

import math

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix, csr_matrix

from geo.access.reach import nearest_source_distance
from geo.access.service_area import reached_stretches, service_lines


def _lattice(nx: int, ny: int, step: float) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """A complete square lattice of ``nx × ny`` nodes ``step`` metres apart (straight edges)."""
    idx = np.arange(nx * ny).reshape(ny, nx)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    w = np.full(len(a), step)
    g = coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(nx * ny, nx * ny)).tocsr()
    x = (np.arange(nx * ny) % nx) * step
    y = (np.arange(nx * ny) // nx) * step
    return g, x.astype(float), y.astype(float)


def test_a_street_is_cut_where_the_walk_reaches_the_radius() -> None:
    """One street of five nodes 100 m apart, the facility on node 0, radius 250 m.

    ::

        F----1----2--|-3----4        | = 250 m: nodes 0-2 reached, 3 and 4 not
    """
    a, b = np.arange(4), np.arange(1, 5)
    g = coo_matrix((np.full(8, 100.0), (np.r_[a, b], np.r_[b, a])), shape=(5, 5)).tocsr()
    x, y = np.arange(5) * 100.0, np.zeros(5)
    d = nearest_source_distance(g, np.array([0]), np.array([0.0]), limit_m=1_000)
    lines = service_lines(g, x, y, d, 250.0)
    assert math.isclose(shapely.length(lines), 250.0)
    assert shapely.bounds(lines).tolist() == [0.0, 0.0, 250.0, 0.0]
    for node in (0, 1, 2):
        assert shapely.distance(lines, shapely.Point(x[node], y[node])) < 1e-9
    assert math.isclose(shapely.distance(lines, shapely.Point(300, 0)), 50.0)
    assert math.isclose(shapely.distance(lines, shapely.Point(400, 0)), 150.0)


def test_an_edge_reached_from_both_ends_keeps_its_unreached_middle_out() -> None:
    """Facilities at both ends of one 300 m edge, radius 100 m: two stretches, a gap between.

    ::

        F==========-----------==========F     100 m reached from each end
    """
    g = coo_matrix(([300.0, 300.0], ([0, 1], [1, 0])), shape=(2, 2)).tocsr()
    x, y = np.array([0.0, 300.0]), np.zeros(2)
    d = np.array([0.0, 0.0])
    pieces = reached_stretches(g, x, y, d, 100.0)
    assert sorted(p[:, 0].tolist() for p in pieces) == [[0.0, 100.0], [200.0, 300.0]]
    lines = service_lines(g, x, y, d, 100.0)
    assert math.isclose(shapely.distance(lines, shapely.Point(150, 0)), 50.0)


def test_nothing_reached_gives_an_empty_geometry() -> None:
    g, x, y = _lattice(3, 3, 100.0)
    assert shapely.is_empty(service_lines(g, x, y, np.full(9, np.inf), 500.0))


@settings(max_examples=40, deadline=None)
@given(
    nx=st.integers(2, 12),
    ny=st.integers(2, 12),
    step=st.floats(20.0, 200.0),
    seeds=st.lists(st.integers(0, 10_000), min_size=1, max_size=4),
    radius=st.floats(1.0, 900.0),
)
def test_service_lines_cover_every_reached_node_and_no_far_one(
    nx: int, ny: int, step: float, seeds: list[int], radius: float
) -> None:
    """On a complete lattice, walking distance ≤ √2 × straight-line distance, so a node
    whose walk exceeds the radius by ``e`` lies at least ``e / √2`` from every reached
    point: the drawn ways must keep that far away from it, and pass through every
    reached node."""
    g, x, y = _lattice(nx, ny, step)
    n = nx * ny
    fac = np.unique(np.asarray(seeds) % n)
    d = nearest_source_distance(g, fac, np.zeros(len(fac)), limit_m=2 * radius + 1)
    tol = 1e-6
    lines = service_lines(g, x, y, d, radius)
    dist_to_lines = shapely.distance(lines, shapely.points(x, y))
    reached = d <= radius
    assert np.all(dist_to_lines[reached] <= tol + 1e-6)
    far = ~reached
    # beyond the search limit (2r + 1) the walk is at least that long
    excess = np.where(np.isfinite(d[far]), d[far], 2 * radius + 1) - radius
    if not shapely.is_empty(lines):
        assert np.all(dist_to_lines[far] >= excess / math.sqrt(2) - tol - 1e-6)
    # every reached stretch lies on an edge with a reached end, within the radius
    pieces = reached_stretches(g, x, y, d, radius)
    assert math.isclose(
        float(shapely.length(shapely.linestrings(pieces)).sum()) if len(pieces) else 0.0,
        _reached_length(g, d, radius),
        rel_tol=1e-9, abs_tol=1e-6,
    )


def _reached_length(g: csr_matrix, d: np.ndarray, r: float) -> float:
    """Total length of ways within ``r``, edge by edge, the slow and obvious way."""
    coo = g.tocoo()
    total = 0.0
    for u, v, length in zip(coo.row, coo.col, coo.data, strict=True):
        if u >= v:
            continue
        a = min(max(r - d[u], 0.0), length) if d[u] <= r else 0.0
        b = min(max(r - d[v], 0.0), length) if d[v] <= r else 0.0
        total += min(length, a + b)
    return total
