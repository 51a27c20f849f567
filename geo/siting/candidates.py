"""What siting starts from: candidate sites, residents as points, and who each candidate reaches.

Candidates come from a layer (:func:`candidates_from_layer`), from the
district's buildings (:func:`candidates_from_buildings`) or from a lattice over
the district (:func:`candidates_from_grid`). :func:`~geo.siting.api.propose_sites`
then places the residents (:func:`_place_residents`), reads and snaps the
candidates (:func:`_read_candidates`) and measures, on the walking network or in
straight lines, who is covered already and which residents not yet covered each
candidate reaches (:func:`_walking_reach`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from geo._progress import Progress
from geo._progress import report as _progress
from geo.access.coverage import FACILITY_COLUMNS
from geo.access.population import _floors, demand_points
from geo.access.reach import (
    MAX_SNAP_M,
    catchments,
    check_network_reaches,
    nearest_source_distance,
    straight_line_catchments,
)
from geo.district.model import District
from geo.errors import EmptyInputError, GeometryTypeError, InputError, RulebookError
from geo.findings import Phrase, Word
from geo.i18n import N_
from geo.io import GEOMETRY_TYPES
from geo.rules.rulebook import FacilityType

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork


CANDIDATE_ID_COLUMNS = ("id", "candidate_id", "code", "osm_id", "osmid", "编号", "代码")
"""Columns read as a candidate's identifier in a candidates layer."""

_GEOMETRY_TYPES: dict[str, str] = {
    **GEOMETRY_TYPES,
    "Polygon": Word(N_("Polygon")),
    "MultiPolygon": Word(N_("MultiPolygon")),
}
"""Geometry kinds named when candidates are neither points nor polygons, as interface words."""


def _column(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _names(values: Any) -> pd.Series:
    """Names as objects, missing ones None (pandas would make them NaN strings)."""
    return pd.Series(
        [v if isinstance(v, str) and v.strip() else None for v in values], dtype=object
    )


def _candidate_frame(
    ids: Any, names: Any, floor_area: Any, geometry: Any, crs: Any, source: str
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "candidate_id": pd.Series(ids, dtype=object).astype(str).to_numpy(),
            "name": _names(names),
            "floor_area_m2": np.asarray(floor_area, dtype=float),
            "source": source,
        },
        geometry=geometry,
        crs=crs,
    ).reset_index(drop=True)


def candidates_from_grid(district: District) -> gpd.GeoDataFrame:
    """Return one candidate per finest unit (grid): its centroid, or a point inside it.

    Parameters
    ----------
    district : District
        The district; its finest level gives the candidates.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the district's metric CRS with ``candidate_id`` (the unit
        code), ``name``, ``floor_area_m2`` (NaN: unknown) and ``source``.
    """
    units = district.metric(district.building_block)
    geoms = units.geometry.values
    cent = shapely.centroid(geoms)
    inside = shapely.contains(geoms, cent)
    pts = np.where(inside, cent, shapely.point_on_surface(geoms))
    ok = ~shapely.is_empty(geoms) & shapely.is_valid(geoms)
    names = units["name"] if "name" in units.columns else pd.Series([None] * len(units))
    return _candidate_frame(
        units["code"][ok],
        names[ok],
        np.full(int(ok.sum()), np.nan),
        pts[ok],
        district.metric_crs,
        district.building_block,
    )


def candidates_from_buildings(
    buildings: gpd.GeoDataFrame, *, min_floor_area_m2: float | None, metric_crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    """Return the buildings large enough for a facility as candidates.

    Floor area is a ``floor_area_m2`` column where present, otherwise the
    footprint times the floors (a floors or height column, else 1 floor).

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Building footprints (polygons), or points with a floor area column.
    min_floor_area_m2 : float or None
        Keep buildings with at least this floor area (None keeps all).
    metric_crs : pyproj.CRS
        CRS for footprint areas.

    Returns
    -------
    geopandas.GeoDataFrame
        Points (inside each building) in ``metric_crs``, as
        :func:`candidates_from_grid`.

    Raises
    ------
    EmptyInputError
        When no building is large enough.
    """
    if buildings is None or len(buildings) == 0:
        raise EmptyInputError.worded(
            N_(
                "Candidates from buildings need a buildings layer, and none was given. Pass "
                "--buildings FILE or --osm FILE.osm.pbf, or use --candidates grid."
            )
        )
    bm = buildings.to_crs(metric_crs).reset_index(drop=True)
    polys = bm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    area_col = _column(bm, FACILITY_COLUMNS["floor_area_m2"])
    given = (
        pd.to_numeric(bm[area_col], errors="coerce").to_numpy(dtype=float)
        if area_col is not None
        else np.full(len(bm), np.nan)
    )
    footprint = np.where(polys, bm.geometry.area.to_numpy(), np.nan)
    floor_area = np.where(np.isfinite(given), given, footprint * _floors(bm))
    keep = np.isfinite(floor_area)
    if min_floor_area_m2 is not None:
        keep &= floor_area >= min_floor_area_m2
    if not keep.any():
        largest = np.nanmax(floor_area) if np.isfinite(floor_area).any() else math.nan
        raise EmptyInputError.worded(
            N_(
                "No building has the {needed:,.0f} m² of floor area a facility needs (footprint "
                "× floors; the largest has {largest:,.0f} m²), so there are no candidates. Give "
                "a candidates layer (--candidates FILE) or use --candidates grid."
            ),
            needed=min_floor_area_m2 or 0,
            largest=largest,
        )
    id_col = _column(bm, CANDIDATE_ID_COLUMNS)
    name_col = _column(bm, FACILITY_COLUMNS["name"])
    idx = np.flatnonzero(keep)
    ids = bm[id_col].to_numpy()[idx] if id_col else [f"building {i}" for i in idx]
    names = bm[name_col].to_numpy()[idx] if name_col else [None] * len(idx)
    pts = shapely.point_on_surface(bm.geometry.values[idx])
    return _candidate_frame(ids, names, floor_area[idx], pts, metric_crs, "buildings")


def candidates_from_layer(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a candidates layer (points or polygons) in a common form.

    ``candidate_id`` comes from an ``id``/``code`` column (else the row
    number), ``name`` and ``floor_area_m2`` from the columns the facilities
    layer uses (:data:`geo.access.coverage.FACILITY_COLUMNS`). Polygons become a
    point inside them.

    Raises
    ------
    EmptyInputError, GeometryTypeError
    """
    if frame is None or len(frame) == 0:
        raise EmptyInputError.worded(
            N_(
                "The candidates layer has no features, so there is nowhere to propose a site. "
                "Give a layer of candidate sites or use --candidates grid."
            )
        )
    gtypes = set(frame.geom_type.dropna())
    if not gtypes <= {"Point", "Polygon", "MultiPolygon", "MultiPoint"}:
        raise GeometryTypeError.worded(
            N_("Candidate sites must be points or polygons, not {types}."),
            types=Phrase.joined([_GEOMETRY_TYPES.get(t, t) for t in sorted(gtypes)], ", "),
        )
    frame = frame.reset_index(drop=True)
    usable = frame.geometry.notna().to_numpy() & ~frame.geometry.is_empty.to_numpy()
    if not usable.any():
        raise EmptyInputError.worded(
            N_("No candidate site in the layer has a location; check its geometry.")
        )
    frame = frame[usable].reset_index(drop=True)
    id_col = _column(frame, CANDIDATE_ID_COLUMNS)
    name_col = _column(frame, FACILITY_COLUMNS["name"])
    area_col = _column(frame, FACILITY_COLUMNS["floor_area_m2"])
    area = (
        pd.to_numeric(frame[area_col], errors="coerce").to_numpy(dtype=float)
        if area_col is not None
        else np.full(len(frame), np.nan)
    )
    area = np.where(area >= 0, area, np.nan)
    ids = frame[id_col].to_numpy() if id_col else [f"#{i}" for i in range(len(frame))]
    names = frame[name_col].to_numpy() if name_col else [None] * len(frame)
    pts = frame.geometry.representative_point().values
    return _candidate_frame(ids, names, area, pts, frame.crs, "layer")


def _households(demand: gpd.GeoDataFrame, pop: np.ndarray, household_size: float) -> np.ndarray:
    hh = (
        pd.to_numeric(demand["households"], errors="coerce").to_numpy(dtype=float)
        if "households" in demand.columns
        else np.full(len(pop), np.nan)
    )
    return np.where(np.isfinite(hh) & (hh >= 0), hh, pop / household_size)



@dataclass
class _Residents:
    """Residents as points in the metric CRS: what siting serves."""

    frame: gpd.GeoDataFrame
    pop: np.ndarray
    households: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def total(self) -> float:
        return float(self.pop.sum())


@dataclass
class _Candidates:
    """Candidate sites in the metric CRS, with their floor areas and capacities."""

    frame: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    how: str
    move_to_node: bool
    area: np.ndarray
    assumed: np.ndarray
    capacity_hh: np.ndarray | None
    snap_m: np.ndarray
    node: np.ndarray | None = None
    offset: np.ndarray | None = None


@dataclass
class _Reach:
    """Who is covered already, and which residents not yet covered each candidate reaches."""

    covered_before: np.ndarray
    uncovered: np.ndarray
    sets: list[np.ndarray]
    reachable: np.ndarray
    beyond: float
    n_existing: int

    def covered_weight(self, pop: np.ndarray) -> float:
        return float(pop[self.covered_before].sum())


def _place_residents(
    district: District,
    demand: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None,
    metric: Any,
    household_size: float,
) -> _Residents:
    """Place residents as points, given or split over buildings or a lattice (step 1)."""
    if demand is None:
        demand = demand_points(
            district.units[district.building_block],
            metric_crs=district.metric_crs,
            buildings=buildings,
            household_size=household_size,
        )
    dem = demand.to_crs(metric).reset_index(drop=True)
    pop = pd.to_numeric(dem["population"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    pop = np.where(pop > 0, pop, 0.0)
    if not float(pop.sum()) > 0:
        raise InputError.worded(
            N_(
                "The residents add up to zero, so there is no one to site a facility for. Add "
                "population figures to the units."
            )
        )
    return _Residents(
        frame=dem,
        pop=pop,
        households=_households(dem, pop, household_size),
        x=shapely.get_x(dem.geometry.values),
        y=shapely.get_y(dem.geometry.values),
    )


def _read_candidates(
    candidates: str | gpd.GeoDataFrame,
    district: District,
    buildings: gpd.GeoDataFrame | None,
    ftype: FacilityType,
    *,
    metric: Any,
    has_network: bool,
    k: int | None,
    capacity: bool,
    notes: list[str],
) -> _Candidates:
    """Read the candidate sites, their floor areas and households served (step 2)."""
    move_to_node = False
    if isinstance(candidates, str):
        if candidates == "grid":
            cand = candidates_from_grid(district)
            move_to_node = has_network
            how: str = Phrase(
                N_("{level} centroids moved to the nearest walkable node")
                if move_to_node
                else N_("{level} centroids"),
                level=Word(district.building_block),
            )
        elif candidates == "buildings":
            cand = candidates_from_buildings(
                buildings, min_floor_area_m2=ftype.min_floor_area_m2, metric_crs=metric
            )
            how = Phrase(
                N_("buildings with footprint × floors of at least {area:,.0f} m²"),
                area=ftype.min_floor_area_m2 or 0,
            )
        else:
            raise InputError.worded(
                N_("candidates must be {grid}, {buildings} or a layer of sites, not {value}."),
                grid=repr("grid"),
                buildings=repr("buildings"),
                value=repr(candidates),
            )
    else:
        cand = candidates_from_layer(candidates)
        how = Word(N_("the candidates layer"))
    if cand.crs is None:
        raise InputError.worded(
            N_("The candidates layer has no CRS; give one (e.g. {example})."),
            example="EPSG:4326",
        )
    cand = cand.to_crs(metric)
    n_cand = len(cand)
    if n_cand == 0:
        raise EmptyInputError.worded(
            N_(
                "There are no candidate sites, so no site can be proposed. Give a candidates "
                "layer or use --candidates grid."
            )
        )
    if k is not None and k > n_cand:
        raise InputError.worded(
            N_(
                "{k} new sites were asked for but there are only {n:,} candidates ({how}); ask "
                "for fewer, or give more candidates."
            ),
            k=k,
            n=n_cand,
            how=how,
        )
    area = cand["floor_area_m2"].to_numpy(dtype=float)
    assumed = ~np.isfinite(area)
    if capacity and assumed.any():
        if ftype.min_floor_area_m2 is None:
            raise RulebookError.worded(
                N_(
                    "{n:,} candidates have no floor area and {facility_type} has no {key} in the "
                    "rulebook to assume. Give {column} in the candidates layer, or add the "
                    "minimum to the rulebook."
                ),
                n=int(assumed.sum()),
                facility_type=ftype.named(),
                key="min_floor_area_m2",
                column="floor_area_m2",
            )
        area = np.where(assumed, ftype.min_floor_area_m2, area)
        notes.append(Phrase(
            N_("{n:,} of {total:,} candidates have no floor area and are assumed to have the "
               "type's minimum of {minimum:,.0f} m² ({source})."),
            n=int(assumed.sum()), total=n_cand, minimum=ftype.min_floor_area_m2,
            source=ftype.floor_area_source or Word(N_("rulebook"))))
    ratio = ftype.m2_per_100_households
    return _Candidates(
        frame=cand,
        x=shapely.get_x(cand.geometry.values),
        y=shapely.get_y(cand.geometry.values),
        how=how,
        move_to_node=move_to_node,
        area=area,
        assumed=assumed,
        capacity_hh=area / ratio * 100.0 if capacity and ratio else None,
        snap_m=np.zeros(n_cand),
    )


def _walking_reach(
    res: _Residents,
    cand: _Candidates,
    existing: gpd.GeoDataFrame | None,
    *,
    network: WalkNetwork | None,
    radius_m: float,
    detour: float,
    notes: list[str],
    progress: Progress | None,
) -> _Reach:
    """Find whom the existing facilities cover and whom each candidate would reach (steps 3–4).

    With a network, residents, candidates and facilities are snapped to it (grid
    candidates move onto their node); without one, straight-line distance × ``detour``.
    """
    n_existing = 0 if existing is None else len(existing)
    n_cand = len(cand.frame)
    d_node = d_off = None
    if network is not None:
        d_node, d_off = network.snap(res.x, res.y)
        check_network_reaches(network, res.frame, d_off)  # a network that misses: refuse
        c_node, c_off = network.snap(cand.x, cand.y)
        cand.snap_m = c_off.copy()
        if cand.move_to_node:
            cand.x, cand.y = network.x[c_node].copy(), network.y[c_node].copy()
            c_off = np.zeros(n_cand)
        cand.node, cand.offset = c_node, c_off
        far = int((c_off > MAX_SNAP_M).sum())
        if far:
            notes.append(Phrase(
                N_("{far:,} candidates lie more than {limit:,.0f} m from the walking network; "
                   "the gap is counted as walking, so they reach few residents."),
                far=far, limit=MAX_SNAP_M))
    dist = np.full(len(res.frame), np.inf)
    if n_existing:
        assert existing is not None
        fx, fy = shapely.get_x(existing.geometry.values), shapely.get_y(existing.geometry.values)
        if network is not None:
            f_node, f_off = network.snap(fx, fy)
            node_d = nearest_source_distance(network.graph, f_node, f_off, limit_m=radius_m)
            dist = node_d[d_node] + d_off
        else:
            dd, _ = cKDTree(np.column_stack([fx, fy])).query(np.column_stack([res.x, res.y]))
            dist = dd * detour
    pop = res.pop
    covered_before = (dist <= radius_m) & (pop > 0)
    unc = np.flatnonzero(~covered_before & (pop > 0))

    _progress(progress, "walking reach of each candidate", 0.35)
    sets: list[np.ndarray]
    if len(unc) == 0:
        sets = [np.zeros(0, dtype=np.int64) for _ in range(n_cand)]
    elif network is not None:
        assert d_node is not None and d_off is not None
        assert cand.node is not None and cand.offset is not None
        sets = catchments(
            network.graph, cand.node, cand.offset, d_node[unc], d_off[unc], radius_m=radius_m
        )
    else:
        sets = straight_line_catchments(
            np.column_stack([cand.x, cand.y]),
            np.column_stack([res.x[unc], res.y[unc]]),
            radius_m=radius_m,
            detour=detour,
        )
    w_unc = pop[unc]
    any_reach = np.zeros(len(unc), dtype=bool)
    for s in sets:
        any_reach[s] = True
    return _Reach(
        covered_before=covered_before,
        uncovered=unc,
        sets=sets,
        reachable=np.array([float(w_unc[s].sum()) for s in sets]),
        beyond=float(w_unc[~any_reach].sum()),
        n_existing=n_existing,
    )


__all__ = [
    "CANDIDATE_ID_COLUMNS",
    "candidates_from_buildings",
    "candidates_from_grid",
    "candidates_from_layer",
]
