"""Coverage: the audit of who lives within walking reach of each service, and is floor area enough.

:func:`audit_coverage` adapts GeoDataFrames to the array core of
:mod:`geo.access.reach` in named steps: residents and facilities projected and
placed in their units, snapped to the network, each facility type's reach
measured and its floor area shared over its catchments (2SFCA), then the
tables and findings written up (:mod:`geo.access.unit_tables`,
:mod:`geo.access.summaries`). The result is a :class:`CoverageResult`.

Facilities come in through :func:`normalise_facilities` (any layer with a type
column) or :func:`facilities_from_osm` (OSM points of interest tagged as the
rulebook says); :func:`service_areas` draws each type's service area.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo import settings
from geo._progress import Progress
from geo._progress import report as _progress
from geo.access.population import shape_list
from geo.access.reach import (
    BEYOND_LIMIT,
    BEYOND_RADIUS,
    DEFAULT_DETOUR,
    UNREACHABLE,
    WITHIN,
    _facilities_outside_network,
    _island_findings,
    _network_reach,
    _Points,
    _Reach,
    _snap_to_network,
    _Snapped,
    _straight_line_reach,
    _walked_reach,
    check_detour,
    two_step_provision,
)
from geo.access.summaries import (
    _benchmark_table,
    _category_table,
    _facility_kinds,
    _facility_table,
    _missing_floor_area,
    _type_table,
)
from geo.access.unit_tables import _unit_tables
from geo.district.model import District
from geo.errors import (
    ColumnError,
    EmptyInputError,
    GeometryTypeError,
    RulebookError,
)
from geo.findings import Finding, Named, Phrase, Word, worded
from geo.i18n import N_
from geo.rules.rulebook import FacilityType, Rulebook, type_osm_features

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork

logger = logging.getLogger(__name__)


FACILITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "type": ("type", "facility_type", "kind", "类型", "设施类型"),
    "name": ("name", "名称", "设施名称"),
    "floor_area_m2": ("floor_area_m2", "floor_area", "area_m2", "建筑面积", "面积", "gfa"),
    "capacity": ("capacity", "容量", "床位"),
}


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
        raise EmptyInputError.worded(
            N_("The facilities layer has no features. Add the facilities or leave the layer out "
               "to take them from OpenStreetMap.")
        )
    overrides = dict(columns or {})
    lowered = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    found: dict[str, Any] = {}
    for fld, cands in FACILITY_COLUMNS.items():
        if fld in overrides:
            if overrides[fld] not in frame.columns:
                raise ColumnError.worded(
                    N_("Column {column} (given for {field}) is not in the facilities layer."),
                    column=repr(overrides[fld]), field=fld,
                )
            found[fld] = overrides[fld]
            continue
        found[fld] = next((lowered[c] for c in cands if c in lowered), None)
    if found["type"] is None and default_type is None:
        raise ColumnError.worded(
            N_("The facilities layer has no type column (type, facility_type, 类型). Add one "
               "naming each facility's type as in the rulebook, or pass --type TYPE for a layer "
               "of one type.")
        )
    geoms = frame.geometry
    gtypes = set(geoms.geom_type.dropna())
    if not gtypes <= {"Point", "Polygon", "MultiPolygon", "MultiPoint"}:
        raise GeometryTypeError.worded(
            N_("Facilities must be points or polygons, not {kinds}."), kinds=shape_list(gtypes)
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
        reach the district's residents (see :func:`~geo.access.reach._network_reach`).
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
        findings.extend(_facilities_outside_network(pts, snapped.f_off, metric, rulebook))
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
            **worded(
                N_(
                    "The residents to audit add up to zero, so every share below is empty. "
                    "Add population figures to the units (or check the buildings layer)."
                )
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
        template = (
            N_(
                "{n} facility of type {type!r} are not audited: the rulebook has no such type "
                "(it has {known}). Correct the type or add it to the rulebook."
            )
            if n == 1
            else N_(
                "{n} facilities of type {type!r} are not audited: the rulebook has no such type "
                "(it has {known}). Correct the type or add it to the rulebook."
            )
        )
        out.append(
            Finding(
                rule="facility.unknown_type",
                level="district",
                severity="warning",
                value=float(n),
                **worded(template, n=n, type=t, known=", ".join(rulebook.facilities)),
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
        raise RulebookError.worded(
            N_("None of the facilities has a type from the rulebook, so there is nothing to "
               "audit. Types found: {found}; rulebook types: {known}."),
            found=", ".join(present) or Word(N_("none")), known=", ".join(rulebook.facilities),
        )
    return audit_types


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
        _progress(progress, Phrase(N_("{type}: walking distances"), type=ftype.named()),
                  0.1 + 0.8 * k / len(audit_types))
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
                islands.setdefault(key, (island, []))[1].append(ftype.named(lower=True))
    return results, islands


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


def _provenance(
    rulebook: Rulebook,
    network: WalkNetwork | None,
    detour: float,
    population_source: str,
    metric: pyproj.CRS,
) -> dict[str, str]:
    """Describe where the audit's inputs come from and what it approximates.

    The texts are :class:`~geo.findings.Phrase` values: they read in English, and the
    app shows them in the chosen language; names, paths and CRS names stay as they are.
    """
    net_text = (
        network.source
        if network is not None
        else Phrase(N_("none: straight-line distance × {detour:g} (APPROXIMATION)"),
                    detour=detour)
    )
    provenance: dict[str, str] = {} if network is not None else {"detour": f"{detour:g}"}
    provenance |= {
        "rulebook": Phrase(N_("{name} ({path})"), name=Named(rulebook.name, zh=rulebook.name_zh),
                           path=rulebook.path or Word(N_("built in"))),
        "network": net_text,
        "population": population_source or Phrase(N_("unit figures spread over points")),
        "metric_crs": metric.name if hasattr(metric, "name") else str(metric),
        "approximations": (
            Phrase(N_("distances are straight-line × detour factor, not walked on the network"))
            if network is None
            else Phrase(N_("none beyond snapping to the nearest network node (snapping "
                           "distance counted)"))
        ),
        "search_limit": Phrase(
            N_("{factor:g} × each type's service radius; farther residents are shown as "
               "'> limit', residents with no walk to any facility of a type as 'unreachable'"),
            factor=settings.audit_search_factor),
        "floor_area": Phrase(
            N_("m² per 100 households = all floor area of the type's community stock in the "
               "unit ÷ its households (primary); m2_per_100hh_2sfca = floor area shared over "
               "each facility's walking catchment (two-step floating catchment, second view). "
               "Facilities without a floor area are left out and named in the findings.")),
    }
    return provenance


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


__all__ = [
    "FACILITY_COLUMNS",
    "CoverageResult",
    "TypeResult",
    "audit_coverage",
    "facilities_from_osm",
    "normalise_facilities",
    "service_areas",
]
