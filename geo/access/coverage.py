"""Coverage: who lives within walking reach of each service, and is floor area enough.

The core works on arrays (a CSR walking graph, node indices, offsets, weights);
:func:`audit_coverage` adapts GeoDataFrames to it and turns the results into
tables and findings.

* **Reach.** For each facility type, one Dijkstra from a virtual source joined
  to every facility's nearest node by an edge as long as the facility's
  snapping distance gives every node's distance to the nearest facility; a
  resident's distance adds their own snapping distance. Search stops at
  ``report_factor`` × the service radius, so residents far beyond reach are
  reported as "beyond" without walking the whole city.
* **Floor area.** Two-step floating catchment (2SFCA): each facility's floor
  area is divided by the households within its radius; each resident's
  provision is the sum over the facilities that reach them. A crowded
  facility counts for less. Facilities are searched in chunks so that no
  facilities × nodes matrix is held in memory at city scale.
* **No network.** Straight-line distance times a detour factor, marked as an
  approximation in every output.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from geo._format import article as _article
from geo.district.model import District
from geo.errors import (
    ColumnError,
    EmptyInputError,
    GeometryTypeError,
    InputError,
    RulebookError,
)
from geo.findings import Finding
from geo.rules.rulebook import FacilityType, Rulebook, type_osm_features

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork

logger = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""Progress callback: ``(step description, fraction done 0..1)``."""

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

FACILITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("type", "facility_type", "kind", "类型", "设施类型"),
    "name": ("name", "名称", "设施名称"),
    "floor_area_m2": ("floor_area_m2", "floor_area", "area_m2", "建筑面积", "面积", "gfa"),
    "capacity": ("capacity", "容量", "床位"),
}


# ------------------------------------------------------------------- array core


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
        raise InputError(
            f"The detour factor (--detour) must be a finite number of at least 1 (walking "
            f"distance is straight-line distance × detour, and no walk is shorter than the "
            f"straight line); got {detour!r}. Leave it out for the default "
            f"{settings.audit_detour:g}, or give a value such as 1.2–1.4."
        )
    return value


def grouped_weighted_median(
    groups: np.ndarray, values: np.ndarray, weights: np.ndarray
) -> pd.Series:
    """Return the weighted median of ``values`` in each group, weighted by ``weights``.

    The weighted median is the smallest value whose cumulative weight (values
    in ascending order) reaches half the group's weight, so that at least half
    the weight lies at or below it. Values may be ``inf``; rows without weight
    are ignored, and a group without weight gets NaN.

    Examples
    --------
    >>> grouped_weighted_median(np.array(["a"] * 4), np.array([100.0, 200, 300, 400]),
    ...                         np.array([1.0, 1, 1, 10])).item()
    400.0
    """
    frame = pd.DataFrame({"g": groups, "v": values, "w": weights})
    all_groups = pd.unique(frame["g"])
    frame = frame[frame["w"] > 0].sort_values(["g", "v"], kind="stable")
    cum = frame.groupby("g", sort=False)["w"].cumsum()
    half = frame.groupby("g", sort=False)["w"].transform("sum") / 2.0
    hit = frame[cum >= half * (1.0 - 1e-12)]
    median = hit.groupby("g", sort=False)["v"].first()
    return median.reindex(all_groups)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Return the weighted median of ``values`` (see :func:`grouped_weighted_median`)."""
    if len(values) == 0:
        return math.nan
    med = grouped_weighted_median(np.zeros(len(values), dtype=np.int64), values, weights)
    return float(med.iloc[0])


def distance_text(value: float, *, limit_m: float, unreachable: bool = False) -> str:
    """Return a distance as a planner reads it: ``"480 m"``, ``"> 1,500 m"`` or ``"unreachable"``.

    Parameters
    ----------
    value : float
        Metres; ``inf`` or NaN when the search stopped at ``limit_m``.
    limit_m : float
        The search limit.
    unreachable : bool
        The distance is infinite because no walk leads to a facility.
    """
    if unreachable:
        return "unreachable (network cut or no facility)"
    if value is None or not math.isfinite(value):
        return f"> {limit_m:,.0f} m (search limit)"
    return f"{value:,.0f} m"


# ------------------------------------------------------------------ facilities


def normalise_facilities(
    frame: gpd.GeoDataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    default_type: str | None = None,
) -> gpd.GeoDataFrame:
    """Return facilities with ``type``, ``name``, ``floor_area_m2``, ``capacity`` and points.

    Polygons become their representative points. Floor area that is missing
    or not a number becomes NaN (audited for distance only, and flagged).

    Raises
    ------
    EmptyInputError, GeometryTypeError, ColumnError
    """
    if len(frame) == 0:
        raise EmptyInputError(
            "The facilities layer has no features. Add the facilities or "
            "leave the layer out to take them from OpenStreetMap."
        )
    overrides = dict(columns or {})
    lowered = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    found: dict[str, Any] = {}
    for fld, cands in FACILITY_COLUMNS.items():
        if fld in overrides:
            if overrides[fld] not in frame.columns:
                raise ColumnError(
                    f"Column {overrides[fld]!r} (given for {fld}) is not in the facilities layer."
                )
            found[fld] = overrides[fld]
            continue
        found[fld] = next((lowered[c] for c in cands if c in lowered), None)
    if found["type"] is None and default_type is None:
        raise ColumnError(
            "The facilities layer has no type column (type, facility_type, 类型). Add one "
            "naming each facility's type as in the rulebook, or pass --type TYPE for a "
            "layer of one type."
        )
    geoms = frame.geometry
    gtypes = set(geoms.geom_type.dropna())
    if not gtypes <= {"Point", "Polygon", "MultiPolygon", "MultiPoint"}:
        raise GeometryTypeError(
            f"Facilities must be points or polygons, not {', '.join(sorted(gtypes))}."
        )
    pts = geoms.representative_point()
    out = gpd.GeoDataFrame(
        {
            "type": frame[found["type"]].astype(str).str.strip()
            if found["type"] is not None
            else default_type,
            "name": frame[found["name"]].astype(object) if found["name"] is not None else None,
            "floor_area_m2": pd.to_numeric(frame[found["floor_area_m2"]], errors="coerce")
            if found["floor_area_m2"] is not None
            else np.nan,
            "capacity": pd.to_numeric(frame[found["capacity"]], errors="coerce")
            if found["capacity"] is not None
            else np.nan,
        },
        geometry=pts.values,
        crs=frame.crs,
    ).reset_index(drop=True)
    out["name"] = out["name"].where(out["name"].notna(), None)
    out.loc[out["floor_area_m2"] < 0, "floor_area_m2"] = np.nan
    return out


def facilities_from_osm(pois: gpd.GeoDataFrame, rulebook: Rulebook) -> gpd.GeoDataFrame:
    """Type OSM points of interest by the rulebook's ``osm`` tag tables.

    Each feature takes the type whose matching table is most specific
    (:func:`geo.rules.rulebook.type_osm_features`); features no table fully matches
    (a ministry's ``office=government``, a police station) are dropped.
    OSM has no floor areas, so they are NaN (audited for distance only).
    """
    types = type_osm_features(pois, rulebook)
    keep = types.notna()
    name = pois["name"] if "name" in pois.columns else pd.Series([None] * len(pois))
    frame = gpd.GeoDataFrame(
        {"type": types[keep].to_numpy(), "name": name[keep].to_numpy()},
        geometry=pois.geometry[keep].values,
        crs=pois.crs,
    )
    return (
        normalise_facilities(frame)
        if len(frame)
        else frame.assign(floor_area_m2=np.nan, capacity=np.nan)
    )


# ------------------------------------------------------------------ the audit


@dataclass
class TypeResult:
    """Coverage of one facility type."""

    ftype: FacilityType
    distance_m: np.ndarray  # per demand point; inf beyond the search limit or unreachable
    covered: np.ndarray  # per demand point
    provision_m2_per_100hh: np.ndarray | None  # per demand point (2SFCA); NaN where incomplete
    facility_load_households: np.ndarray  # households in each facility's catchment
    facility_index: np.ndarray  # rows of the facilities table of this type
    node_distance: np.ndarray | None = None  # per network node, when walked on a network
    reach: np.ndarray | None = None  # per demand point: WITHIN ... UNREACHABLE
    limit_m: float = math.inf  # the search limit


@dataclass
class CoverageResult:
    """Everything a coverage audit computed, with its provenance."""

    district: District
    rulebook: Rulebook
    demand: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    types: dict[str, TypeResult]
    unit_tables: dict[str, pd.DataFrame]
    facility_table: pd.DataFrame
    type_table: pd.DataFrame
    category_table: pd.DataFrame
    findings: list[Finding]
    provenance: dict[str, str]
    approximate: bool
    network: WalkNetwork | None = None
    notes: list[str] = field(default_factory=list)
    benchmark_table: pd.DataFrame = field(default_factory=pd.DataFrame)


def _progress(cb: Progress | None, step: str, frac: float) -> None:
    if cb is not None:
        cb(step, frac)


def _codes_up(district: District, finest: np.ndarray) -> dict[str, np.ndarray]:
    """Return unit codes at every level for points whose finest-level codes are ``finest``."""
    levels = district.levels
    codes = {levels[-1]: np.asarray(finest, dtype=object)}
    for upper, lower in zip(reversed(levels[:-1]), reversed(levels[1:]), strict=True):
        parent = dict(
            zip(district.units[lower]["code"], district.units[lower]["parent_code"], strict=True)
        )
        codes[upper] = np.array([parent.get(c) for c in codes[lower]], dtype=object)
    return codes


def _unit_of_demand(district: District, demand: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Return each demand point's unit code at every level (via parent links)."""
    return _codes_up(district, demand["unit_code"].to_numpy(dtype=object))


def _unit_of_facilities(
    district: District, fac: gpd.GeoDataFrame, metric: pyproj.CRS
) -> dict[str, np.ndarray]:
    """Return the unit each facility lies in at every level (None outside the district)."""
    block = district.units[district.levels[-1]].to_crs(metric)
    geoms = shapely.make_valid(block.geometry.values)
    finest = np.full(len(fac), None, dtype=object)
    if len(fac):
        f_idx, u_idx = shapely.STRtree(geoms).query(fac.geometry.values, predicate="intersects")
        first = ~pd.Series(f_idx).duplicated().to_numpy()
        finest[f_idx[first]] = block["code"].to_numpy(dtype=object)[u_idx[first]]
    return _codes_up(district, finest)


def _unit_names(district: District, level: str) -> dict[Any, Any]:
    units = district.units[level]
    return dict(zip(units["code"], units["name"], strict=True))


def _top_units(
    codes: np.ndarray, mask: np.ndarray, pop: np.ndarray, names: Mapping[Any, Any], k: int = 5
) -> tuple[int, str]:
    """Return how many units hold ``mask``'s residents and the ``k`` holding most, as text."""
    per = pd.Series(pop[mask]).groupby(pd.Series(codes[mask], dtype=object)).sum()
    per = per.sort_values(ascending=False)
    shown = ", ".join(f"{names.get(c) or c} ({v:,.0f})" for c, v in per.head(k).items())
    more = f" and {len(per) - k} more" if len(per) > k else ""
    return len(per), shown + more


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
        raise InputError(
            f"The walking network ({network.source}) does not cover the district: only "
            f"{share:.0%} of its residents live within {max_snap:,.0f} m of a walkable way "
            f"(the nearest is {float(snap_m.min()) / 1000:,.1f} km away). The network spans "
            f"lon {nlon.min():.3f}–{nlon.max():.3f}, lat {nlat.min():.3f}–{nlat.max():.3f}; "
            f"the district's residents lon {lon.min():.3f}–{lon.max():.3f}, lat "
            f"{lat.min():.3f}–{lat.max():.3f}. Use an OpenStreetMap extract (.osm.pbf) that "
            "covers the district, or --straight-line for an approximation without a network."
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
                message=(
                    f"The walking network covers {inside / area:.0%} of the district's area and "
                    f"{1.0 - out_pop / total:.0%} of its residents: {out_pop:,.0f} residents in "
                    f"{n_units} {level} unit(s) lie outside its extent, most in {shown}. Their "
                    "distances are counted as straight-line walking to its edge, so they look "
                    "unserved. Use an extract that covers the whole district."
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
                message=(
                    f"{int(far.sum()):,} resident points ({pop[far].sum():,.0f} residents) lie "
                    f"more than {max_snap:,.0f} m from the nearest walkable way (up to "
                    f"{d_off[worst]:,.0f} m), in {n_units} {level} unit(s): {shown}. Their last "
                    "stretch is counted as straight-line walking. The network may lack footways "
                    "there: check it, or the buildings' positions."
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


def audit_coverage(
    district: District,
    rulebook: Rulebook,
    *,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    network: WalkNetwork | None = None,
    types: Sequence[str] | None = None,
    detour: float | None = None,
    population_source: str = "",
    progress: Progress | None = None,
) -> CoverageResult:
    """Audit walking coverage and floor-area norms for every facility type present.

    Parameters
    ----------
    district : District
        The checked district (its units give per-unit results).
    rulebook : Rulebook
        Facility types with radii and floor-area norms.
    demand : geopandas.GeoDataFrame
        Residents as points (:func:`geo.access.population.demand_points`).
    facilities : geopandas.GeoDataFrame
        Normalised facilities (:func:`normalise_facilities`).
    network : geo.access.network.WalkNetwork, optional
        The walking network. Without it, straight-line distance × ``detour``
        is used and every output says so.
    types : sequence of str, optional
        Facility types to audit; default all types present in ``facilities``.
    detour : float, optional
        Straight-line detour factor (≥ 1); default :data:`geo.settings.audit_detour`.
    population_source : str
        Where the residents come from, for the report.
    progress : callable, optional
        ``progress(step, fraction)`` for long steps.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        When ``detour`` is not a finite number ≥ 1, or the network does not
        reach the district's residents (see :func:`_network_reach`).
    RulebookError
        When no facility has a type from the rulebook.
    """
    detour = check_detour(settings.audit_detour if detour is None else detour)
    metric = district.metric_crs if network is None else network.crs
    pts = _project_points(district, demand, facilities, metric)
    findings = _no_residents_findings(pts)
    findings.extend(_unknown_type_findings(pts.fac, rulebook))
    audit_types = _types_to_audit(pts.fac, rulebook, types)
    snapped = None
    if network is not None:
        _progress(progress, "snapping residents and facilities to the network", 0.05)
        snapped = _snap_to_network(network, pts)
        findings.extend(_network_reach(district, pts.dem, network, snapped.d_off, pts.codes))
        findings.extend(_facilities_outside_network(pts, snapped.f_off, metric))
    results, islands = _reach_by_type(
        rulebook, audit_types, pts, network, snapped, detour, progress
    )
    findings.extend(_island_findings(islands, pts, metric))
    _progress(progress, "tables and findings", 0.92)
    fac_codes = _unit_of_facilities(district, pts.fac, metric)
    incomplete: dict[str, list[str]] = {}
    unit_tables = _unit_tables(
        district, pts.dem, results, pts.codes, findings, pts.fac, fac_codes, incomplete, rulebook
    )
    facility_table = _facility_table(
        pts.fac,
        results,
        findings,
        metric,
        snapped.f_off if snapped is not None else None,
        _facility_kinds(district, fac_codes),
    )
    findings.extend(_missing_floor_area(pts.fac, rulebook, incomplete))
    type_table = _type_table(results, pts.dem, pts.fac)
    category_table = _category_table(type_table, rulebook)
    benchmark_table = _benchmark_table(district, pts.fac, fac_codes, rulebook)
    provenance = _provenance(rulebook, network, detour, population_source, metric)
    _progress(progress, "done", 1.0)
    return CoverageResult(
        district=district,
        rulebook=rulebook,
        demand=pts.dem,
        facilities=pts.fac,
        types=results,
        unit_tables=unit_tables,
        facility_table=facility_table,
        type_table=type_table,
        category_table=category_table,
        findings=findings,
        provenance=provenance,
        approximate=network is None,
        network=network,
        benchmark_table=benchmark_table,
    )


def _project_points(
    district: District,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    metric: pyproj.CRS,
) -> _Points:
    """Project residents and facilities to ``metric`` and find the residents' units."""
    dem = demand.to_crs(metric)
    fac = facilities.to_crs(metric).reset_index(drop=True)
    return _Points(
        dem=dem,
        fac=fac,
        dx=shapely.get_x(dem.geometry.values),
        dy=shapely.get_y(dem.geometry.values),
        fx=shapely.get_x(fac.geometry.values),
        fy=shapely.get_y(fac.geometry.values),
        weight_pop=dem["population"].to_numpy(dtype=float),
        weight_hh=dem["households"].to_numpy(dtype=float),
        codes=_unit_of_demand(district, dem),
    )


def _no_residents_findings(pts: _Points) -> list[Finding]:
    """Warn when the residents to audit add up to zero."""
    if len(pts.dem) and np.nansum(pts.weight_pop) > 0:
        return []
    return [
        Finding(
            rule="coverage.no_residents",
            level="district",
            severity="warning",
            message=(
                "The residents to audit add up to zero, so every share below is empty. "
                "Add population figures to the units (or check the buildings layer)."
            ),
        )
    ]


def _unknown_type_findings(fac: gpd.GeoDataFrame, rulebook: Rulebook) -> list[Finding]:
    """Warn once per facility type the rulebook does not know."""
    out = []
    for t in dict.fromkeys(fac["type"]):
        if t in rulebook.facilities:
            continue
        n = int((fac["type"] == t).sum())
        out.append(
            Finding(
                rule="facility.unknown_type",
                level="district",
                severity="warning",
                value=float(n),
                message=(
                    f"{n} facilit{'y' if n == 1 else 'ies'} of type {t!r} are not audited: the "
                    f"rulebook has no such type (it has {', '.join(rulebook.facilities)}). "
                    "Correct the type or add it to the rulebook."
                ),
            )
        )
    return out


def _types_to_audit(
    fac: gpd.GeoDataFrame, rulebook: Rulebook, types: Sequence[str] | None
) -> list[str]:
    """Return the facility types to audit; refuse when there is none.

    Raises
    ------
    RulebookError
        When a requested type is not in the rulebook, or no facility has a rulebook type.
    """
    present = list(dict.fromkeys(fac["type"]))
    if types is None:
        audit_types = [t for t in rulebook.facilities if t in present]
    else:
        for t in types:
            rulebook.facility(t)  # raises a clear RulebookError
        audit_types = list(types)
    if not audit_types:
        raise RulebookError(
            "None of the facilities has a type from the rulebook, so there is nothing to "
            f"audit. Types found: {', '.join(present) or 'none'}; rulebook types: "
            f"{', '.join(rulebook.facilities)}."
        )
    return audit_types


def _snap_to_network(network: WalkNetwork, pts: _Points) -> _Snapped:
    """Snap residents and facilities to their nearest network nodes."""
    d_node, d_off = network.snap(pts.dx, pts.dy)
    f_node, f_off = network.snap(pts.fx, pts.fy)
    return _Snapped(d_node, d_off, f_node, f_off, network.component_labels())


def _facilities_outside_network(
    pts: _Points, f_off: np.ndarray, metric: pyproj.CRS
) -> list[Finding]:
    """Warn about facilities farther from the network than the snapping limit."""
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
                message=(
                    f"{row['type']} {row['name'] or f'#{j}'} lies {f_off[j]:,.0f} m from "
                    "the nearest walkable way, outside the network's extent; it is "
                    "audited from that point, with the gap counted as walking. Check "
                    "its location or use a network that covers it."
                ),
            )
        )
    return out


def _reach_by_type(
    rulebook: Rulebook,
    audit_types: list[str],
    pts: _Points,
    network: WalkNetwork | None,
    snapped: _Snapped | None,
    detour: float,
    progress: Progress | None,
) -> tuple[dict[str, TypeResult], dict[tuple[float, int], tuple[np.ndarray, list[str]]]]:
    """Compute every type's coverage and collect the network islands cut off from it."""
    results: dict[str, TypeResult] = {}
    islands: dict[tuple[float, int], tuple[np.ndarray, list[str]]] = {}
    for k, t in enumerate(audit_types):
        ftype = rulebook.facility(t)
        idx = np.flatnonzero((pts.fac["type"] == t).to_numpy())
        limit = ftype.service_radius_m * settings.audit_search_factor
        _progress(progress, f"{ftype.name}: walking distances", 0.1 + 0.8 * k / len(audit_types))
        if network is not None and snapped is not None:
            reach = _walked_reach(network, snapped, idx, ftype.service_radius_m, limit)
        else:
            reach = _straight_line_reach(pts, idx, ftype.service_radius_m, detour)
        results[t] = _type_result(ftype, idx, reach, pts, limit)
        if network is not None and len(idx):
            island = ~reach.connected
            island_pop = float(pts.weight_pop[island].sum())
            if island_pop > 0:
                key = (round(island_pop, 3), int(island.sum()))
                islands.setdefault(key, (island, []))[1].append(ftype.name.lower())
    return results, islands


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


def _type_result(
    ftype: FacilityType, idx: np.ndarray, reach: _Reach, pts: _Points, limit: float
) -> TypeResult:
    """Classify each resident's reach and share the type's floor area over its catchments."""
    r = ftype.service_radius_m
    dist = np.where(reach.dist > limit, np.inf, reach.dist)
    covered = dist <= r
    classes = np.select(
        [covered, np.isfinite(dist), reach.connected],
        [WITHIN, BEYOND_RADIUS, BEYOND_LIMIT],
        UNREACHABLE,
    )
    provision, load_hh = _provision(ftype, idx, reach.members, pts)
    return TypeResult(ftype, dist, covered, provision, load_hh, idx, reach.node_d, classes, limit)


def _provision(
    ftype: FacilityType, idx: np.ndarray, members: Any, pts: _Points
) -> tuple[np.ndarray | None, np.ndarray]:
    """Return each resident's 2SFCA floor area per 100 households and each facility's load."""
    area = pts.fac["floor_area_m2"].to_numpy(dtype=float)[idx]
    known = np.isfinite(area)
    weight_hh = pts.weight_hh
    load_hh = np.array([weight_hh[m].sum() for m in members]) if members else np.zeros(0)
    if ftype.m2_per_100_households is None or not known.any():
        return None, load_hh
    prov, load_hh = two_step_provision(members, np.where(known, area, np.nan), weight_hh)
    # Residents reached by a facility whose floor area is missing have an
    # unknown provision, never a smaller one: missing is not zero.
    unknown_hit = np.zeros(len(pts.dem), dtype=bool)
    for j in np.flatnonzero(~known):
        unknown_hit[members[j]] = True
    return np.where(unknown_hit, np.nan, prov * 100.0), load_hh


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
                message=(
                    f"{island_pop:,.0f} residents live on parts of the walking network that "
                    f"are cut off from every {_join_or(names)} (disconnected islands). Check "
                    "the network for missing links, or add a facility there."
                ),
            )
        )
    return out


def _provenance(
    rulebook: Rulebook,
    network: WalkNetwork | None,
    detour: float,
    population_source: str,
    metric: pyproj.CRS,
) -> dict[str, str]:
    """Describe where the audit's inputs come from and what it approximates."""
    net_text = (
        network.source
        if network is not None
        else (f"none: straight-line distance × {detour:g} (APPROXIMATION)")
    )
    provenance = {} if network is not None else {"detour": f"{detour:g}"}
    provenance |= {
        "rulebook": f"{rulebook.name} ({rulebook.path or 'built in'})",
        "network": net_text,
        "population": population_source or "unit figures spread over points",
        "metric_crs": metric.name if hasattr(metric, "name") else str(metric),
        "approximations": (
            "distances are straight-line × detour factor, not walked on the network"
            if network is None
            else "none beyond snapping to the nearest network node (snapping distance counted)"
        ),
        "search_limit": (
            f"{settings.audit_search_factor:g} × each type's service radius; farther "
            "residents are shown as '> limit', residents with no walk to any facility of a "
            "type as 'unreachable'"
        ),
        "floor_area": (
            "m² per 100 households = all floor area of the type's community stock in the "
            "unit ÷ its households (primary); m2_per_100hh_2sfca = floor area shared over "
            "each facility's walking catchment (two-step floating catchment, second view). "
            "Facilities without a floor area are left out and named in the findings."
        ),
    }
    return provenance


def _join_or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _lonlat(crs: pyproj.CRS, x: float, y: float) -> tuple[float, float]:
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return float(lon), float(lat)


def stock_types(rulebook: Rulebook, key: str) -> tuple[str, ...]:
    """Return the facility types whose floor area counts towards ``key``'s per-household norm.

    ``key`` itself and the types in its rulebook entry's ``ratio_includes``.
    """
    return (key, *(k for k in rulebook.facility(key).ratio_includes if k != key))


def benchmark_of(rulebook: Rulebook, key: str) -> tuple[float, str] | None:
    """Return ``(average floor area m², source)`` a type is benchmarked against, or None.

    From the rulebook entry's ``benchmark_floor_area_m2`` and ``benchmark_source``.
    """
    ftype = rulebook.facility(key)
    if ftype.benchmark_floor_area_m2 is None or not ftype.benchmark_floor_area_m2 > 0:
        return None
    return float(ftype.benchmark_floor_area_m2), ftype.benchmark_source


def _reach_texts(
    median: pd.Series, farthest: pd.Series, agg: pd.DataFrame, limit: float
) -> tuple[list[str], list[str]]:
    """Describe medians and farthest distances honestly: metres, '> limit' or 'unreachable'."""
    res = agg["residents"].to_numpy(dtype=float)
    unr = agg["unreachable"].to_numpy(dtype=float)
    med = median.reindex(agg.index).to_numpy(dtype=float)
    far = farthest.reindex(agg.index).to_numpy(dtype=float)
    # residents ordered: distance known < beyond the limit < unreachable
    unreach_median = (res - unr) < res / 2.0 * (1.0 - 1e-12)
    med_text = [
        distance_text(m, limit_m=limit, unreachable=bool(u)) if r > 0 else "—"
        for m, u, r in zip(med, unreach_median, res, strict=True)
    ]
    far_text = [
        distance_text(f, limit_m=limit, unreachable=bool(u > 0)) if r > 0 else "—"
        for f, u, r in zip(far, unr, res, strict=True)
    ]
    return med_text, far_text


_UNIT_TABLE_COLUMNS = [
    "type",
    "code",
    "name",
    "residents",
    "households",
    "covered",
    "share_covered",
    "beyond",
    "beyond_search_limit",
    "unreachable",
    "median_distance_m",
    "median_distance",
    "farthest_m",
    "farthest",
    "m2_per_100hh",
    "stock_m2",
    "stock_facilities",
    "stock_no_floor_area",
    "m2_per_100hh_2sfca",
]
"""The columns of a unit table, in order (those a table has)."""


def _unit_tables(
    district: District,
    dem: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    codes: dict[str, np.ndarray],
    findings: list[Finding],
    fac: gpd.GeoDataFrame,
    fac_codes: dict[str, np.ndarray],
    incomplete: dict[str, list[str]],
    rulebook: Rulebook,
) -> dict[str, pd.DataFrame]:
    """Tabulate coverage per unit at every level and judge the units of one level.

    Findings are appended to ``findings``; units whose stock lacks floor areas
    are added to ``incomplete``.
    """
    judged = "community" if "community" in district.levels else district.levels[-1]
    stock_levels = [lv for lv in district.levels if lv != "grid"] or [district.levels[-1]]
    tables = {}
    local: list[Finding] = []
    not_judged: dict[str, list[tuple[str, str]]] = {}
    for lv in district.levels:
        rows = [
            _type_unit_rows(
                lv, t, res, dem, codes[lv], fac, fac_codes[lv], rulebook, lv in stock_levels
            )
            for t, res in results.items()
        ]
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        if not table.empty:
            table = _finish_unit_table(table, district.units[lv])
        tables[lv] = table
        if not table.empty and lv == judged:
            local.extend(
                _judge_units(
                    lv, table, district.units[lv], results, rulebook, incomplete, not_judged
                )
            )
    findings.extend(_summarise(local, results, tables))
    findings.extend(_not_judged_findings(not_judged, results, judged))
    return tables


def _type_unit_rows(
    lv: str,
    t: str,
    res: TypeResult,
    dem: gpd.GeoDataFrame,
    codes: np.ndarray,
    fac: gpd.GeoDataFrame,
    fac_codes: np.ndarray,
    rulebook: Rulebook,
    counts_stock: bool,
) -> pd.DataFrame:
    """Sum one type's coverage, distances and floor area per unit of level ``lv``."""
    pop = dem["population"].to_numpy(dtype=float)
    hh = dem["households"].to_numpy(dtype=float)
    reach = res.reach if res.reach is not None else np.zeros(len(pop), dtype=int)
    frame = pd.DataFrame(
        {
            "code": codes,
            "pop": pop,
            "hh": hh,
            "cov": np.where(res.covered, pop, 0.0),
            "lim": np.where(reach == BEYOND_LIMIT, pop, 0.0),
            "unr": np.where(reach == UNREACHABLE, pop, 0.0),
            "dist": np.where(pop > 0, res.distance_m, -1.0),
        }
    )
    if res.provision_m2_per_100hh is not None:
        frame["prov_hh"] = res.provision_m2_per_100hh * hh
        frame["prov_nan"] = np.isnan(frame["prov_hh"]) & (hh > 0)
    g = frame.groupby("code", sort=False)
    agg = pd.DataFrame(
        {
            "residents": g["pop"].sum(),
            "households": g["hh"].sum(),
            "covered": g["cov"].sum(),
            "beyond_search_limit": g["lim"].sum(),
            "unreachable": g["unr"].sum(),
        }
    )
    farthest = g["dist"].max().where(lambda s: s >= 0)
    median = grouped_weighted_median(codes, res.distance_m, pop)
    med_text, far_text = _reach_texts(median, farthest, agg, res.limit_m)
    finite = median.reindex(agg.index)
    agg["median_distance_m"] = finite.where(np.isfinite(finite))
    agg["median_distance"] = med_text
    agg["farthest_m"] = farthest.where(np.isfinite(farthest))
    agg["farthest"] = far_text
    if res.ftype.m2_per_100_households is not None and counts_stock:
        _add_stock_columns(agg, t, fac, fac_codes, rulebook)
    if "prov_hh" in frame:
        two = g["prov_hh"].sum() / agg["households"].where(agg["households"] > 0)
        agg["m2_per_100hh_2sfca"] = two.where(~g["prov_nan"].max().astype(bool))
    agg["type"] = t
    return agg.reset_index()


def _add_stock_columns(
    agg: pd.DataFrame, t: str, fac: gpd.GeoDataFrame, fac_codes: np.ndarray, rulebook: Rulebook
) -> None:
    """Add each unit's floor-area stock of type ``t`` and its m² per 100 households to ``agg``."""
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    members = np.isin(fac["type"].to_numpy(), stock_types(rulebook, t))
    fc = pd.Series(fac_codes[members], dtype=object)
    fa = pd.Series(area[members])
    stock = pd.DataFrame(
        {
            "stock_m2": fa.groupby(fc).sum(min_count=1),
            "stock_facilities": fa.groupby(fc).size(),
            "stock_no_floor_area": fa.isna().groupby(fc).sum(),
        }
    )
    stock = stock.reindex(agg.index)
    n_fac = stock["stock_facilities"].fillna(0)
    n_missing = stock["stock_no_floor_area"].fillna(0)
    # no facility at all: truly 0 m²; facilities whose area is all missing: unknown
    m2 = stock["stock_m2"].where(n_fac > n_missing, np.nan)
    m2 = m2.where(n_fac > 0, 0.0)
    agg["stock_m2"] = m2
    agg["stock_facilities"] = n_fac.astype(int)
    agg["stock_no_floor_area"] = n_missing.astype(int)
    agg["m2_per_100hh"] = 100.0 * m2 / agg["households"].where(agg["households"] > 0)


def _finish_unit_table(table: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Add shares and unit names to a level's table and put its columns in order."""
    table["beyond"] = table["residents"] - table["covered"]
    for col in ("stock_facilities", "stock_no_floor_area"):
        if col in table:
            table[col] = table[col].astype("Int64")
    table["share_covered"] = table["covered"] / table["residents"].where(table["residents"] > 0)
    names = dict(zip(units["code"], units["name"], strict=True))
    table.insert(1, "name", table["code"].map(names))
    return table[[c for c in _UNIT_TABLE_COLUMNS if c in table.columns]]


def _unit_places(units: gpd.GeoDataFrame) -> dict[Any, tuple[float | None, float | None]]:
    """Return one representative point per unit as ``(x, y)`` (None where not drawable)."""
    unit_geoms = np.asarray(units.geometry.values)
    drawable = ~shapely.is_empty(unit_geoms) & shapely.is_valid(unit_geoms)
    rep = shapely.point_on_surface(np.where(drawable, unit_geoms, np.array(None)))
    places: dict[Any, tuple[float | None, float | None]] = {}
    for code, x, y in zip(units["code"], shapely.get_x(rep), shapely.get_y(rep), strict=True):
        drawn = math.isfinite(x) and math.isfinite(y)
        places[code] = (float(x), float(y)) if drawn else (None, None)
    return places


def _judge_units(
    lv: str,
    table: pd.DataFrame,
    units: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    rulebook: Rulebook,
    incomplete: dict[str, list[str]],
    not_judged: dict[str, list[tuple[str, str]]],
) -> list[Finding]:
    """Judge each unit's coverage and floor area against its type's norms.

    Units of a kind the type's norms do not apply to go to ``not_judged``;
    units whose stock lacks floor areas go to ``incomplete``.
    """
    places = _unit_places(units)
    unit_kinds = dict(zip(units["code"], units["kind"], strict=True)) if "kind" in units else {}
    out: list[Finding] = []
    for row in table.to_dict(orient="records"):
        ftype = results[row["type"]].ftype
        kind = _community_kind(lv, unit_kinds.get(row["code"]))
        if kind is not None and kind not in ftype.kinds:
            not_judged.setdefault(row["type"], []).append((str(row["name"] or row["code"]), kind))
            continue
        lon, lat = places.get(row["code"], (None, None))
        if row["residents"] > 0 and row["share_covered"] < settings.audit_short_share:
            out.append(_coverage_shortfall(lv, row, ftype, lon, lat))
        ratio = ftype.m2_per_100_households
        if ratio is None or "m2_per_100hh" not in row or not row["households"] > 0:
            continue
        if row["stock_no_floor_area"] > 0:
            incomplete.setdefault(row["type"], []).append(str(row["name"] or row["code"]))
            continue
        value = row["m2_per_100hh"]
        if np.isfinite(value) and value < ratio:
            out.append(_floor_area_shortfall(lv, row, ftype, ratio, results, rulebook, lon, lat))
    return out


def _coverage_shortfall(
    lv: str, row: dict[str, Any], ftype: FacilityType, lon: float | None, lat: float | None
) -> Finding:
    """Warn that few of a unit's residents live within walking reach of the type."""
    short = settings.audit_short_share
    cut = []
    if row["beyond_search_limit"] > 0:
        cut.append(f"{row['beyond_search_limit']:,.0f} beyond the search limit")
    if row["unreachable"] > 0:
        cut.append(f"{row['unreachable']:,.0f} with no walk to any (network cut)")
    return Finding(
        rule=f"coverage.{row['type']}",
        level=lv,
        severity="warning",
        code=row["code"],
        name=row["name"],
        value=float(row["share_covered"]),
        minimum=short,
        unit="share",
        lon=lon,
        lat=lat,
        source=ftype.radius_source,
        status=ftype.radius_status,
        message=(
            f"{lv} {row['name'] or row['code']}: only {row['share_covered']:.0%} of "
            f"{row['residents']:,.0f} residents live within "
            f"{ftype.service_radius_m:,.0f} m walk of "
            f"{_article(ftype.name.lower())}; {row['beyond']:,.0f} are beyond reach"
            + (f" ({'; '.join(cut)})" if cut else "")
            + f" (farthest {row['farthest']}). Consider a facility nearer them."
        ),
    )


def _floor_area_shortfall(
    lv: str,
    row: dict[str, Any],
    ftype: FacilityType,
    ratio: float,
    results: dict[str, TypeResult],
    rulebook: Rulebook,
    lon: float | None,
    lat: float | None,
) -> Finding:
    """Report a unit whose floor area per 100 households is below the norm ``ratio``."""
    value = row["m2_per_100hh"]
    kinds = " and ".join(
        results[s].ftype.name.lower() if s in results else s.replace("_", " ")
        for s in stock_types(rulebook, row["type"])
    )
    return Finding(
        rule=f"floor_area.{row['type']}",
        level=lv,
        severity=ftype.severity("ratio"),
        code=row["code"],
        name=row["name"],
        value=float(value),
        minimum=ratio,
        deviation=float(value - ratio),
        deviation_pct=float(100 * (value - ratio) / ratio),
        unit="m² per 100 households",
        lon=lon,
        lat=lat,
        source=ftype.ratio_source,
        status=ftype.ratio_status,
        message=(
            f"{lv} {row['name'] or row['code']}: {row['stock_m2']:,.0f} m² of {kinds} space in "
            f"{int(row['stock_facilities'])} facilit"
            f"{'y' if row['stock_facilities'] == 1 else 'ies'} for "
            f"{row['households']:,.0f} households is {value:,.1f} m² per 100 "
            f"households, below the norm of {ratio:g} (all such space in the "
            f"{lv} ÷ its households)."
        ),
    )


_GRID_TO_COMMUNITY_KIND = {"grid": "community", "village_grid": "village"}


def _community_kind(level: str, kind: Any) -> str | None:
    """Return the community kind a unit's kind stands for (None: unknown, judged as urban)."""
    if not isinstance(kind, str):
        return None
    if level == "community":
        return kind
    if level == "grid":
        return _GRID_TO_COMMUNITY_KIND.get(kind)
    return None


def _not_judged_findings(
    not_judged: dict[str, list[tuple[str, str]]], results: dict[str, TypeResult], level: str
) -> list[Finding]:
    """One info finding per facility type naming the units its norms do not apply to.

    A facility type's ``kinds`` say which community kinds its norms apply to
    (urban residents' committees by default): a village is not held to an
    urban norm, so its figures are shown in the tables but not judged.
    """
    out = []
    for t, units in not_judged.items():
        ftype = results[t].ftype
        by_kind = sorted({k for _, k in units})
        out.append(
            Finding(
                rule="facility.not_judged",
                level="district",
                severity="info",
                value=float(len(units)),
                unit=f"{level} units",
                message=(
                    f"{ftype.name} ({t}): {len(units)} {level} unit(s) of kind "
                    f"{', '.join(by_kind)} are not judged against its walking-radius and "
                    f"floor-area norms, which the rulebook applies to "
                    f"{', '.join(ftype.kinds)} only (villages are not held to urban norms): "
                    f"{_names_text([n for n, _ in units])}. Their figures are in the coverage "
                    f"table. To judge them, add their kind to kinds under [facilities.{t}]."
                ),
            )
        )
    return out


def _summarise(
    local: list[Finding], results: dict[str, TypeResult], tables: dict[str, pd.DataFrame]
) -> list[Finding]:
    """Keep per-unit findings where few units fail; one district finding where most do.

    When most units fall short for a facility type the cause is the number of
    facilities, not any one unit; a hundred identical findings would bury the
    rest, so they are folded into one that names the worst units (every unit
    stays in the coverage tables).
    """
    out: list[Finding] = []
    by_rule: dict[str, list[Finding]] = {}
    for f in local:
        by_rule.setdefault(f.rule, []).append(f)
    for rule, group in by_rule.items():
        level = group[0].level
        t = rule.split(".", 1)[1]
        table = tables.get(level)
        n_units = (
            int(((table["type"] == t) & (table["residents"] > 0)).sum())
            if table is not None and len(table)
            else len(group)
        )
        if len(group) <= max(5, n_units // 2):
            out.extend(group)
            continue
        ftype = results[t].ftype
        worst = sorted(group, key=lambda f: f.value if f.value is not None else 0.0)[:5]
        names = ", ".join(
            f"{f.name or f.code} ({f.value:.0%})"
            if rule.startswith("coverage")
            else f"{f.name or f.code} ({f.value:,.1f})"
            for f in worst
        )
        if rule.startswith("coverage"):
            what = (
                f"fewer than {settings.audit_short_share:.0%} of their residents within "
                f"{ftype.service_radius_m:,.0f} m "
                f"walk of {_article(ftype.name.lower())}"
            )
        else:
            what = (
                f"less {ftype.name.lower()} space than "
                f"{ftype.m2_per_100_households:g} m² per 100 households"
            )
        out.append(
            Finding(
                rule=rule,
                level="district",
                severity=group[0].severity,
                value=float(len(group)),
                unit=f"{level} units",
                source=group[0].source,
                status=group[0].status,
                message=(
                    f"{len(group)} of {n_units} {level} units have {what}: too few "
                    f"facilities ({len(results[t].facility_index)}) for the district rather "
                    f"than a few badly placed ones. Worst: {names}. See the coverage table "
                    "for every unit."
                ),
            )
        )
    return out


def _facility_table(
    fac: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    findings: list[Finding],
    metric: pyproj.CRS,
    snap: np.ndarray | None,
    fac_kinds: np.ndarray,
) -> pd.DataFrame:
    lon, lat = pyproj.Transformer.from_crs(metric, 4326, always_xy=True).transform(
        shapely.get_x(fac.geometry.values), shapely.get_y(fac.geometry.values)
    )
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    table = pd.DataFrame(
        {
            "type": fac["type"],
            "name": fac["name"],
            "floor_area_m2": fac["floor_area_m2"],
            # six decimals of a degree are about 0.1 m: enough to find the door
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
        }
    )
    n = len(table)
    min_area = np.full(n, np.nan)
    catchment = np.full(n, np.nan)
    per_100hh = np.full(n, np.nan)
    status = np.full(n, "not audited", dtype=object)
    areas = fac["floor_area_m2"].to_numpy(dtype=float)
    names = fac["name"].to_numpy(dtype=object)
    if snap is not None:
        table["snap_m"] = np.round(snap, 1)
    for t, res in results.items():
        ftype = res.ftype
        for k, j in enumerate(res.facility_index):
            area = areas[j]
            load = (
                float(res.facility_load_households[k])
                if len(res.facility_load_households)
                else np.nan
            )
            catchment[j] = load
            if np.isfinite(area) and load > 0:
                per_100hh[j] = 100.0 * area / load
            name = names[j] or f"#{j}"
            minimum = ftype.min_floor_area_m2
            min_area[j] = minimum if minimum is not None else np.nan
            kind = fac_kinds[j]
            if kind is not None and kind not in ftype.kinds:
                status[j] = f"not judged ({kind}: not held to urban norms)"
            elif not np.isfinite(area):
                status[j] = "no floor area"
            elif minimum is not None and area < minimum:
                status[j] = "below minimum"
                findings.append(
                    Finding(
                        rule=f"facility_size.{t}",
                        level="facility",
                        severity=ftype.severity("floor_area"),
                        code=str(j),
                        name=name,
                        value=float(area),
                        minimum=minimum,
                        deviation=float(area - minimum),
                        deviation_pct=float(100 * (area - minimum) / minimum),
                        unit="m²",
                        lon=float(lon[j]),
                        lat=float(lat[j]),
                        source=ftype.floor_area_source,
                        status=ftype.floor_area_status,
                        message=(
                            f"{ftype.name} {name} has {area:,.0f} m², below the minimum of "
                            f"{minimum:,.0f} m² by {minimum - area:,.0f} m² "
                            f"({100 * (minimum - area) / minimum:.0f}%)."
                        ),
                    )
                )
            else:
                status[j] = "ok"
    table["min_floor_area_m2"] = min_area
    table["catchment_households"] = catchment
    table["m2_per_100hh_in_catchment"] = per_100hh
    table["status"] = status
    if snap is not None:
        table["snap_m"] = table.pop("snap_m")
    return table


def _facility_kinds(district: District, fac_codes: dict[str, np.ndarray]) -> np.ndarray:
    """Return the community kind of the unit each facility lies in (None: unknown)."""
    level = "community" if "community" in district.levels else district.levels[-1]
    units = district.units[level]
    kinds = dict(zip(units["code"], units["kind"], strict=True)) if "kind" in units else {}
    return np.array(
        [_community_kind(level, kinds.get(c)) for c in fac_codes[level]], dtype=object
    )


def _floor_area_matters(rulebook: Rulebook, key: str) -> bool:
    """Return True when some norm or benchmark reads ``key``'s floor area."""
    ftype = rulebook.facilities.get(key)
    if ftype is None:
        return False
    if ftype.min_floor_area_m2 is not None or ftype.m2_per_100_households is not None:
        return True
    if benchmark_of(rulebook, key) is not None:
        return True
    return any(
        key in stock_types(rulebook, other)
        for other, spec in rulebook.facilities.items()
        if spec.m2_per_100_households is not None
    )


def _names_text(names: Sequence[str], k: int = 10) -> str:
    shown = ", ".join(names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


def _missing_floor_area(
    fac: gpd.GeoDataFrame, rulebook: Rulebook, incomplete: dict[str, list[str]]
) -> list[Finding]:
    """One finding per facility type: which facilities have no floor area and what is skipped.

    Missing is not zero: such facilities are left out of every floor-area norm,
    and units whose stock holds one are not judged against the per-household norm.
    """
    out = []
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    for key, ftype in rulebook.facilities.items():
        mine = (fac["type"] == key).to_numpy()
        missing = mine & ~np.isfinite(area)
        if not missing.any() or not _floor_area_matters(rulebook, key):
            continue
        names = [
            str(n) if n else f"#{j}"
            for j, n in zip(np.flatnonzero(missing), fac["name"].to_numpy()[missing], strict=True)
        ]
        skipped = [
            f"{len(units)} unit(s) are not judged against the {other.name.lower()} norm of "
            f"{other.m2_per_100_households:g} m² per 100 households ({_names_text(units, 5)})"
            for other_key, units in incomplete.items()
            if key in stock_types(rulebook, other_key)
            for other in [rulebook.facility(other_key)]
        ]
        out.append(
            Finding(
                rule="facility.no_floor_area",
                level="district",
                severity="info",
                value=float(missing.sum()),
                unit="facilities",
                related=tuple(str(j) for j in np.flatnonzero(missing)),
                message=(
                    f"{ftype.name} ({key}): {int(missing.sum())} of {int(mine.sum())} "
                    f"facilities have no floor area: {_names_text(names)}. They are audited "
                    "for distance only and left out of the floor-area norms and benchmarks "
                    "(not counted as 0 m²)"
                    + (f"; {'; '.join(skipped)}" if skipped else "")
                    + ". Add floor_area_m2 to the facilities layer."
                ),
            )
        )
    return out


def _type_table(
    results: dict[str, TypeResult], dem: gpd.GeoDataFrame, fac: gpd.GeoDataFrame
) -> pd.DataFrame:
    pop = dem["population"].to_numpy(dtype=float)
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    rows = []
    total = float(np.nansum(pop))
    for t, res in results.items():
        cov = float(pop[res.covered].sum())
        reach = res.reach if res.reach is not None else np.zeros(len(pop), dtype=int)
        unreachable = float(pop[reach == UNREACHABLE].sum())
        median = weighted_median(res.distance_m, pop)
        unreach_median = total - unreachable < total / 2.0 * (1.0 - 1e-12)
        areas = area[res.facility_index]
        rows.append(
            {
                "type": t,
                "name": res.ftype.name,
                "name_zh": res.ftype.name_zh,
                "category": res.ftype.category,
                "service_radius_m": res.ftype.service_radius_m,
                "search_limit_m": res.limit_m,
                "facilities": len(res.facility_index),
                "facilities_without_floor_area": int((~np.isfinite(areas)).sum()),
                "mean_floor_area_m2": float(np.nanmean(areas))
                if np.isfinite(areas).any()
                else np.nan,
                "residents": total,
                "covered": cov,
                "share_covered": cov / total if total > 0 else np.nan,
                "beyond": total - cov,
                "beyond_search_limit": float(pop[reach == BEYOND_LIMIT].sum()),
                "unreachable": unreachable,
                "median_distance_m": median if math.isfinite(median) else np.nan,
                "median_distance": distance_text(
                    median, limit_m=res.limit_m, unreachable=unreach_median
                )
                if total > 0
                else "—",
            }
        )
    return pd.DataFrame(rows)


def _category_table(type_table: pd.DataFrame, rulebook: Rulebook) -> pd.DataFrame:
    rows = []
    for key, cat in rulebook.categories.items():
        sub = type_table[type_table["category"] == key] if len(type_table) else type_table
        defined = [f.name for f in rulebook.facilities.values() if f.category == key]
        if len(sub):
            measured, audited = "by facilities", ", ".join(sub["name"])
        elif defined:
            measured = "no facilities of its types in the input"
            audited = ", ".join(defined)
        else:
            measured = "not measured by facilities"
            audited = cat.note or "not measured by facilities"
        rows.append(
            {
                "category": key,
                "name": cat.name,
                "name_zh": cat.name_zh,
                "responsible": cat.responsible,
                "measured": measured,
                "facility_types": audited,
                "note_zh": "" if len(sub) or defined else cat.note_zh,
                "lowest_share_covered": float(sub["share_covered"].min()) if len(sub) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _benchmark_table(
    district: District, fac: gpd.GeoDataFrame, fac_codes: dict[str, np.ndarray], rulebook: Rulebook
) -> pd.DataFrame:
    """Average floor area per facility, for the district and each street, against a benchmark.

    A benchmark is an achieved average (such as Qingdao's 800 m², 2017), not a
    minimum: the table compares, it does not judge. Facilities without a floor
    area are counted but left out of the average.
    """
    rows = []
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    top = district.levels[0]
    names = _unit_names(district, top)
    for key in rulebook.facilities:
        bench = benchmark_of(rulebook, key)
        mine = (fac["type"] == key).to_numpy()
        if bench is None or not mine.any():
            continue
        value, source = bench
        groups: list[tuple[str, Any, Any, np.ndarray]] = [("district", None, None, mine)]
        if top != district.levels[-1] or top == "street":
            for code in district.units[top]["code"]:
                groups.append((top, code, names.get(code), mine & (fac_codes[top] == code)))
        for level, code, name, sel in groups:
            known = sel & np.isfinite(area)
            mean = float(area[known].mean()) if known.any() else np.nan
            rows.append(
                {
                    "type": key,
                    "level": level,
                    "code": code,
                    "name": name,
                    "facilities": int(sel.sum()),
                    "with_floor_area": int(known.sum()),
                    "mean_floor_area_m2": mean,
                    "benchmark_floor_area_m2": value,
                    "difference_m2": mean - value,
                    "share_of_benchmark": mean / value,
                    "benchmark_source": source,
                }
            )
    return pd.DataFrame(rows)


def service_areas(result: CoverageResult) -> gpd.GeoDataFrame:
    """Return each facility type's service area as one geometry (EPSG:4326).

    On a network: the walkable ways within the radius, cut where the walk reaches
    it (:func:`geo.access.service_area.service_lines`; lines, linear in the network).
    Without one: circles of radius / detour around the facilities.
    """
    from geo.access.service_area import service_lines

    rows = []
    for t, res in result.types.items():
        r = res.ftype.service_radius_m
        network = result.network
        if res.node_distance is not None and network is not None:
            geom = service_lines(network.graph, network.x, network.y, res.node_distance, r)
        else:
            fac = result.facilities.iloc[res.facility_index]
            detour = float(result.provenance.get("detour", DEFAULT_DETOUR))
            geom = shapely.union_all(shapely.buffer(fac.geometry.values, r / detour))
            geom = shapely.simplify(geom, 5.0)
        rows.append({"type": t, "name": res.ftype.name, "geometry": geom})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=result.demand.crs)
    return frame.to_crs(4326)


def points_of(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Return an (n, 2) array of point coordinates."""
    return np.column_stack(
        [shapely.get_x(frame.geometry.values), shapely.get_y(frame.geometry.values)]
    )


__all__ = [
    "CoverageResult",
    "audit_coverage",
    "catchments",
    "check_detour",
    "check_network_reaches",
    "facilities_from_osm",
    "nearest_source_distance",
    "normalise_facilities",
    "straight_line_catchments",
    "two_step_provision",
]
