"""The sample's geometry: outline, grid cells, and grids grouped into streets and communities.

Steps 1, 4, 5 and 6 of :mod:`geo.sample.build`: the star-shaped outline
(:func:`_outline`), grid sites thrown as darts and relaxed by weighted Lloyd
steps into cells that share their vertices exactly (:func:`_grid_faces`), the
rook adjacency of the cells (:class:`_Adjacency`), and the capacity-constrained
power diagrams that group grids into streets by area (:func:`_assign_streets`)
and streets' grids into communities by residents
(:func:`_assign_communities`), made contiguous on the adjacency graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from geo.sample.design import (
    _EDGE,
    _PACKING,
    _PEOPLE_PER_COMMUNITY,
    _PLAN_POINTS,
    _RELAX_STEPS,
    _SNAP_M,
    _UnitPlan,
)

if TYPE_CHECKING:
    from geo.sample.population import _SiteIntensity


def _outline(rng: np.random.Generator, centre: np.ndarray, area_m2: float) -> shapely.Polygon:
    """Return an irregular, star-shaped district outline of the given area (metres)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 361)[:-1]
    a, b = 5600.0, 4400.0
    radius = a * b / np.hypot(b * np.cos(theta), a * np.sin(theta))
    wobble = np.zeros_like(theta)
    for k in range(2, 7):
        amplitude = rng.uniform(0.015, 0.05) / np.sqrt(k - 1)
        wobble += amplitude * np.cos(k * theta + rng.uniform(0.0, 2.0 * np.pi))
    radius = radius * (1.0 + wobble)
    rotation = rng.uniform(-0.15, 0.15)
    xy = np.column_stack([radius * np.cos(theta + rotation), radius * np.sin(theta + rotation)])
    polygon = shapely.Polygon(xy)
    xy *= np.sqrt(area_m2 / polygon.area)
    return shapely.Polygon(xy + centre)


def _uniform_points(rng: np.random.Generator, outline: shapely.Polygon) -> np.ndarray:
    """Return about ``_PLAN_POINTS`` uniform random points inside ``outline`` (metres)."""
    xmin, ymin, xmax, ymax = outline.bounds
    count = int(_PLAN_POINTS * (xmax - xmin) * (ymax - ymin) / outline.area)
    xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(count, 2))
    return np.asarray(xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])])


def _grid_faces(
    rng: np.random.Generator,
    outline: shapely.Polygon,
    points: np.ndarray,
    intensity: _SiteIntensity,
) -> np.ndarray:
    """Return the grid polygons (metres): a Voronoi tessellation clipped to ``outline``."""
    sites = _relax(_dart_throw(rng, outline, points, intensity(points)), outline, intensity)
    edges = shapely.voronoi_polygons(
        shapely.multipoints(sites), extend_to=outline.buffer(2000.0), only_edges=True
    )
    linework = shapely.union_all([edges, outline.exterior], grid_size=_SNAP_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inside = shapely.contains(outline, shapely.point_on_surface(faces))
    faces = faces[inside]
    return _merge_slivers(faces)


def _dart_throw(
    rng: np.random.Generator, outline: shapely.Polygon, points: np.ndarray, intensity: np.ndarray
) -> np.ndarray:
    """Place grid sites with a minimum spacing that shrinks as the wanted intensity grows.

    Candidates are the ``points`` thinned in proportion to ``intensity``, so
    every part of the district gets about as many tries per site, and kept
    half a spacing away from the outline, as a grid cannot reach past it.
    """
    # Random sequential packing fills about _PACKING / r² sites per unit area.
    radius = np.sqrt(_PACKING / intensity)
    keep = rng.random(len(points)) < intensity / intensity.max()
    keep &= shapely.distance(outline.exterior, shapely.points(points)) >= _EDGE * radius
    xy, radius = points[keep], radius[keep]
    xmin, ymin = xy.min(axis=0)
    cell = float(radius.max())
    buckets: dict[tuple[int, int], list[int]] = {}
    keys = np.floor((xy - [xmin, ymin]) / cell).astype(np.int64)
    accepted: list[int] = []
    for i in range(len(xy)):
        kx, ky = int(keys[i, 0]), int(keys[i, 1])
        x, y, r = xy[i, 0], xy[i, 1], radius[i]
        ok = True
        for bx in (kx - 1, kx, kx + 1):
            for by in (ky - 1, ky, ky + 1):
                for j in buckets.get((bx, by), ()):
                    if (xy[j, 0] - x) ** 2 + (xy[j, 1] - y) ** 2 < (0.5 * (r + radius[j])) ** 2:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            buckets.setdefault((kx, ky), []).append(i)
            accepted.append(i)
    return np.asarray(xy[accepted])


def _relax(sites: np.ndarray, outline: shapely.Polygon, intensity: _SiteIntensity) -> np.ndarray:
    """Even out the grid cells with a few steps of weighted Lloyd relaxation.

    Each site moves to the centroid of its Voronoi cell (clipped to the
    outline) weighted by intensity², which lets the sites settle at a local
    density proportional to the intensity, so that every cell holds about the
    same number of planned households. Taking the weight as linear across a
    cell, that centroid is the plain centroid shifted by the cell's second
    moments times the weight's gradient; the shift is capped for cells that
    straddle the step in intensity at the edge of the town.
    """
    frame = outline.buffer(2000.0)
    for _ in range(_RELAX_STEPS):
        cells = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame, ordered=True)
        parts, owner = shapely.get_parts(
            shapely.intersection(shapely.get_parts(cells), outline), return_index=True
        )
        area, centroid, inertia = _moments(parts, owner, len(sites))
        if not (area > 0).all():
            raise RuntimeError("a grid site of the sample district left the outline")
        # d ln(intensity²) by central differences over a quarter of the cell size.
        h = 0.25 * np.sqrt(area)
        grad = np.empty_like(centroid)
        for axis in (0, 1):
            step = np.zeros_like(centroid)
            step[:, axis] = h
            rise = np.log(intensity(centroid + step)) - np.log(intensity(centroid - step))
            grad[:, axis] = rise / h  # = 2 x (rise / 2h)
        gx, gy = grad.T
        shift = np.column_stack(
            [
                inertia[:, 0, 0] * gx + inertia[:, 0, 1] * gy,
                inertia[:, 1, 0] * gx + inertia[:, 1, 1] * gy,
            ]
        )
        shift /= area[:, None]
        cap = 0.3 * np.sqrt(area) / np.maximum(np.hypot(shift[:, 0], shift[:, 1]), 1e-9)
        sites = centroid + shift * np.minimum(1.0, cap)[:, None]
    return sites


def _moments(
    parts: np.ndarray, owner: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area, centroid and central second-moment matrix of each cell (parts grouped by owner)."""
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    origin = coords.mean(axis=0)
    xy = coords - origin
    same = ring[:-1] == ring[1:]
    x0, y0 = xy[:-1][same].T
    x1, y1 = xy[1:][same].T
    ring = ring[:-1][same]
    cross = x0 * y1 - x1 * y0
    cross *= np.sign(np.bincount(ring, weights=cross, minlength=len(parts)))[ring]  # CCW
    who = owner[ring]

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(who, weights=values * cross, minlength=n)

    area = total(np.full(len(cross), 0.5))
    sx, sy = total((x0 + x1) / 6.0), total((y0 + y1) / 6.0)
    sxx = total((x0 * x0 + x0 * x1 + x1 * x1) / 12.0)
    syy = total((y0 * y0 + y0 * y1 + y1 * y1) / 12.0)
    sxy = total((x0 * y1 + 2.0 * x0 * y0 + 2.0 * x1 * y1 + x1 * y0) / 24.0)
    cx, cy = sx / area, sy / area
    inertia = np.empty((n, 2, 2))
    inertia[:, 0, 0] = sxx - area * cx * cx
    inertia[:, 1, 1] = syy - area * cy * cy
    inertia[:, 0, 1] = inertia[:, 1, 0] = sxy - area * cx * cy
    return area, np.column_stack([cx, cy]) + origin, inertia


def _merge_slivers(faces: np.ndarray) -> np.ndarray:
    """Merge faces far smaller than their neighbours into the longest-bordering one."""
    while True:
        areas = shapely.area(faces)
        adjacency = _Adjacency(faces)
        local = areas.copy()
        for i in range(len(faces)):
            if adjacency.degree(i):
                local[i] = np.median(areas[adjacency.neighbours(i)])
        small = np.flatnonzero(areas < 0.2 * local)
        if len(small) == 0:
            return faces
        target = np.arange(len(faces))
        taken: set[int] = set()
        for i in small[np.argsort(areas[small], kind="stable")]:
            if int(i) in taken:
                continue
            neighbour = adjacency.longest_neighbour(int(i))
            if neighbour < 0 or neighbour in taken:
                continue
            target[i] = neighbour
            taken.update({int(i), neighbour})
        groups = [np.flatnonzero(target == t) for t in np.unique(target)]
        faces = np.array([shapely.coverage_union_all(faces[g]) for g in groups], dtype=object)


class _Adjacency:
    """Edge adjacency of polygons that share exact vertices (a clean coverage)."""

    def __init__(self, polygons: np.ndarray):
        rings = shapely.get_exterior_ring(polygons)
        coords, owner = shapely.get_coordinates(rings, return_index=True)
        same = owner[:-1] == owner[1:]
        start, end, owner = coords[:-1][same], coords[1:][same], owner[:-1][same]
        flip = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        lo = np.where(flip[:, None], end, start)
        hi = np.where(flip[:, None], start, end)
        keys = np.column_stack([lo, hi])
        order = np.lexsort(keys.T[::-1])
        keys, owner = keys[order], owner[order]
        shared = np.all(keys[1:] == keys[:-1], axis=1) & (owner[1:] != owner[:-1])
        a, b = owner[:-1][shared], owner[1:][shared]
        length = np.hypot(*(keys[1:, 2:] - keys[1:, :2])[shared].T)
        i, j = np.minimum(a, b), np.maximum(a, b)
        n = len(polygons)
        pair, inverse = np.unique(i * n + j, return_inverse=True)
        total = np.bincount(inverse, weights=length)
        self.n = n
        self._lists: list[dict[int, float]] = [{} for _ in range(n)]
        for p, w in zip(pair.tolist(), total.tolist(), strict=True):
            u, v = divmod(p, n)
            self._lists[u][v] = w
            self._lists[v][u] = w

    def neighbours(self, i: int) -> list[int]:
        """Return the polygons sharing an edge with polygon ``i``."""
        return list(self._lists[i])

    def degree(self, i: int) -> int:
        """Return the number of edge neighbours of polygon ``i``."""
        return len(self._lists[i])

    def shared(self, i: int, j: int) -> float:
        """Return the length of the boundary shared by polygons ``i`` and ``j``."""
        return self._lists[i].get(j, 0.0)

    def longest_neighbour(self, i: int) -> int:
        """Return the neighbour sharing the longest boundary with ``i`` (-1 if none)."""
        lst = self._lists[i]
        return max(lst, key=lambda j: (lst[j], -j)) if lst else -1


def _power_partition(
    xy: np.ndarray,
    measure: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    *,
    spread_m2: float,
    lloyd: float = 0.3,
) -> np.ndarray:
    """Split points into clusters of given total measure; see :func:`_power_fit`."""
    centres, weights = _power_fit(xy, measure, seeds, targets, spread_m2=spread_m2, lloyd=lloyd)
    return _power_label(xy, centres, weights)


def _power_label(xy: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the power-diagram cell (index into ``centres``) of each point."""
    origin = centres.mean(axis=0)
    cx, cy = (centres - origin).T
    x, y = (xy - origin).T
    # |p - c|² - w, less the |p|² that all cells share.
    cost = (cx**2 + cy**2 - weights)[None, :] - 2.0 * (x[:, None] * cx + y[:, None] * cy)
    return np.asarray(np.argmin(cost, axis=1))


def _power_fit(
    xy: np.ndarray,
    measure: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    *,
    spread_m2: float,
    iterations: int = 120,
    lloyd: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a power diagram that splits points into clusters of given total measure.

    Parameters
    ----------
    xy : numpy.ndarray
        Point coordinates (n x 2, metres).
    measure : numpy.ndarray
        Non-negative measure of each point (area or residents).
    seeds : numpy.ndarray
        Initial cluster centres (k x 2).
    targets : numpy.ndarray
        Wanted measure of each cluster; rescaled to the total measure.
    spread_m2 : float
        Typical squared cluster radius, which sets the weight step.
    iterations : int
        Number of weight updates.
    lloyd : float
        Share by which centres move towards their cluster's centroid during the
        first half of the iterations (keeps clusters compact).

    Returns
    -------
    tuple of numpy.ndarray
        Centres (k x 2) and weights (k) of the iteration with the smallest
        worst relative error; :func:`_power_label` applies them.
    """
    seeds = seeds.astype(float).copy()
    targets = targets * (measure.sum() / targets.sum())
    weights = np.zeros(len(seeds))
    best, best_error = (seeds.copy(), weights.copy()), np.inf
    for step in range(iterations):
        label = _power_label(xy, seeds, weights)
        got = np.bincount(label, weights=measure, minlength=len(seeds))
        error = (got - targets) / targets
        worst = float(np.abs(error).max())
        if worst < best_error:
            best, best_error = (seeds.copy(), weights.copy()), worst
        rate = 0.6 * (1.0 - step / iterations) + 0.05
        weights -= rate * spread_m2 * np.clip(error, -1.0, 1.0)
        if step < iterations // 2 and lloyd > 0:
            mass = np.bincount(label, weights=measure + 1e-9, minlength=len(seeds))
            for axis in (0, 1):
                moment = np.bincount(
                    label, weights=(measure + 1e-9) * xy[:, axis], minlength=len(seeds)
                )
                centroid = np.divide(moment, mass, out=seeds[:, axis].copy(), where=mass > 0)
                seeds[:, axis] += lloyd * (centroid - seeds[:, axis])
    return best


def _make_contiguous(
    label: np.ndarray, members: np.ndarray, adjacency: _Adjacency, measure: np.ndarray
) -> np.ndarray:
    """Hand detached pieces of clusters to the neighbouring cluster they border most.

    Only the points in ``members`` (indices into ``label``) are considered, and
    only their mutual adjacency counts, so clusters stay inside their parent.
    """
    label = label.copy()
    inside = np.zeros(len(label), dtype=bool)
    inside[members] = True
    for _ in range(50):
        pieces = _components(label, members, adjacency, inside)
        main: dict[int, int] = {}
        for index, (lab, nodes) in enumerate(pieces):
            if lab not in main or measure[nodes].sum() > measure[pieces[main[lab]][1]].sum():
                main[lab] = index
        stray = [index for index in range(len(pieces)) if main[pieces[index][0]] != index]
        if not stray:
            return label
        main_of_node = np.full(len(label), -1)
        for lab, index in main.items():
            main_of_node[pieces[index][1]] = lab
        for index in stray:
            lab, nodes = pieces[index]
            border: dict[int, float] = {}
            for u in nodes:
                for v in adjacency.neighbours(u):
                    other = int(main_of_node[v])
                    if inside[v] and other >= 0 and other != lab:
                        border[other] = border.get(other, 0.0) + adjacency.shared(u, v)
            if border:
                label[nodes] = max(border, key=lambda c: (border[c], -c))
    raise RuntimeError("could not make the sample clusters contiguous")


def _components(
    label: np.ndarray, members: np.ndarray, adjacency: _Adjacency, inside: np.ndarray
) -> list[tuple[int, list[int]]]:
    """Return the connected pieces of each cluster as (cluster, nodes), in a stable order."""
    seen: set[int] = set()
    pieces: list[tuple[int, list[int]]] = []
    for start in members.tolist():
        if start in seen:
            continue
        lab = int(label[start])
        stack, nodes = [start], []
        seen.add(start)
        while stack:
            u = stack.pop()
            nodes.append(u)
            for v in adjacency.neighbours(u):
                if inside[v] and v not in seen and label[v] == lab:
                    seen.add(v)
                    stack.append(v)
        pieces.append((lab, sorted(nodes)))
    return pieces


def _assign_streets(
    plan: list[_UnitPlan],
    centre: np.ndarray,
    centroids: np.ndarray,
    areas: np.ndarray,
    adjacency: _Adjacency,
) -> np.ndarray:
    """Assign each grid to a planned street-level unit (index into ``plan``)."""
    seeds = centre + 1000.0 * np.array([[p.x_km, p.y_km] for p in plan])
    targets = np.array([p.area_km2 for p in plan])
    spread = float(areas.sum()) / len(plan) / np.pi
    label = _power_partition(centroids, areas, seeds, targets, spread_m2=spread, lloyd=0.15)
    label = _make_contiguous(label, np.arange(len(label)), adjacency, areas)
    if len(np.unique(label)) != len(plan):
        raise RuntimeError("a planned street of the sample district came out empty")
    return label


def _assign_communities(
    rng: np.random.Generator,
    plan: list[_UnitPlan],
    street_of: np.ndarray,
    centroids: np.ndarray,
    raw: np.ndarray,
    adjacency: _Adjacency,
) -> np.ndarray:
    """Split each street's grids into communities; return a district-wide community index."""
    community_of = np.full(len(street_of), -1)
    next_id = 0
    for s, unit in enumerate(plan):
        members = np.flatnonzero(street_of == s)
        if unit.town:
            count = int(rng.integers(11, 14))
        else:
            count = max(4, int(round(unit.population / _PEOPLE_PER_COMMUNITY)))
        count = min(count, len(members))
        xy, weight = centroids[members], raw[members]
        seeds = _spread_seeds(rng, xy, count)
        spread = float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])) / count / np.pi
        local = _power_partition(xy, weight, seeds, np.ones(count), spread_m2=spread)
        label = np.full(len(street_of), -1)
        label[members] = local
        label = _make_contiguous(label, members, adjacency, raw)
        for lab in np.unique(label[members]):
            community_of[members[label[members] == lab]] = next_id
            next_id += 1
    return community_of


def _spread_seeds(rng: np.random.Generator, xy: np.ndarray, count: int) -> np.ndarray:
    """Pick ``count`` well-spread points of ``xy`` (k-means++ style, seeded)."""
    chosen = [int(rng.integers(len(xy)))]
    distance = ((xy - xy[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < count:
        probability = distance
        total = probability.sum()
        index = int(rng.choice(len(xy), p=probability / total)) if total > 0 else len(chosen)
        chosen.append(index)
        distance = np.minimum(distance, ((xy - xy[index]) ** 2).sum(axis=1))
    return np.asarray(xy[chosen])
