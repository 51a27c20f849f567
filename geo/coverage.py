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
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geo.errors import ColumnError, EmptyInputError, GeometryTypeError, RulebookError
from geo.findings import Finding
from geo.hierarchy import District
from geo.rules import FacilityType, Rulebook

logger = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""Progress callback: ``(step description, fraction done 0..1)``."""

DEFAULT_DETOUR = 1.3
"""Network distance ≈ straight-line distance × this factor when no network is given."""

REPORT_FACTOR = 3.0
"""Distances are searched up to this multiple of the service radius."""

MAX_SNAP_M = 500.0
"""A facility farther than this from the network is reported as outside it."""

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
    """Type OSM points of interest by the rulebook's ``osm`` tag mapping.

    A feature matching several types takes the first in rulebook order.
    OSM has no floor areas, so they are NaN (audited for distance only).
    """
    types = pd.Series([None] * len(pois), index=pois.index, dtype=object)
    for key, ftype in rulebook.facilities.items():
        for tag, values in ftype.osm:
            if tag not in pois.columns:
                continue
            hit = pois[tag].astype(str).isin(values) & types.isna()
            types[hit] = key
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
    distance_m: np.ndarray  # per demand point; inf beyond the search limit
    covered: np.ndarray  # per demand point
    provision_m2_per_100hh: np.ndarray | None  # per demand point (2SFCA), where floor area known
    facility_load_households: np.ndarray  # households in each facility's catchment
    facility_index: np.ndarray  # rows of the facilities table of this type
    node_distance: np.ndarray | None = None  # per network node, when walked on a network


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
    network: Any | None = None
    notes: list[str] = field(default_factory=list)


def _progress(cb: Progress | None, step: str, frac: float) -> None:
    if cb is not None:
        cb(step, frac)


def _unit_of_demand(district: District, demand: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """Return each demand point's unit code at every level (via parent links)."""
    levels = district.levels
    codes = {levels[-1]: demand["unit_code"].to_numpy(dtype=object)}
    for upper, lower in zip(reversed(levels[:-1]), reversed(levels[1:]), strict=True):
        parent = dict(
            zip(district.units[lower]["code"], district.units[lower]["parent_code"], strict=True)
        )
        codes[upper] = np.array([parent.get(c) for c in codes[lower]], dtype=object)
    return codes


def audit_coverage(
    district: District,
    rulebook: Rulebook,
    *,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    network: Any | None = None,
    types: Sequence[str] | None = None,
    detour: float = DEFAULT_DETOUR,
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
        Residents as points (:func:`geo.population.demand_points`).
    facilities : geopandas.GeoDataFrame
        Normalised facilities (:func:`normalise_facilities`).
    network : geo.network.WalkNetwork, optional
        The walking network. Without it, straight-line distance × ``detour``
        is used and every output says so.
    types : sequence of str, optional
        Facility types to audit; default all types present in ``facilities``.
    population_source : str
        Where the residents come from, for the report.
    progress : callable, optional
        ``progress(step, fraction)`` for long steps.

    Returns
    -------
    CoverageResult
    """
    findings: list[Finding] = []
    metric = district.metric_crs if network is None else network.crs
    dem = demand.to_crs(metric)
    fac = facilities.to_crs(metric).reset_index(drop=True)
    dx, dy = shapely.get_x(dem.geometry.values), shapely.get_y(dem.geometry.values)
    fx, fy = shapely.get_x(fac.geometry.values), shapely.get_y(fac.geometry.values)
    weight_pop = dem["population"].to_numpy(dtype=float)
    weight_hh = dem["households"].to_numpy(dtype=float)
    if len(dem) == 0 or not np.nansum(weight_pop) > 0:
        findings.append(
            Finding(
                rule="coverage.no_residents",
                level="district",
                severity="warning",
                message=(
                    "The residents to audit add up to zero, so every share below is empty. "
                    "Add population figures to the units (or check the buildings layer)."
                ),
            )
        )
    present = list(dict.fromkeys(fac["type"]))
    unknown = [t for t in present if t not in rulebook.facilities]
    for t in unknown:
        n = int((fac["type"] == t).sum())
        findings.append(
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
    approximate = network is None
    if network is not None:
        _progress(progress, "snapping residents and facilities to the network", 0.05)
        d_node, d_off = network.snap(dx, dy)
        f_node, f_off = network.snap(fx, fy)
        labels = network.component_labels()
        far = f_off > MAX_SNAP_M
        for j in np.flatnonzero(far):
            row = fac.iloc[j]
            lon, lat = _lonlat(metric, fx[j], fy[j])
            findings.append(
                Finding(
                    rule="facility.outside_network",
                    level="facility",
                    severity="warning",
                    code=str(j),
                    name=row["name"],
                    value=float(f_off[j]),
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
    results: dict[str, TypeResult] = {}
    islands: dict[tuple[float, int], tuple[np.ndarray, list[str]]] = {}
    for k, t in enumerate(audit_types):
        ftype = rulebook.facility(t)
        idx = np.flatnonzero((fac["type"] == t).to_numpy())
        r = ftype.service_radius_m
        limit = r * REPORT_FACTOR
        _progress(progress, f"{ftype.name}: walking distances", 0.1 + 0.8 * k / len(audit_types))
        if network is not None:
            node_d = nearest_source_distance(network.graph, f_node[idx], f_off[idx], limit_m=limit)
            dist = node_d[d_node] + d_off
            members = catchments(network.graph, f_node[idx], f_off[idx], d_node, d_off, radius_m=r)
        else:
            if len(idx):
                tree = cKDTree(np.column_stack([fx[idx], fy[idx]]))
                dd, _ = tree.query(np.column_stack([dx, dy]))
                dist = dd * detour
            else:
                dist = np.full(len(dem), np.inf)
            members = straight_line_catchments(
                np.column_stack([fx[idx], fy[idx]]),
                np.column_stack([dx, dy]),
                radius_m=r,
                detour=detour,
            )
        dist = np.where(dist > limit, np.inf, dist)
        covered = dist <= r
        area = fac["floor_area_m2"].to_numpy(dtype=float)[idx]
        provision = None
        load_hh = np.array([weight_hh[m].sum() for m in members]) if members else np.zeros(0)
        if ftype.m2_per_100_households is not None and np.isfinite(area).any():
            supply = np.where(np.isfinite(area), area, 0.0)
            prov, load_hh = two_step_provision(members, supply, weight_hh)
            provision = prov * 100.0
        results[t] = TypeResult(
            ftype, dist, covered, provision, load_hh, idx, node_d if network is not None else None
        )
        if network is not None and len(idx):
            reach_labels = set(labels[f_node[idx]])
            island = ~np.isin(labels[d_node], list(reach_labels))
            island_pop = float(weight_pop[island].sum())
            if island_pop > 0:
                key = (round(island_pop, 3), int(island.sum()))
                islands.setdefault(key, (island, []))[1].append(ftype.name.lower())
    for (island_pop, _), (island, names) in islands.items():
        lon, lat = _lonlat(metric, float(np.mean(dx[island])), float(np.mean(dy[island])))
        findings.append(
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
    _progress(progress, "tables and findings", 0.92)
    codes = _unit_of_demand(district, dem)
    unit_tables = _unit_tables(district, dem, results, codes, findings, metric)
    facility_table = _facility_table(
        fac, results, findings, metric, f_off if network is not None else None
    )
    type_table = _type_table(results, dem)
    category_table = _category_table(type_table, rulebook)
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
            if approximate
            else "none beyond snapping to the nearest network node (snapping distance counted)"
        ),
    }
    _progress(progress, "done", 1.0)
    return CoverageResult(
        district=district,
        rulebook=rulebook,
        demand=dem,
        facilities=fac,
        types=results,
        unit_tables=unit_tables,
        facility_table=facility_table,
        type_table=type_table,
        category_table=category_table,
        findings=findings,
        provenance=provenance,
        approximate=approximate,
        network=network,
    )


def _join_or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _lonlat(crs: pyproj.CRS, x: float, y: float) -> tuple[float, float]:
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _unit_tables(
    district: District,
    dem: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    codes: dict[str, np.ndarray],
    findings: list[Finding],
    metric: pyproj.CRS,
) -> dict[str, pd.DataFrame]:
    pop = dem["population"].to_numpy(dtype=float)
    hh = dem["households"].to_numpy(dtype=float)
    tables = {}
    local: list[Finding] = []
    for lv in district.levels:
        units = district.units[lv]
        rows = []
        for t, res in results.items():
            frame = pd.DataFrame(
                {
                    "code": codes[lv],
                    "pop": pop,
                    "hh": hh,
                    "cov": np.where(res.covered, pop, 0.0),
                    "dist": np.where(pop > 0, res.distance_m, -1.0),
                }
            )
            if res.provision_m2_per_100hh is not None:
                frame["prov_hh"] = res.provision_m2_per_100hh * hh
            g = frame.groupby("code", sort=False)
            agg = pd.DataFrame(
                {
                    "residents": g["pop"].sum(),
                    "households": g["hh"].sum(),
                    "covered": g["cov"].sum(),
                    "farthest_m": g["dist"].max(),
                }
            )
            if "prov_hh" in frame:
                agg["m2_per_100hh"] = g["prov_hh"].sum() / agg["households"].where(
                    agg["households"] > 0
                )
            agg["type"] = t
            rows.append(agg.reset_index())
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        if table.empty:
            tables[lv] = table
            continue
        table["beyond"] = table["residents"] - table["covered"]
        table["share_covered"] = table["covered"] / table["residents"].where(table["residents"] > 0)
        names = dict(zip(units["code"], units["name"], strict=True))
        table.insert(1, "name", table["code"].map(names))
        table = table[
            [
                "type",
                "code",
                "name",
                "residents",
                "households",
                "covered",
                "share_covered",
                "beyond",
                "farthest_m",
            ]
            + (["m2_per_100hh"] if "m2_per_100hh" in table else [])
        ]
        tables[lv] = table
        if lv != "community" and not (
            lv == district.levels[-1] and "community" not in district.levels
        ):
            continue
        geoms = dict(zip(units["code"], units.geometry, strict=True))
        for _, row in table.iterrows():
            ftype = results[row["type"]].ftype
            pt = geoms.get(row["code"])
            lon = lat = None
            if pt is not None and pt.is_valid and not pt.is_empty:
                rp = pt.representative_point()
                lon, lat = float(rp.x), float(rp.y)
            if row["residents"] > 0 and row["share_covered"] < 0.5:
                far = (
                    "beyond the search limit"
                    if not math.isfinite(row["farthest_m"])
                    else f"{row['farthest_m']:,.0f} m"
                )
                local.append(
                    Finding(
                        rule=f"coverage.{row['type']}",
                        level=lv,
                        severity="warning",
                        code=row["code"],
                        name=row["name"],
                        value=float(row["share_covered"]),
                        minimum=0.5,
                        unit="share",
                        lon=lon,
                        lat=lat,
                        source=ftype.radius_source,
                        status=ftype.radius_status,
                        message=(
                            f"{lv} {row['name'] or row['code']}: only "
                            f"{row['share_covered']:.0%} of {row['residents']:,.0f} residents "
                            f"live within {ftype.service_radius_m:,.0f} m walk of "
                            f"{_a(ftype.name.lower())}; {row['beyond']:,.0f} are beyond reach "
                            f"(farthest {far}). Consider a facility nearer them."
                        ),
                    )
                )
            ratio = ftype.m2_per_100_households
            if (
                ratio is not None
                and "m2_per_100hh" in row
                and row["households"] > 0
                and np.isfinite(row["m2_per_100hh"])
                and row["m2_per_100hh"] < ratio
            ):
                local.append(
                    Finding(
                        rule=f"floor_area.{row['type']}",
                        level=lv,
                        severity="warning" if ftype.ratio_status == "unconfirmed" else "error",
                        code=row["code"],
                        name=row["name"],
                        value=float(row["m2_per_100hh"]),
                        minimum=ratio,
                        deviation=float(row["m2_per_100hh"] - ratio),
                        deviation_pct=float(100 * (row["m2_per_100hh"] - ratio) / ratio),
                        unit="m² per 100 households",
                        lon=lon,
                        lat=lat,
                        source=ftype.ratio_source,
                        status=ftype.ratio_status,
                        message=(
                            f"{lv} {row['name'] or row['code']}: {ftype.name.lower()} floor "
                            f"area reaching its residents is {row['m2_per_100hh']:,.1f} m² per "
                            f"100 households, below the norm of {ratio:g} (shared over each "
                            "facility's catchment)."
                        ),
                    )
                )
    findings.extend(_summarise(local, results, tables))
    return tables


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
                f"fewer than half of their residents within {ftype.service_radius_m:,.0f} m "
                f"walk of {_a(ftype.name.lower())}"
            )
        else:
            what = (
                f"less {ftype.name.lower()} floor area than "
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
) -> pd.DataFrame:
    lon, lat = pyproj.Transformer.from_crs(metric, 4326, always_xy=True).transform(
        shapely.get_x(fac.geometry.values), shapely.get_y(fac.geometry.values)
    )
    table = pd.DataFrame(
        {
            "type": fac["type"],
            "name": fac["name"],
            "floor_area_m2": fac["floor_area_m2"],
            "lon": lon,
            "lat": lat,
        }
    )
    table["min_floor_area_m2"] = np.nan
    table["catchment_households"] = np.nan
    table["m2_per_100hh_in_catchment"] = np.nan
    table["status"] = "not audited"
    if snap is not None:
        table["snap_m"] = snap
    for t, res in results.items():
        ftype = res.ftype
        for k, j in enumerate(res.facility_index):
            area = fac["floor_area_m2"].iloc[j]
            load = (
                float(res.facility_load_households[k])
                if len(res.facility_load_households)
                else np.nan
            )
            table.loc[j, "catchment_households"] = load
            if np.isfinite(area) and load > 0:
                table.loc[j, "m2_per_100hh_in_catchment"] = 100.0 * area / load
            name = fac["name"].iloc[j] or f"#{j}"
            minimum = ftype.min_floor_area_m2
            table.loc[j, "min_floor_area_m2"] = minimum if minimum is not None else np.nan
            if not np.isfinite(area):
                table.loc[j, "status"] = "no floor area"
                findings.append(
                    Finding(
                        rule="facility.no_floor_area",
                        level="facility",
                        severity="info",
                        code=str(j),
                        name=name,
                        lon=float(lon[j]),
                        lat=float(lat[j]),
                        message=(
                            f"{ftype.name} {name} has no floor area, so it is audited for "
                            "distance only and left out of floor-area shares. Add floor_area_m2 "
                            "to the facilities layer."
                        ),
                    )
                )
            elif minimum is not None and area < minimum:
                table.loc[j, "status"] = "below minimum"
                findings.append(
                    Finding(
                        rule=f"facility_size.{t}",
                        level="facility",
                        severity="warning" if ftype.floor_area_status == "unconfirmed" else "error",
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
                table.loc[j, "status"] = "ok"
    return table


def _type_table(results: dict[str, TypeResult], dem: gpd.GeoDataFrame) -> pd.DataFrame:
    pop = dem["population"].to_numpy(dtype=float)
    rows = []
    total = float(pop.sum())
    for t, res in results.items():
        cov = float(pop[res.covered].sum())
        reach = res.distance_m[pop > 0]
        rows.append(
            {
                "type": t,
                "name": res.ftype.name,
                "name_zh": res.ftype.name_zh,
                "category": res.ftype.category,
                "service_radius_m": res.ftype.service_radius_m,
                "facilities": len(res.facility_index),
                "residents": total,
                "covered": cov,
                "share_covered": cov / total if total > 0 else np.nan,
                "beyond": total - cov,
                "median_distance_m": float(np.median(reach)) if len(reach) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _category_table(type_table: pd.DataFrame, rulebook: Rulebook) -> pd.DataFrame:
    rows = []
    for key, cat in rulebook.categories.items():
        sub = type_table[type_table["category"] == key] if len(type_table) else type_table
        audited = ", ".join(sub["name"]) if len(sub) else ""
        worst = float(sub["share_covered"].min()) if len(sub) else np.nan
        rows.append(
            {
                "category": key,
                "name": cat.name,
                "name_zh": cat.name_zh,
                "responsible": cat.responsible,
                "facility_types": audited,
                "lowest_share_covered": worst,
            }
        )
    return pd.DataFrame(rows)


def service_areas(result: CoverageResult, *, buffer_m: float = 40.0) -> gpd.GeoDataFrame:
    """Return each facility type's service area as one polygon (EPSG:4326).

    On a network: the nodes within the radius, each widened by ``buffer_m``
    and joined. Without one: circles of radius / detour around the facilities.
    """
    rows = []
    for t, res in result.types.items():
        r = res.ftype.service_radius_m
        network = result.network
        if res.node_distance is not None and network is not None:
            near = np.flatnonzero(res.node_distance <= r)
            pts = shapely.points(network.x[near], network.y[near])
            geom = shapely.union_all(shapely.buffer(pts, buffer_m, quad_segs=4))
        else:
            fac = result.facilities.iloc[res.facility_index]
            detour = float(result.provenance.get("detour", DEFAULT_DETOUR))
            geom = shapely.union_all(shapely.buffer(fac.geometry.values, r / detour))
        rows.append({"type": t, "name": res.ftype.name, "geometry": shapely.simplify(geom, 5.0)})
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
    "facilities_from_osm",
    "nearest_source_distance",
    "normalise_facilities",
    "straight_line_catchments",
    "two_step_provision",
]
