"""Reach: who lives within walking distance of a facility type, on arrays and on the network.

The core works on arrays (a CSR walking graph, node indices, offsets, weights):

* **Reach.** For each facility type, one Dijkstra from a virtual source joined
  to every facility's nearest node by an edge as long as the facility's
  snapping distance gives every node's distance to the nearest facility
  (:func:`nearest_source_distance`); a resident's distance adds their own
  snapping distance. Search stops at ``report_factor`` × the service radius,
  so residents far beyond reach are reported as "beyond" without walking the
  whole city.
* **Catchments.** The residents within each facility's radius
  (:func:`catchments`), and the floor area shared over them by two-step
  floating catchment (:func:`two_step_provision`, 2SFCA): each facility's floor
  area is divided by the households within its radius; each resident's
  provision is the sum over the facilities that reach them. Facilities are
  searched in chunks so that no facilities × nodes matrix is held in memory at
  city scale.
* **No network.** Straight-line distance times a detour factor
  (:func:`straight_line_catchments`), marked as an approximation in every output.

The audit's steps that snap residents and facilities to the network, refuse a
network that misses the district (:func:`check_network_reaches`) and measure one
type's reach walked or in straight lines live here too;
:func:`geo.access.coverage.audit_coverage` calls them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo import settings
from geo._progress import Progress
from geo.district.model import District
from geo.errors import (
    InputError,
)
from geo.findings import Finding, Phrase, Word, listed, worded
from geo.i18n import N_

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork
    from geo.rules.rulebook import Rulebook



DEFAULT_DETOUR = settings.audit_detour
"""Kept for callers that import it; the value lives in :data:`geo.settings.audit_detour`."""

REPORT_FACTOR = settings.audit_search_factor
"""Kept for callers that import it; see :data:`geo.settings.audit_search_factor`."""

MAX_SNAP_M = settings.audit_facility_max_snap_m
"""Kept for callers that import it; see :data:`geo.settings.audit_facility_max_snap_m`."""

WITHIN, BEYOND_RADIUS, BEYOND_LIMIT, UNREACHABLE = 0, 1, 2, 3
"""How far each resident is from a facility type: within its radius, beyond it (distance
known), beyond the search limit (not searched farther), or unreachable (no walk leads
from them to any facility of the type: the network is cut, or there is none)."""


def _augment(graph: csr_matrix, nodes: np.ndarray, offsets: np.ndarray) -> csr_matrix:
    """Append a virtual source (last row) with edges to ``nodes`` weighted ``offsets``."""
    n = graph.shape[0]
    order = np.lexsort((offsets, nodes))
    nodes, offsets = nodes[order], offsets[order]
    keep = np.r_[True, nodes[1:] != nodes[:-1]]  # several facilities on one node: nearest
    nodes, offsets = nodes[keep], offsets[keep]
    indptr = np.concatenate([graph.indptr, [graph.indptr[-1] + len(nodes)]])
    indices = np.concatenate([graph.indices, nodes.astype(graph.indices.dtype)])
    # Stored zeros are edges for csgraph (built from data/indices/indptr, never pruned),
    # so a facility exactly on a node keeps distance 0.
    data = np.concatenate([graph.data, np.maximum(offsets, 0.0)])
    return csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))


def nearest_source_distance(
    graph: csr_matrix, nodes: np.ndarray, offsets: np.ndarray, *, limit_m: float
) -> np.ndarray:
    """Return every node's network distance to the nearest source, offsets counted.

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix
        Symmetric walking graph, weights in metres.
    nodes : numpy.ndarray
        Node index of each source (facility).
    offsets : numpy.ndarray
        Distance from each source to its node (snapping), metres.
    limit_m : float
        Stop searching beyond this distance; farther nodes get ``inf``.

    Returns
    -------
    numpy.ndarray
        One distance per node.
    """
    n = graph.shape[0]
    if len(nodes) == 0:
        return np.full(n, np.inf)
    aug = _augment(graph, np.asarray(nodes, dtype=np.int64), np.asarray(offsets, dtype=float))
    dist = dijkstra(aug, directed=True, indices=n, limit=limit_m)
    return np.asarray(dist[:n])


def catchments(
    graph: csr_matrix,
    fac_nodes: np.ndarray,
    fac_offsets: np.ndarray,
    dem_nodes: np.ndarray,
    dem_offsets: np.ndarray,
    *,
    radius_m: float,
    max_cells: int = 4_000_000,
) -> list[np.ndarray]:
    """Return, for each facility, the indices of demand points within ``radius_m``.

    Facilities are searched a chunk at a time (at most ``max_cells``
    distances held at once), so memory stays bounded at city scale.
    """
    n = graph.shape[0]
    order = np.argsort(dem_nodes, kind="stable")
    sorted_nodes = dem_nodes[order]
    out: list[np.ndarray] = []
    chunk = max(1, max_cells // max(n, 1))
    for start in range(0, len(fac_nodes), chunk):
        idx = np.arange(start, min(start + chunk, len(fac_nodes)))
        dist = dijkstra(graph, directed=True, indices=fac_nodes[idx], limit=radius_m)
        dist = np.atleast_2d(dist)
        for row, f in enumerate(idx):
            budget = radius_m - fac_offsets[f]
            if budget < 0:
                out.append(np.zeros(0, dtype=np.int64))
                continue
            reached = np.flatnonzero(dist[row] <= budget)
            lo = np.searchsorted(sorted_nodes, reached, side="left")
            hi = np.searchsorted(sorted_nodes, reached, side="right")
            counts = hi - lo
            offsets = np.repeat(lo - np.cumsum(np.r_[0, counts[:-1]]), counts)
            cand = order[offsets + np.arange(int(counts.sum()))]
            total = dist[row, dem_nodes[cand]] + dem_offsets[cand] + fac_offsets[f]
            out.append(np.sort(cand[total <= radius_m]))
    return out


def straight_line_catchments(
    fac_xy: np.ndarray, dem_xy: np.ndarray, *, radius_m: float, detour: float
) -> list[np.ndarray]:
    """Return, for each facility, demand indices within ``radius_m / detour`` in a straight line."""
    if len(dem_xy) == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(len(fac_xy))]
    tree = cKDTree(dem_xy)
    return [
        np.sort(np.asarray(m, dtype=np.int64))
        for m in tree.query_ball_point(fac_xy, r=radius_m / detour)
    ]


def two_step_provision(
    members: Sequence[np.ndarray], supply: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (provision per demand point, demand weight in each facility's catchment).

    Provision is Σ over the facilities reaching a point of ``supply_j /
    catchment weight_j`` (two-step floating catchment). Facilities whose
    catchment holds no weight contribute nothing.
    """
    provision = np.zeros(len(weight))
    load = np.zeros(len(members))
    for j, mem in enumerate(members):
        w = float(weight[mem].sum()) if len(mem) else 0.0
        load[j] = w
        if w > 0 and np.isfinite(supply[j]):
            provision[mem] += supply[j] / w
    return provision, load


def check_detour(detour: float) -> float:
    """Return ``detour`` as a float if it is a usable detour factor, else raise.

    Raises
    ------
    InputError
        When ``detour`` is not a finite number of at least 1: a walk is never
        shorter than the straight line, so 0 or a negative factor would make
        everyone look served.
    """
    try:
        value = float(detour)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 1.0:
        raise InputError.worded(
            N_("The detour factor (--detour) must be a finite number of at least 1 (walking "
               "distance is straight-line distance × detour, and no walk is shorter than the "
               "straight line); got {value}. Leave it out for the default {default:g}, or give "
               "a value such as 1.2–1.4."),
            value=repr(detour), default=settings.audit_detour,
        )
    return value



def _unit_names(district: District, level: str) -> dict[Any, Any]:
    units = district.units[level]
    return dict(zip(units["code"], units["name"], strict=True))


def _top_units(
    codes: np.ndarray, mask: np.ndarray, pop: np.ndarray, names: Mapping[Any, Any], k: int = 5
) -> tuple[int, str]:
    """Return how many units hold ``mask``'s residents and the ``k`` holding most, as text."""
    per = pd.Series(pop[mask]).groupby(pd.Series(codes[mask], dtype=object)).sum()
    per = per.sort_values(ascending=False)
    shown = [f"{names.get(c) or c} ({v:,.0f})" for c, v in per.head(k).items()]
    return len(per), listed(shown, len(per) - k)


def _with_article(noun: str) -> str:
    """Return ``noun`` after its English indefinite article (``a clinic``), as a phrase.

    The same text as :func:`geo._format.article`; the article is part of the
    phrase's template, so that a translation can leave it out.
    """
    if noun[:1].lower() in "aeiou":
        return Phrase(N_("an {noun}"), noun=noun)
    return Phrase(N_("a {noun}"), noun=noun)


def check_network_reaches(
    network: WalkNetwork, demand: gpd.GeoDataFrame, snap_m: np.ndarray
) -> float:
    """Return the share of residents the network reaches; refuse one that misses the district.

    A resident is reached when the nearest walkable way is within
    :data:`geo.settings.audit_resident_max_snap_m`.

    Parameters
    ----------
    network : geo.access.network.WalkNetwork
        The walking network.
    demand : geopandas.GeoDataFrame
        Residents as points with a ``population`` column.
    snap_m : numpy.ndarray
        Each point's distance to its nearest network node (:meth:`WalkNetwork.snap`).

    Returns
    -------
    float
        The share of residents reached (NaN when there are none).

    Raises
    ------
    InputError
        When the share is below :data:`geo.settings.audit_network_min_reach_share`:
        the message names both extents and the fix.
    """
    pop = pd.to_numeric(demand["population"], errors="coerce").to_numpy(dtype=float)
    pop = np.where(np.isfinite(pop), pop, 0.0)
    total = float(pop.sum())
    if not total > 0:
        return math.nan
    max_snap = settings.audit_resident_max_snap_m
    share = float(pop[snap_m <= max_snap].sum()) / total
    if share < settings.audit_network_min_reach_share:
        ll = demand.geometry.to_crs(4326)
        lon, lat = ll.x.to_numpy(dtype=float), ll.y.to_numpy(dtype=float)
        nlon, nlat = network.nodes_lonlat()
        raise InputError.worded(
            N_("The walking network ({source}) does not cover the district: only {share:.0%} "
               "of its residents live within {max_snap:,.0f} m of a walkable way (the nearest "
               "is {nearest_km:,.1f} km away). The network spans lon {net_lon_min:.3f}–"
               "{net_lon_max:.3f}, lat {net_lat_min:.3f}–{net_lat_max:.3f}; the district's "
               "residents lon {lon_min:.3f}–{lon_max:.3f}, lat {lat_min:.3f}–{lat_max:.3f}. Use "
               "an OpenStreetMap extract (.osm.pbf) that covers the district, or --straight-line "
               "for an approximation without a network."),
            source=network.source, share=share, max_snap=max_snap,
            nearest_km=float(snap_m.min()) / 1000,
            net_lon_min=float(nlon.min()), net_lon_max=float(nlon.max()),
            net_lat_min=float(nlat.min()), net_lat_max=float(nlat.max()),
            lon_min=float(lon.min()), lon_max=float(lon.max()),
            lat_min=float(lat.min()), lat_max=float(lat.max()),
        )
    return share


def _network_reach(
    district: District,
    dem: gpd.GeoDataFrame,
    network: WalkNetwork,
    d_off: np.ndarray,
    codes: dict[str, np.ndarray],
) -> list[Finding]:
    """Refuse a network that misses the district; report partial extent and long snaps.

    Raises
    ------
    InputError
        From :func:`check_network_reaches`.
    """
    if math.isnan(check_network_reaches(network, dem, d_off)):
        return []
    pop = dem["population"].to_numpy(dtype=float)
    pop = np.where(np.isfinite(pop), pop, 0.0)
    total = float(pop.sum())
    max_snap = settings.audit_resident_max_snap_m
    ll = dem.geometry.to_crs(4326)
    lon, lat = ll.x.to_numpy(dtype=float), ll.y.to_numpy(dtype=float)
    level = "community" if "community" in codes else district.levels[-1]
    names = _unit_names(district, level)
    x, y = dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy()
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([network.x, network.y])))
    extent = shapely.buffer(hull, max_snap)
    outside = ~shapely.contains_xy(extent, x, y)
    out: list[Finding] = []
    if outside.any() and pop[outside].sum() > 0:
        block = district.units[district.levels[-1]].to_crs(network.crs)
        geoms = shapely.make_valid(block.geometry.values)
        area = float(shapely.area(geoms).sum())
        inside = float(shapely.area(shapely.intersection(geoms, extent)).sum())
        out_pop = float(pop[outside].sum())
        n_units, shown = _top_units(codes[level], outside, pop, names)
        w = pop[outside] / out_pop
        plon, plat = float((lon[outside] * w).sum()), float((lat[outside] * w).sum())
        out.append(
            Finding(
                rule="network.partial",
                level="district",
                severity="warning",
                value=1.0 - out_pop / total,
                unit="share of residents",
                lon=plon,
                lat=plat,
                **worded(
                    N_(
                        "The walking network covers {area_share:.0%} of the district's area and "
                        "{share:.0%} of its residents: {residents:,.0f} residents in "
                        "{n_units} {level} unit(s) lie outside its extent, most in {units}. "
                        "Their distances are counted as straight-line walking to its edge, so "
                        "they look unserved. Use an extract that covers the whole district."
                    ),
                    area_share=inside / area,
                    share=1.0 - out_pop / total,
                    residents=out_pop,
                    n_units=n_units,
                    level=Word(level),
                    units=shown,
                ),
            )
        )
    far = (d_off > max_snap) & ~outside & (pop > 0)
    if far.any():
        n_units, shown = _top_units(codes[level], far, pop, names)
        worst = int(np.flatnonzero(far)[np.argmax(d_off[far])])
        out.append(
            Finding(
                rule="network.long_snap",
                level="district",
                severity="warning",
                value=float(pop[far].sum()),
                maximum=max_snap,
                unit="residents",
                lon=float(lon[worst]),
                lat=float(lat[worst]),
                **worded(
                    N_(
                        "{points:,} resident points ({residents:,.0f} residents) lie more than "
                        "{max_snap:,.0f} m from the nearest walkable way (up to "
                        "{farthest:,.0f} m), in {n_units} {level} unit(s): {units}. Their last "
                        "stretch is counted as straight-line walking. The network may lack "
                        "footways there: check it, or the buildings' positions."
                    ),
                    points=int(far.sum()),
                    residents=float(pop[far].sum()),
                    max_snap=max_snap,
                    farthest=float(d_off[worst]),
                    n_units=n_units,
                    level=Word(level),
                    units=shown,
                ),
            )
        )
    return out


@dataclass
class _Points:
    """Residents and facilities in the metric CRS, with their coordinates and units."""

    dem: gpd.GeoDataFrame
    fac: gpd.GeoDataFrame
    dx: np.ndarray
    dy: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    weight_pop: np.ndarray
    weight_hh: np.ndarray
    codes: dict[str, np.ndarray]


@dataclass
class _Snapped:
    """Residents and facilities snapped to the walking network."""

    d_node: np.ndarray
    d_off: np.ndarray
    f_node: np.ndarray
    f_off: np.ndarray
    labels: np.ndarray


@dataclass
class _Reach:
    """Distances from every resident to one facility type, and its catchments."""

    dist: np.ndarray
    members: Any
    connected: np.ndarray
    node_d: np.ndarray | None


def _snap_to_network(network: WalkNetwork, pts: _Points) -> _Snapped:
    """Snap residents and facilities to their nearest network nodes."""
    d_node, d_off = network.snap(pts.dx, pts.dy)
    f_node, f_off = network.snap(pts.fx, pts.fy)
    return _Snapped(d_node, d_off, f_node, f_off, network.component_labels())


def _facilities_outside_network(
    pts: _Points, f_off: np.ndarray, metric: pyproj.CRS, rulebook: Rulebook
) -> list[Finding]:
    """Warn about facilities farther from the network than the snapping limit.

    Each is named with its type's name (the rulebook's, in the app's language); a type
    the rulebook does not know by its key.
    """
    max_snap = settings.audit_facility_max_snap_m
    out = []
    for j in np.flatnonzero(f_off > max_snap):
        row = pts.fac.iloc[j]
        lon, lat = _lonlat(metric, pts.fx[j], pts.fy[j])
        out.append(
            Finding(
                rule="facility.outside_network",
                level="facility",
                severity="warning",
                code=str(j),
                name=row["name"],
                value=float(f_off[j]),
                maximum=max_snap,
                unit="m",
                lon=lon,
                lat=lat,
                **worded(
                    N_(
                        "{type} {name} lies {distance:,.0f} m from the nearest walkable way, "
                        "outside the network's extent; it is audited from that point, with the "
                        "gap counted as walking. Check its location or use a network that "
                        "covers it."
                    ),
                    type=(rulebook.facilities[row["type"]].named()
                          if row["type"] in rulebook.facilities else row["type"]),
                    name=row["name"] or f"#{j}",
                    distance=float(f_off[j]),
                ),
            )
        )
    return out


def _walked_reach(
    network: WalkNetwork, snapped: _Snapped, idx: np.ndarray, radius_m: float, limit: float
) -> _Reach:
    """Walk from the facilities ``idx`` on the network to every resident."""
    f_node, f_off = snapped.f_node[idx], snapped.f_off[idx]
    node_d = nearest_source_distance(network.graph, f_node, f_off, limit_m=limit)
    members = catchments(
        network.graph, f_node, f_off, snapped.d_node, snapped.d_off, radius_m=radius_m
    )
    connected = np.isin(snapped.labels[snapped.d_node], np.unique(snapped.labels[f_node]))
    return _Reach(node_d[snapped.d_node] + snapped.d_off, members, connected, node_d)


def _straight_line_reach(
    pts: _Points, idx: np.ndarray, radius_m: float, detour: float
) -> _Reach:
    """Measure straight-line distance × ``detour`` from the facilities ``idx`` to every resident."""
    if len(idx):
        tree = cKDTree(np.column_stack([pts.fx[idx], pts.fy[idx]]))
        dd, _ = tree.query(np.column_stack([pts.dx, pts.dy]))
        dist = dd * detour
    else:
        dist = np.full(len(pts.dem), np.inf)
    members = straight_line_catchments(
        np.column_stack([pts.fx[idx], pts.fy[idx]]),
        np.column_stack([pts.dx, pts.dy]),
        radius_m=radius_m,
        detour=detour,
    )
    return _Reach(dist, members, np.full(len(pts.dem), len(idx) > 0), None)


def _island_findings(
    islands: dict[tuple[float, int], tuple[np.ndarray, list[str]]],
    pts: _Points,
    metric: pyproj.CRS,
) -> list[Finding]:
    """Warn once per network island whose residents reach no facility of some types."""
    out = []
    for (island_pop, _), (island, names) in islands.items():
        lon, lat = _lonlat(
            metric, float(np.mean(pts.dx[island])), float(np.mean(pts.dy[island]))
        )
        out.append(
            Finding(
                rule="coverage.island",
                level="district",
                severity="warning",
                value=island_pop,
                unit="residents",
                lon=lon,
                lat=lat,
                **worded(
                    N_(
                        "{residents:,.0f} residents live on parts of the walking network that "
                        "are cut off from every {facilities} (disconnected islands). Check the "
                        "network for missing links, or add a facility there."
                    ),
                    residents=island_pop,
                    facilities=_join_or(names),
                ),
            )
        )
    return out


def _join_or(names: list[str]) -> str:
    """Return ``a, b or c`` (a phrase the app translates; one name as it is)."""
    if len(names) == 1:
        return names[0]
    return Phrase(N_("{names} or {last}"), names=Phrase.joined(names[:-1], ", "), last=names[-1])


def _lonlat(crs: pyproj.CRS, x: float, y: float) -> tuple[float, float]:
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return float(lon), float(lat)


__all__ = [
    "BEYOND_LIMIT",
    "BEYOND_RADIUS",
    "DEFAULT_DETOUR",
    "MAX_SNAP_M",
    "REPORT_FACTOR",
    "UNREACHABLE",
    "WITHIN",
    "Progress",
    "catchments",
    "check_detour",
    "check_network_reaches",
    "nearest_source_distance",
    "straight_line_catchments",
    "two_step_provision",
]
