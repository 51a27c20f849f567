"""Residents as points: the demand side of a coverage audit.

A unit's population is split over points inside it:

* **Buildings** (dasymetric): each building's centroid gets a share of its
  unit's residents in proportion to footprint area × floors (floors default
  to 1 where unknown). A unit without buildings falls back to the next rule.
* **Spread**: points on a regular lattice inside the unit (at least one, the
  unit's representative point), sharing its residents equally.

Population is conserved exactly: the points of a unit sum to the unit's
figure (up to floating-point rounding), which the tests check.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.errors import ColumnError, EmptyInputError, GeometryTypeError
from geo.findings import Phrase, Word
from geo.i18n import N_
from geo.io import GEOMETRY_TYPES

logger = logging.getLogger(__name__)

FLOOR_COLUMNS = ("floors", "building:levels", "building_levels", "levels", "层数", "楼层数")
"""Columns read as a building's number of floors."""

HEIGHT_COLUMNS = ("height", "高度")
"""Columns read as height in metres when no floor count is given (3 m a floor)."""

DEMAND_COLUMNS = ("x", "y", "lon", "lat", "population", "households", "unit_code", "method")

SHAPES: dict[str, str] = {
    **GEOMETRY_TYPES,
    "Polygon": Word(N_("Polygon")),
    "MultiPolygon": Word(N_("MultiPolygon")),
}
"""Geometry kinds as words of the interface, for messages naming the shapes a layer holds."""


def shape_list(kinds: set[str]) -> Phrase:
    """Return geometry kinds (``LineString``, ``Point``) sorted and joined by commas, as words."""
    return Phrase.joined([SHAPES.get(k, k) for k in sorted(kinds)], ", ")


def _floors(buildings: pd.DataFrame) -> np.ndarray:
    n = len(buildings)
    floors = np.full(n, np.nan)
    for col in FLOOR_COLUMNS:
        if col in buildings.columns:
            vals = pd.to_numeric(buildings[col], errors="coerce").to_numpy(dtype=float)
            floors = np.where(np.isnan(floors), vals, floors)
    for col in HEIGHT_COLUMNS:
        if col in buildings.columns:
            h = pd.to_numeric(
                buildings[col].astype(str).str.extract(r"([\d.]+)")[0], errors="coerce"
            ).to_numpy(dtype=float)
            floors = np.where(np.isnan(floors), np.round(h / 3.0), floors)
    floors = np.where(~np.isfinite(floors) | (floors < 1), 1.0, floors)
    return floors


def _lattice_points(geom: shapely.Geometry, spacing_m: float) -> np.ndarray:
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(minx + spacing_m / 2, maxx, spacing_m)
    ys = np.arange(miny + spacing_m / 2, maxy, spacing_m)
    if len(xs) and len(ys):
        gx, gy = np.meshgrid(xs, ys)
        pts = shapely.points(gx.ravel(), gy.ravel())
        inside = shapely.contains_xy(geom, gx.ravel(), gy.ravel())
        pts = pts[inside]
        if len(pts):
            return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    rep = geom.representative_point()
    return np.array([[rep.x, rep.y]])


def demand_points(
    units: gpd.GeoDataFrame,
    *,
    metric_crs: pyproj.CRS,
    buildings: gpd.GeoDataFrame | None = None,
    spacing_m: float = 100.0,
    household_size: float | None = None,
) -> gpd.GeoDataFrame:
    """Return residents as weighted points, each tied to the unit it lies in.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The finest level with ``code``, ``population`` and ``households``
        (as in :attr:`geo.district.model.District.units`). Units without a
        population contribute no demand.
    metric_crs : pyproj.CRS
        CRS for footprints and lattice spacing.
    buildings : geopandas.GeoDataFrame, optional
        Building footprints (polygons) or points; a floors column
        (:data:`FLOOR_COLUMNS`) or height (:data:`HEIGHT_COLUMNS`) is used
        where present.
    spacing_m : float
        Lattice spacing for units without buildings.
    household_size : float, optional
        Persons per household for points' households when a unit has none.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in ``metric_crs`` with columns ``x``, ``y``, ``lon``, ``lat``,
        ``population``, ``households``, ``unit_code`` and ``method``
        (``buildings`` or ``spread``).
    """
    if "population" not in units.columns or "code" not in units.columns:
        raise ColumnError.worded(
            N_("units need code and population columns; build them with "
               "geo.district.hierarchy.build_district.")
        )
    um = units.to_crs(metric_crs).reset_index(drop=True)
    pop = um["population"].astype(float).to_numpy()
    hh = (
        um["households"].astype(float).to_numpy()
        if "households" in um.columns
        else np.full(len(um), np.nan)
    )
    if household_size:
        hh = np.where(np.isnan(hh), pop / household_size, hh)
    valid = shapely.is_valid(um.geometry.values) & ~shapely.is_empty(um.geometry.values)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    pops: list[np.ndarray] = []
    hhs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    methods: list[np.ndarray] = []
    have_buildings = np.zeros(len(um), dtype=bool)
    if buildings is not None and len(buildings):
        bm = buildings.to_crs(metric_crs)
        gtypes = set(bm.geom_type.dropna())
        if not gtypes <= {"Polygon", "MultiPolygon", "Point"}:
            raise GeometryTypeError.worded(
                N_("Buildings must be polygons or points, not {kinds}. Remove the other shapes."),
                kinds=shape_list(gtypes),
            )
        polys = bm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
        area = np.where(polys, bm.geometry.area.to_numpy(), 1.0)
        weight = area * _floors(bm)
        cent = bm.geometry.centroid if polys.any() else bm.geometry
        cx, cy = shapely.get_x(cent.values), shapely.get_y(cent.values)
        tree = shapely.STRtree(um.geometry.values)
        b_idx, u_idx = tree.query(cent.values, predicate="within")
        # a centroid on a shared edge can fall in two units: keep the first
        first = ~pd.Series(b_idx).duplicated().to_numpy()
        b_idx, u_idx = b_idx[first], u_idx[first]
        if len(b_idx):
            w = weight[b_idx]
            totals = np.bincount(u_idx, weights=w, minlength=len(um))
            ok = (totals[u_idx] > 0) & np.isfinite(pop[u_idx])
            b_idx, u_idx, w = b_idx[ok], u_idx[ok], w[ok]
            share = w / totals[u_idx]
            have_buildings[np.unique(u_idx)] = True
            xs.append(cx[b_idx])
            ys.append(cy[b_idx])
            pops.append(pop[u_idx] * share)
            hhs.append(hh[u_idx] * share)
            codes.append(um["code"].to_numpy()[u_idx])
            methods.append(np.full(len(b_idx), "buildings", dtype=object))
    for i in np.flatnonzero(~have_buildings & valid & np.isfinite(pop)):
        pts = _lattice_points(um.geometry.iloc[i], spacing_m)
        k = len(pts)
        xs.append(pts[:, 0])
        ys.append(pts[:, 1])
        pops.append(np.full(k, pop[i] / k))
        hhs.append(np.full(k, hh[i] / k))
        codes.append(np.full(k, um["code"].iloc[i], dtype=object))
        methods.append(np.full(k, "spread", dtype=object))
    if not xs:
        raise EmptyInputError.worded(
            N_("No unit has both a population and a valid shape, so there are no residents to "
               "audit. Add population figures to the units.")
        )
    x, y = np.concatenate(xs), np.concatenate(ys)
    lon, lat = pyproj.Transformer.from_crs(metric_crs, 4326, always_xy=True).transform(x, y)
    frame = gpd.GeoDataFrame(
        {
            "x": x,
            "y": y,
            "lon": lon,
            "lat": lat,
            "population": np.concatenate(pops),
            "households": np.concatenate(hhs),
            "unit_code": np.concatenate(codes),
            "method": np.concatenate(methods),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=metric_crs,
    )
    n_build = int(have_buildings.sum())
    logger.info(
        "demand: %d points; %d unit(s) by buildings, %d spread",
        len(frame),
        n_build,
        int((~have_buildings & valid & np.isfinite(pop)).sum()),
    )
    return frame
