"""The sample's walking network: a warped street lattice, thinner where fewer people live.

A lattice of streets about 115 m apart, turned, warped and jittered; only every
2nd, 4th or 8th line where fewer people live, every 8th line a main road built
everywhere; a few local links missing; a deliberate island cut off by a river
bend without a bridge (:func:`_walk_network`, :class:`_Network`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo.sample.design import _BLOCK_M, _ISLAND_AREA_M2, _MAIN_EVERY, _MARGIN_M


@dataclass(frozen=True)
class _Network:
    """The sample's walking network in metres: nodes, edges and where the island is."""

    xy: np.ndarray  # (n, 2) node coordinates, metres in METRIC_CRS
    u: np.ndarray  # edge start (node index)
    v: np.ndarray  # edge end (node index)
    length: np.ndarray  # edge length, metres
    main: np.ndarray  # per node: lies on a main road
    island: np.ndarray  # per node: part of the deliberately cut-off island
    theta: float  # rotation of the street grid (radians)


def _walk_network(
    rng: np.random.Generator,
    outline: shapely.Polygon,
    grid_geoms: np.ndarray,
    grid_density: np.ndarray,
    grid_pop: np.ndarray,
) -> _Network:
    """Build the walking network: a warped, rotated lattice thinned where few people live.

    Lattice lines are ~115 m apart (irregular spacing); where the density is
    lower only every 2nd, 4th or 8th line is built, and every 8th line (about
    900 m apart) is a main road built everywhere, so the coarser lines always
    run through the finer patches and join them up. A few local links are
    missing (dead ends, superblocks). A spot at the edge of the district (a
    disc around a point of the outline, a river bend without a bridge) loses
    every link to the rest: the island. Fragments left disconnected by the
    thinning are dropped.
    """
    theta = float(rng.uniform(-0.45, 0.45))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    origin = np.asarray(outline.centroid.coords[0])
    local_outline = (shapely.get_coordinates(outline) - origin) @ rot
    lo = local_outline.min(axis=0) - 300.0
    hi = local_outline.max(axis=0) + 300.0

    def lines(a: float, b: float) -> np.ndarray:
        steps = _BLOCK_M * rng.uniform(0.85, 1.2, size=int((b - a) / (0.85 * _BLOCK_M)) + 2)
        pos = a + np.concatenate([[0.0], np.cumsum(steps)])
        return np.asarray(pos[pos <= b])

    cols, rows = lines(lo[0], hi[0]), lines(lo[1], hi[1])
    nc = len(cols)
    jj, ii = np.meshgrid(np.arange(nc), np.arange(len(rows)))
    i, j = ii.ravel(), jj.ravel()
    local = np.column_stack([cols[j], rows[i]])
    warp = np.zeros_like(local)
    for _ in range(3):
        angle = rng.uniform(0.0, 2.0 * np.pi)
        wavenumber = 2.0 * np.pi / rng.uniform(1800.0, 4000.0)
        phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
        amplitude = rng.uniform(15.0, 35.0, size=2)
        along = local @ np.array([np.cos(angle), np.sin(angle)])
        warp += amplitude * np.sin(wavenumber * along[:, None] + phase)
    jitter = np.clip(rng.normal(0.0, 5.0, size=local.shape), -12.0, 12.0)
    xy = origin + (local + warp + jitter) @ rot.T

    # Streets run up to _MARGIN_M beyond the outline, as in an extract of a real network.
    points = shapely.points(xy)
    near = np.flatnonzero(shapely.dwithin(outline, points, _MARGIN_M))
    grid_tree = shapely.STRtree(grid_geoms)
    point_idx, grid_idx = grid_tree.query_nearest(points[near], all_matches=False)
    inside = np.zeros(len(xy), dtype=bool)
    inside[near] = True
    density = np.zeros(len(xy))
    density[near[point_idx]] = grid_density[grid_idx]
    level = np.select(
        [density >= 12_000.0, density >= 2_500.0, density >= 600.0], [1, 2, 4], _MAIN_EVERY
    )
    i0, j0 = (int(k) for k in rng.integers(_MAIN_EVERY, size=2))

    us, vs, mains = [], [], []
    for step, along_line, ok in ((1, i - i0, j < nc - 1), (nc, j - j0, i < len(rows) - 1)):
        a = np.flatnonzero(ok)
        b = a + step
        both = inside[a] & inside[b]
        a, b, line = a[both], b[both], along_line[a[both]]
        main = line % _MAIN_EVERY == 0
        active = line % np.maximum(level[a], level[b]) == 0
        us.append(a[active])
        vs.append(b[active])
        mains.append(main[active])
    u, v, main = np.concatenate(us), np.concatenate(vs), np.concatenate(mains)
    keep = main | (rng.random(len(u)) >= 0.05)
    u, v, main = u[keep], v[keep], main[keep]

    n = len(xy)
    used = np.zeros(n, dtype=bool)
    used[u] = used[v] = True
    best: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
    for centre, radius in _island_caps(rng, outline, grid_geoms, grid_pop):
        in_cap = np.hypot(*(xy - centre).T) <= radius
        link = in_cap[u] == in_cap[v]  # the river cuts every link across it
        graph = coo_matrix((np.ones(int(link.sum())), (u[link], v[link])), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        cap_sizes = np.bincount(label[used & in_cap], minlength=label.max() + 1)
        if best is None or cap_sizes.max() > best[0]:
            best = (int(cap_sizes.max()), link, label, cap_sizes)
        if cap_sizes.max() >= 25:
            break
    assert best is not None
    _, link, label, cap_sizes = best
    if cap_sizes.max() < 10:
        raise RuntimeError("the island of the sample network came out empty")
    u, v, main = u[link], v[link], main[link]
    used[:] = False
    used[u] = used[v] = True
    sizes = np.bincount(label[used], minlength=label.max() + 1)
    mainland = int(np.argmax(sizes))
    island_label = int(np.argmax(cap_sizes))
    keep_node = used & ((label == mainland) | (label == island_label))
    new_index = np.cumsum(keep_node) - 1
    keep_edge = keep_node[u]
    u, v, main = new_index[u[keep_edge]], new_index[v[keep_edge]], main[keep_edge]
    xy, label = xy[keep_node], label[keep_node]
    on_main = np.zeros(len(xy), dtype=bool)
    on_main[u[main]] = on_main[v[main]] = True
    straight = np.hypot(*(xy[u] - xy[v]).T)
    length = straight * rng.uniform(1.0, 1.1, size=len(u))
    return _Network(xy, u, v, length, on_main, label == island_label, theta)


def _island_caps(
    rng: np.random.Generator, outline: shapely.Polygon, grid_geoms: np.ndarray, grid_pop: np.ndarray
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield spots at the district's edge, about 0.6 km² with 1,000-4,000 residents.

    Each spot is a disc ``(centre, radius)`` around a point of the outline (a
    bend of a river), tried at 24 points of the outline in a random order.
    """
    grid_area = shapely.area(grid_geoms)
    ring = outline.exterior
    for k in rng.permutation(24):
        centre = np.asarray(ring.interpolate(k / 24.0, normalized=True).coords[0])
        lo_r, hi_r = 100.0, 2000.0
        for _ in range(20):  # bisect the radius for the planned area
            r = 0.5 * (lo_r + hi_r)
            if outline.intersection(shapely.Point(centre).buffer(r)).area < _ISLAND_AREA_M2:
                lo_r = r
            else:
                hi_r = r
        radius = 0.5 * (lo_r + hi_r)
        spot = shapely.Point(centre).buffer(radius)
        share = shapely.area(shapely.intersection(grid_geoms, spot)) / grid_area
        if 1000.0 <= float((share * grid_pop).sum()) <= 4000.0:
            yield centre, radius


def _road_distance(net: _Network, xy: np.ndarray) -> np.ndarray:
    """Approximate distance (m) from points to the nearest edge (edges sampled every 8 m)."""
    a, b = net.xy[net.u], net.xy[net.v]
    span = np.hypot(*(b - a).T)
    count = np.maximum(1, np.ceil(span / 8.0).astype(np.int64))
    edge = np.repeat(np.arange(len(span)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    t = (np.arange(len(edge)) - first) / count[edge]
    samples = np.concatenate([a[edge] + t[:, None] * (b - a)[edge], net.xy])
    distance, _ = cKDTree(samples).query(xy)
    return np.asarray(distance) - 4.0  # the true distance is at most 4 m less
