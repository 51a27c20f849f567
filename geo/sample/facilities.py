"""The sample's buildings and facilities, placed on the district and its network.

Buildings are rectangles turned with the street grid, inside the grids and
clear of the streets, tall in the dense core and low in villages
(:func:`_buildings`). Facilities are points near a node of the main network:
community service centres, service and health stations, health centres,
police posts and elderly day care, with floor areas drawn around the
rulebook's norms, some below the minimums and a few missing
(:func:`_facilities`, :func:`_floor_areas`).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.sample.design import METRIC_CRS
from geo.sample.network import _Network, _road_distance


@dataclass(frozen=True)
class _BuildingClass:
    """How the buildings of a kind of grid look: counts per grid, floors and size (m)."""

    min_density: float  # persons/km² from which a grid is of this class
    count: tuple[int, int]  # buildings per grid, both ends included
    floors: tuple[int, int]  # floors, both ends included
    length: tuple[float, float]
    width: tuple[float, float]


_BUILDING_CLASSES: tuple[_BuildingClass, ...] = (
    _BuildingClass(18_000.0, (5, 8), (12, 30), (24.0, 45.0), (13.0, 18.0)),  # dense core
    _BuildingClass(9_000.0, (5, 8), (6, 18), (20.0, 40.0), (12.0, 16.0)),  # urban
    _BuildingClass(3_500.0, (5, 8), (3, 8), (14.0, 30.0), (10.0, 14.0)),  # suburbs, town seat
    _BuildingClass(0.0, (0, 3), (1, 4), (20.0, 50.0), (14.0, 30.0)),  # parks, industry, edges
)
_VILLAGE_CLASS = _BuildingClass(0.0, (6, 12), (1, 3), (9.0, 15.0), (8.0, 12.0))  # houses


def _buildings(
    rng: np.random.Generator, grids: gpd.GeoDataFrame, density: np.ndarray, net: _Network
) -> tuple[np.ndarray, np.ndarray]:
    """Place building footprints (metres) inside the grids, off the streets and each other.

    Returns ``(floors, footprints)``. Buildings are rectangles turned with the
    street grid (plus a few degrees, a fifth of them crosswise); a quarter of
    the village grids get none, so the audit spreads their residents instead.
    """
    geoms = np.asarray(grids.geometry.values, dtype=object)
    codes = grids["code"].astype(str)
    village = (
        (codes.str[6:9].astype(int) >= 100) & (codes.str[9:12].astype(int) >= 200)
    ).to_numpy()
    n_grids = len(grids)
    classes = (*_BUILDING_CLASSES, _VILLAGE_CLASS)
    cls = np.zeros(n_grids, dtype=np.int64)
    for k in range(len(_BUILDING_CLASSES) - 1, -1, -1):
        cls[density >= _BUILDING_CLASSES[k].min_density] = k
    cls[village] = len(_BUILDING_CLASSES)

    def class_range(field: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pairs = np.array([getattr(k, field) for k in classes], dtype=float)
        return pairs[rows, 0], pairs[rows, 1]

    low, high = class_range("count", cls)
    target = rng.integers(low.astype(np.int64), high.astype(np.int64) + 1)
    target[village & (rng.random(n_grids) < 0.25)] = 0

    # Candidate centres: uniform in each grid's bounding box, kept inside the grid.
    tries = 12 * target
    owner = np.repeat(np.arange(n_grids), tries)
    bounds = shapely.bounds(geoms)[owner]
    xy = bounds[:, :2] + rng.random((len(owner), 2)) * (bounds[:, 2:] - bounds[:, :2])
    c = cls[owner]

    def draw(field: str, extra: float = 0.0) -> np.ndarray:
        low, high = class_range(field, c)
        return np.asarray(low + rng.random(len(owner)) * (high + extra - low))

    length, width = draw("length"), draw("width")
    floors = np.floor(draw("floors", extra=1.0)).astype(np.int64)  # both ends included
    turn = net.theta + rng.normal(0.0, 0.05, size=len(owner))
    turn += np.where(rng.random(len(owner)) < 0.2, 0.5 * np.pi, 0.0)
    half_diagonal = 0.5 * np.hypot(length, width)

    ok = shapely.contains_xy(geoms[owner], xy[:, 0], xy[:, 1])
    ok &= _road_distance(net, xy) >= half_diagonal + 3.0
    chosen: list[int] = []
    candidates = np.flatnonzero(ok)
    starts = np.searchsorted(owner[candidates], np.arange(n_grids + 1))
    for g in range(n_grids):
        mine = candidates[starts[g] : starts[g + 1]]
        taken: list[int] = []
        for k in mine.tolist():
            if len(taken) >= target[g]:
                break
            if taken:
                t = np.asarray(taken)
                gap = np.hypot(xy[t, 0] - xy[k, 0], xy[t, 1] - xy[k, 1])
                if (gap < half_diagonal[t] + half_diagonal[k]).any():
                    continue
            taken.append(k)
        chosen.extend(taken)
    pick = np.asarray(chosen, dtype=np.int64)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx = corners[None, :, 0] * length[pick, None]
    dy = corners[None, :, 1] * width[pick, None]
    cos, sin = np.cos(turn[pick])[:, None], np.sin(turn[pick])[:, None]
    ring = np.stack([xy[pick, 0:1] + dx * cos - dy * sin, xy[pick, 1:2] + dx * sin + dy * cos], -1)
    footprints = shapely.polygons(ring)
    inside = shapely.within(footprints, geoms[owner[pick]])
    return floors[pick][inside], footprints[inside]


def _facilities(
    rng: np.random.Generator,
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    net: _Network,
    outline: shapely.Polygon,
) -> gpd.GeoDataFrame:
    """Place the service facilities (metres) on the mainland of the network.

    See :func:`~geo.sample.build.sample_services` for the placement rules and the findings
    they make.
    """
    mainland = np.flatnonzero(~net.island)
    tree = cKDTree(net.xy[mainland])

    def site(point: np.ndarray, nodes: np.ndarray | None = None) -> np.ndarray:
        """Return a spot 3-25 m from the mainland node nearest ``point`` (or of ``nodes``)."""
        if nodes is None:
            node = net.xy[mainland[int(tree.query(point)[1])]]
        else:
            node = net.xy[nodes[int(np.argmin(np.hypot(*(net.xy[nodes] - point).T)))]]
        radius, angle = rng.uniform(3.0, 25.0), rng.uniform(0.0, 2.0 * np.pi)
        return np.asarray(node + radius * np.array([np.cos(angle), np.sin(angle)]))

    comm_geoms = np.asarray(communities.geometry.values, dtype=object)
    comm_names = communities["name"].astype(str).tolist()
    n_comm = len(communities)
    comm_row = {code: k for k, code in enumerate(communities["code"])}
    grid_comm = np.array([comm_row[p] for p in grids["parent_code"]])
    grid_xy = shapely.get_coordinates(shapely.centroid(np.asarray(grids.geometry.values)))
    grid_pop = grids["population"].to_numpy(dtype=float)
    rep = shapely.get_coordinates(shapely.point_on_surface(comm_geoms))
    centre = _weighted_centres(grid_xy, grid_pop, grid_comm, n_comm)
    off = ~shapely.contains_xy(comm_geoms, centre[:, 0], centre[:, 1])
    centre[off] = rep[off]
    node_idx, comm_idx = shapely.STRtree(comm_geoms).query(
        shapely.points(net.xy[mainland]), predicate="within"
    )
    node_comm = np.full(len(mainland), -1)
    node_comm[node_idx] = comm_idx

    def nodes_in(
        c: int, around: np.ndarray, at_least: float, at_most: float = np.inf
    ) -> np.ndarray:
        mine = mainland[node_comm == c]
        gap = np.hypot(*(net.xy[mine] - around).T)
        return np.asarray(mine[(gap >= at_least) & (gap <= at_most)])

    frames: list[pd.DataFrame] = []

    def add(kind: str, names: list[str], area: np.ndarray, xy: np.ndarray) -> None:
        frames.append(
            pd.DataFrame(
                {"type": kind, "name": names, "floor_area_m2": area, "x": xy[:, 0], "y": xy[:, 1]}
            )
        )

    # Community service centres near each community's centre; a few communities have none.
    centres = np.array([site(centre[c]) for c in range(n_comm)])
    present = np.ones(n_comm, dtype=bool)
    wanted = int(rng.integers(5, 9))
    for c in rng.permutation(n_comm).tolist():
        if n_comm - present.sum() >= wanted:
            break
        others = present.copy()
        others[c] = False
        near = cKDTree(centres[others])
        mine = grid_comm == c
        gap = near.query(grid_xy[mine])[0]
        far_share = grid_pop[mine][gap > 500.0].sum() / max(grid_pop[mine].sum(), 1.0)
        if near.query(rep[c])[0] > 550.0 and far_share >= 0.6:
            present[c] = False
    kept = np.flatnonzero(present)
    add(
        "community_service_centre",
        [comm_names[c] + "综合服务中心" for c in kept],
        _floor_areas(rng, len(kept), (600.0, 1200.0), (400.0, 590.0), low=7, missing=1),
        centres[kept],
    )

    # Community service stations in about a fifth of the larger communities.
    areas = shapely.area(comm_geoms)
    large = np.flatnonzero(present & (areas >= np.median(areas)))
    chosen = np.sort(rng.choice(large, size=min(len(large), n_comm // 5), replace=False))
    station_names, station_xy = [], []
    for c in chosen.tolist():
        spots = nodes_in(c, centres[c], 300.0)
        if len(spots):
            station_xy.append(site(net.xy[spots[int(rng.integers(len(spots)))]], spots))
            village = comm_names[c].endswith("村")
            station_names.append(comm_names[c] + ("便民服务站" if village else "服务站"))
    add(
        "community_service_station",
        station_names,
        _floor_areas(rng, len(station_names), (600.0, 900.0), (250.0, 580.0), low=8, missing=0),
        np.array(station_xy).reshape(-1, 2),
    )

    # Health stations in about half of the communities, away from the service centre.
    chosen = np.sort(rng.choice(n_comm, size=n_comm // 2, replace=False))
    clinic_xy = []
    for c in chosen.tolist():
        spots = nodes_in(c, centres[c], 150.0)
        if len(spots):
            clinic_xy.append(site(net.xy[spots[int(rng.integers(len(spots)))]], spots))
        else:
            clinic_xy.append(site(rep[c]))
    add(
        "health_station",
        [
            comm_names[c] + ("卫生室" if comm_names[c].endswith("村") else "卫生服务站")
            for c in chosen
        ],
        _floor_areas(rng, len(chosen), (120.0, 300.0), (80.0, 115.0), low=6, missing=0),
        np.array(clinic_xy),
    )

    # One health centre per street on a main road near its centre; one police post per street.
    street_row = {code: k for k, code in enumerate(streets["code"])}
    comm_street = np.array([street_row[p] for p in communities["parent_code"]])
    street_centre = _weighted_centres(grid_xy, grid_pop, comm_street[grid_comm], len(streets))
    on_main = mainland[net.main[mainland]]
    hospital_xy = np.array([site(p, on_main) for p in street_centre])
    street_names = streets["name"].astype(str).tolist()
    hospital_names = [
        name[:-1] + "卫生院" if name.endswith("镇") else name + "社区卫生服务中心"
        for name in street_names
    ]
    add(
        "health_centre",
        hospital_names,
        _floor_areas(rng, len(streets), (1750.0, 2300.0), (1200.0, 1650.0), low=1, missing=0),
        hospital_xy,
    )
    police_names, police_xy = [], []
    for s in range(len(streets)):
        mine = np.flatnonzero(comm_street == s)
        spots = np.concatenate([nodes_in(int(c), hospital_xy[s], 300.0, 1200.0) for c in mine])
        if len(spots) == 0:
            spots = np.concatenate([nodes_in(int(c), hospital_xy[s], 0.0) for c in mine])
        spot = site(net.xy[spots[int(rng.integers(len(spots)))]], spots)
        police_xy.append(spot)
        inside = np.flatnonzero(shapely.contains_xy(comm_geoms, spot[0], spot[1]))
        police_names.append(comm_names[int(inside[0]) if len(inside) else int(mine[0])] + "警务室")
    add(
        "police_post",
        police_names,
        _floor_areas(rng, len(streets), (60.0, 180.0), (60.0, 60.0), low=0, missing=1),
        np.array(police_xy),
    )

    # Elderly day care in about a third of the communities, mostly beside the service centre.
    chosen = np.sort(rng.choice(n_comm, size=n_comm // 3, replace=False))
    care_xy = []
    for c in chosen.tolist():
        angle = rng.uniform(0.0, 2.0 * np.pi)
        care_xy.append(
            site(centres[c] + rng.uniform(40.0, 90.0) * np.array([np.cos(angle), np.sin(angle)]))
        )
    care_names = [comm_names[c] + "老年人日间照料中心" for c in chosen]
    # ... and one whose recorded location lies far outside the network (a geocoding slip).
    coords = shapely.get_coordinates(outline)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    edge = coords[int(np.argmax(coords @ direction))]
    distance = 800.0
    while tree.query(edge + distance * direction)[0] < 650.0:
        distance += 100.0
    care_xy.append(edge + distance * direction)
    nearest = int(np.argmin(shapely.distance(comm_geoms, shapely.Point(edge))))
    care_names.append(comm_names[nearest] + "老年人日间照料中心（海滨分部）")
    add(
        "elderly_day_care",
        care_names,
        _floor_areas(rng, len(care_names), (350.0, 800.0), (200.0, 340.0), low=4, missing=1),
        np.array(care_xy),
    )

    table = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(
        table[["type", "name", "floor_area_m2"]],
        geometry=gpd.points_from_xy(table["x"], table["y"]),
        crs=METRIC_CRS,
    )


def _weighted_centres(xy: np.ndarray, weight: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Weighted mean position of the points of each group ``0..n-1``."""
    total = np.bincount(group, weights=weight, minlength=n) + 1e-9
    return np.column_stack(
        [np.bincount(group, weights=weight * xy[:, k], minlength=n) / total for k in (0, 1)]
    )


def _floor_areas(
    rng: np.random.Generator,
    n: int,
    usual: tuple[float, float],
    small: tuple[float, float],
    *,
    low: int,
    missing: int,
) -> np.ndarray:
    """Floor areas (m², whole numbers): ``low`` drawn from ``small``, ``missing`` NaN."""
    area = np.round(rng.uniform(*usual, size=n))
    order = rng.permutation(n)
    low, missing = min(low, n), min(missing, max(n - low, 0))
    area[order[:low]] = np.round(rng.uniform(*small, size=low))
    area[order[low : low + missing]] = np.nan
    return np.asarray(area, dtype=float)
