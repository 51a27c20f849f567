"""Coordinate reference systems: metric CRS choice, areas, lon/lat sanity checks, GCJ-02/BD-09.

Planners' data arrives in many shapes: WGS 84 lon/lat from OpenStreetMap, CGCS2000
Gauss-Krüger metres from the survey bureau, GCJ-02 from Amap/Tencent and BD-09 from
Baidu. This module turns all of them into EPSG:4326, says clearly what is wrong when a
file's coordinates do not match its (missing) CRS, and picks a metric CRS in which
areas come out within 0.1 % of the geodesic area.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import (
    AlbersEqualAreaConversion,
    LambertAzimuthalEqualAreaConversion,
)

from geo._format import approx
from geo.errors import CRSError
from geo.findings import Phrase, Word
from geo.i18n import N_


def _coord_text(value: float) -> str:
    return approx(value, 4, large=1000, strip=True)

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
GeoT = TypeVar("GeoT", gpd.GeoDataFrame, gpd.GeoSeries)

CGCS2000: pyproj.CRS = pyproj.CRS.from_epsg(4490)
"""China Geodetic Coordinate System 2000, geographic (EPSG:4490)."""

WGS84: pyproj.CRS = pyproj.CRS.from_epsg(4326)
"""WGS 84 geographic (EPSG:4326), the CRS every layer is converted to."""

MAX_ZONE_WIDTH_DEG: float = 6.0
"""Extents wider than this (degrees of longitude) get an equal-area CRS instead of a zone."""

CHINA_LON_RANGE: tuple[float, float] = (73.5, 136.5)
"""Longitudes covered by the CGCS2000 3-degree Gauss-Krüger zones EPSG:4534-4554."""

_THE_LAYER = Word(N_("the layer"))
"""How a message names data that has no name of its own."""

_PREFER = ("utm", "cgcs2000")
_SOURCES = ("wgs84", "gcj02", "bd09")


# --------------------------------------------------------------------------- bounds checks


def _as_bounds(bounds: npt.ArrayLike) -> tuple[float, float, float, float]:
    arr = np.asarray(bounds, dtype=float).ravel()
    if arr.size != 4:
        raise CRSError.worded(
            N_("Bounds must be four numbers (minx, miny, maxx, maxy), got {n}; pass e.g. "
               "(120.3, 36.0, 120.5, 36.2)."),
            n=arr.size,
        )
    minx, miny, maxx, maxy = (float(v) for v in arr)
    return minx, miny, maxx, maxy


def _gk_zone_candidates(x0: float, x1: float, y0: float, y1: float) -> list[int]:
    zone = math.floor(x0 / 1e6)
    if math.floor(x1 / 1e6) != zone or not (0 < y0 <= y1 < 7_000_000):
        return []
    if not all(100_000 <= x - zone * 1e6 <= 900_000 for x in (x0, x1)):
        return []
    if 25 <= zone <= 45:  # 3-degree zones carry the zone number: 25 is 75°E ... 45 is 135°E
        return [4513 + zone - 25, 2349 + zone - 25, 2401 + zone - 25]
    if 13 <= zone <= 23:  # 6-degree zones: 13 is 75°E ... 23 is 135°E
        return [4491 + zone - 13, 2327 + zone - 13, 21413 + zone - 13]
    return []


def guess_projected_crs(bounds: npt.ArrayLike) -> list[int]:
    """Guess EPSG codes for projected coordinates whose easting carries a zone number.

    Chinese Gauss-Krüger coordinates often prefix the easting with the zone number,
    e.g. 40,512,345 is zone 40 (central meridian 120°E). Such eastings identify the
    zone; plain eastings around 500,000 (EPSG:4534-4554, or UTM) do not.

    Parameters
    ----------
    bounds : array_like
        ``(minx, miny, maxx, maxy)`` with x the easting and y the northing.

    Returns
    -------
    list of int
        Candidate EPSG codes, most likely first: CGCS2000, then Xi'an 1980, then
        Beijing 1954 with the same zone. Empty when the zone cannot be told.
    """
    minx, miny, maxx, maxy = _as_bounds(bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return []
    return _gk_zone_candidates(minx, maxx, miny, maxy)


def _lonlat_problem(
    bounds: npt.ArrayLike, source_name: str
) -> tuple[str, dict[str, Any]] | None:
    """Return what is wrong with bounds read as lon/lat (a template and its fields), or None."""
    minx, miny, maxx, maxy = _as_bounds(bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return N_(
            "{source} has no coordinates to check (it is empty or every geometry is missing); "
            "add features or pick another layer."
        ), {"source": source_name}
    ranges = Phrase(
        N_("x {minx} to {maxx}, y {miny} to {maxy}"),
        minx=_coord_text(minx), maxx=_coord_text(maxx),
        miny=_coord_text(miny), maxy=_coord_text(maxy),
    )
    fields: dict[str, Any] = {"source": source_name, "ranges": ranges}
    ax, ay = max(abs(minx), abs(maxx)), max(abs(miny), abs(maxy))
    china_swapped = 15 <= minx and maxx <= 55 and 70 <= miny and maxy <= 140
    if china_swapped or (ax <= 90 and 90 < ay <= 180):
        return N_(
            "{source} looks like it has longitude and latitude swapped ({ranges}: x looks like "
            "latitude, y like longitude). Put longitude first (x) and latitude second (y): "
            "swap the two columns, or re-export with lon/lat axis order."
        ), fields
    if ax <= 180 and ay <= 90:
        return None
    if ax > 180 or ay > 180:
        guess = guess_projected_crs((minx, miny, maxx, maxy))
        swapped = guess_projected_crs((miny, minx, maxy, maxx))
        if guess:
            return N_(
                "{source} is read as longitude/latitude (it has no CRS, or its CRS says "
                "degrees), but its coordinates ({ranges}) look projected, in metres. The "
                "easting carries a Gauss-Krüger zone number, so it is most likely "
                "EPSG:{cgcs2000} (CGCS2000), or EPSG:{xian1980} (Xi'an 1980) / "
                "EPSG:{beijing1954} (Beijing 1954) for older survey data. Attach the "
                "matching .prj file or pass --crs EPSG:XXXX."
            ), {**fields, "cgcs2000": guess[0], "xian1980": guess[1], "beijing1954": guess[2]}
        if swapped:
            return N_(
                "{source} is read as longitude/latitude (it has no CRS, or its CRS says "
                "degrees), but its coordinates ({ranges}) look projected, in metres. x and y "
                "look swapped (surveyors' X is the northing): put the easting first. It is "
                "then most likely EPSG:{cgcs2000} (CGCS2000). Attach the matching .prj file "
                "or pass --crs EPSG:XXXX."
            ), {**fields, "cgcs2000": swapped[0]}
        return N_(
            "{source} is read as longitude/latitude (it has no CRS, or its CRS says degrees), "
            "but its coordinates ({ranges}) look projected, in metres. It may be CGCS2000 "
            "3-degree Gauss-Krüger (EPSG:4534-4554, one per central meridian 75°E-135°E; "
            "EPSG:4549 for Qingdao at 120°E) or WGS 84 UTM (EPSG:326xx, e.g. EPSG:32651 for "
            "Qingdao). Attach the matching .prj file or pass --crs EPSG:XXXX."
        ), fields
    return N_(
        "{source} has coordinates ({ranges}) outside longitude -180..180 / latitude -90..90 "
        "that do not look like metres either; check the x/y columns or pass --crs."
    ), fields


def is_lonlat_bounds(bounds: npt.ArrayLike) -> bool:
    """Tell whether bounds look like plausible longitude/latitude.

    Parameters
    ----------
    bounds : array_like
        ``(minx, miny, maxx, maxy)``.

    Returns
    -------
    bool
        True exactly when :func:`check_lonlat` would not raise: finite, |x| <= 180,
        |y| <= 90 and not the swapped-China pattern (x 15..55, y 70..140, which as
        lon/lat would be the Arctic north of Europe).

    Raises
    ------
    CRSError
        When ``bounds`` is not four numbers.
    """
    return _lonlat_problem(bounds, "bounds") is None


def check_lonlat(bounds: npt.ArrayLike, *, source_name: str) -> None:
    """Raise a helpful error unless bounds look like longitude/latitude.

    Parameters
    ----------
    bounds : array_like
        ``(minx, miny, maxx, maxy)`` of data that is, or is assumed to be, lon/lat.
    source_name : str
        How to name the data in the message, e.g. ``"streets.shp"``.

    Raises
    ------
    CRSError
        When the bounds are empty, look like swapped lat/lon, or look projected (metres);
        the message suggests likely EPSG codes and how to fix the file.
    """
    problem = _lonlat_problem(bounds, source_name)
    if problem is not None:
        template, fields = problem
        raise CRSError.worded(template, **fields)


# --------------------------------------------------------------------------- metric CRS


def _lonlat_bounds_of(data: Any) -> tuple[float, float, float, float]:
    if not isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        bounds = _as_bounds(data)
        check_lonlat(bounds, source_name=Word(N_("the bounds")))
        if bounds[0] > bounds[2] or bounds[1] > bounds[3]:
            raise CRSError.worded(
                N_("Bounds {bounds} have min > max; pass (minx, miny, maxx, maxy)."),
                bounds=str(bounds),
            )
        return bounds
    bounds = _as_bounds(data.total_bounds)
    if data.crs is None or data.crs.is_geographic:
        check_lonlat(bounds, source_name=_THE_LAYER)
    if data.crs is None or data.crs.equals(WGS84):
        return bounds
    to_ll = pyproj.Transformer.from_crs(data.crs, WGS84, always_xy=True)
    out = _as_bounds(to_ll.transform_bounds(*bounds, densify_pts=21))
    if not all(math.isfinite(v) for v in out) or out[0] > out[2]:
        raise CRSError.worded(
            N_("The layer's bounds cannot be converted from {crs} to lon/lat (they fall "
               "outside the CRS's area or cross the antimeridian); check the layer's CRS."),
            crs=data.crs.name,
        )
    return out


def _equal_area_crs(bounds: tuple[float, float, float, float]) -> pyproj.CRS:
    minx, miny, maxx, maxy = bounds
    lon0, lat0, span = (minx + maxx) / 2, (miny + maxy) / 2, maxy - miny
    lat1, lat2 = miny + span / 6, miny + 5 * span / 6
    conversion: pyproj.crs.CoordinateOperation
    if abs(lat1 + lat2) < 1e-6 or max(abs(lat1), abs(lat2)) > 89:  # Albers degenerates
        conversion = LambertAzimuthalEqualAreaConversion(lat0, lon0)
        name = f"Lambert Azimuthal Equal Area {lat0:.3f}N {lon0:.3f}E (WGS 84)"
    else:
        conversion = AlbersEqualAreaConversion(lat1, lat2, lat0, lon0)
        name = f"Albers Equal Area {lat1:.3f}N/{lat2:.3f}N {lon0:.3f}E (WGS 84)"
    return ProjectedCRS(conversion, name=name, geodetic_crs=GeographicCRS(datum="WGS84"))


def _max_areal_error(
    crs: pyproj.CRS, bounds: tuple[float, float, float, float], central_meridian: float
) -> float:
    minx, miny, maxx, maxy = bounds
    lons = np.linspace(minx, maxx, 9)
    if minx < central_meridian < maxx:  # transverse Mercator scale is smallest there
        lons = np.append(lons, central_meridian)
    grid_lon, grid_lat = np.meshgrid(lons, np.linspace(miny, maxy, 9))
    factors = pyproj.Proj(crs).get_factors(grid_lon.ravel(), grid_lat.ravel())
    return float(np.max(np.abs(np.asarray(factors.areal_scale) - 1.0)))


def metric_crs_for(
    data: gpd.GeoDataFrame | gpd.GeoSeries | npt.ArrayLike,
    *,
    prefer: str = "utm",
    max_area_error: float = 1e-3,
) -> pyproj.CRS:
    """Choose a metric CRS for areas and distances over the data's extent.

    Parameters
    ----------
    data : GeoDataFrame, GeoSeries or array_like
        A layer in any CRS (no CRS means lon/lat, checked), or lon/lat bounds
        ``(minx, miny, maxx, maxy)``.
    prefer : {"utm", "cgcs2000"}
        ``"utm"``: WGS 84 UTM zone of the extent's centre (EPSG:326xx north, 327xx
        south). ``"cgcs2000"``: CGCS2000 3-degree Gauss-Krüger zone with false easting
        500,000 (EPSG:4534-4554), only for centres at longitudes 73.5-136.5°E.
    max_area_error : float
        Largest relative area distortion accepted anywhere in the extent.

    Returns
    -------
    pyproj.CRS
        The zone CRS, or a custom Albers Equal Area fitted to the bounds (standard
        parallels at 1/6 and 5/6 of the latitude span) when the extent is wider than
        ``MAX_ZONE_WIDTH_DEG`` or reaches where the zone distorts areas by more than
        ``max_area_error`` (e.g. Shenzhen, 3° from the UTM 50N central meridian).

    Raises
    ------
    CRSError
        Unknown ``prefer``, empty data, coordinates that are not lon/lat as claimed, or
        ``"cgcs2000"`` outside China's longitudes.
    """
    if prefer not in _PREFER:
        raise CRSError.worded(
            N_("Unknown prefer={prefer!r}; use one of {choices}."),
            prefer=prefer, choices=", ".join(_PREFER),
        )
    if not max_area_error > 0:
        raise CRSError.worded(
            N_("max_area_error must be positive, got {value}; e.g. 1e-3."), value=max_area_error
        )
    bounds = _lonlat_bounds_of(data)
    lon0, lat0 = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    lo, hi = CHINA_LON_RANGE
    if prefer == "cgcs2000" and not lo <= lon0 <= hi:
        raise CRSError.worded(
            N_("CGCS2000 Gauss-Krüger zones cover longitudes {lo}-{hi}°E, but the data is "
               "centred at {lon:.3f}°; use prefer='utm' for data outside China."),
            lo=lo, hi=hi, lon=lon0,
        )
    if bounds[2] - bounds[0] > MAX_ZONE_WIDTH_DEG:
        logger.debug("extent %.2f° wide: using Albers equal-area", bounds[2] - bounds[0])
        return _equal_area_crs(bounds)
    if prefer == "utm":
        zone = min(max(math.floor((lon0 + 180) / 6) + 1, 1), 60)
        crs = pyproj.CRS.from_epsg((32600 if lat0 >= 0 else 32700) + zone)
        cm = zone * 6 - 183
    else:
        cm = min(max(math.floor(lon0 / 3 + 0.5) * 3, 75), 135)
        crs = pyproj.CRS.from_epsg(4534 + (cm - 75) // 3)
    error = _max_areal_error(crs, bounds, cm)
    if error > max_area_error:
        logger.info("%s distorts areas by %.3f%% here: using Albers", crs.name, 100 * error)
        return _equal_area_crs(bounds)
    logger.debug("metric CRS %s (area distortion <= %.3f%%)", crs.name, 100 * error)
    return crs


# --------------------------------------------------------------------------- areas and CRS


def _geoseries(data: gpd.GeoDataFrame | gpd.GeoSeries, source_name: str) -> gpd.GeoSeries:
    """Return the geometries with a CRS, assuming (after checking) EPSG:4326 if none."""
    geoms = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    if geoms.crs is not None:
        return geoms
    bounds = geoms.total_bounds
    if np.isfinite(bounds).all():
        check_lonlat(bounds, source_name=source_name)
        logger.warning(
            "%s has no CRS; its coordinates look like lon/lat: assuming EPSG:4326", source_name
        )
    return geoms.set_crs(WGS84)


def area_m2(data: gpd.GeoDataFrame | gpd.GeoSeries, *, prefer: str = "utm") -> pd.Series:
    """Area of each geometry in square metres, in the CRS from :func:`metric_crs_for`.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Any CRS; no CRS means lon/lat (checked).
    prefer : {"utm", "cgcs2000"}
        Passed to :func:`metric_crs_for`.

    Returns
    -------
    pandas.Series
        Float areas named ``area_m2``, indexed like ``data``; NaN for missing geometries.
    """
    geoms = _geoseries(data, _THE_LAYER)
    if not np.isfinite(geoms.total_bounds).all():  # no rows, or only empty/missing geometries
        values = np.asarray(shapely.area(geoms.to_numpy()), dtype=float)
    else:
        values = geoms.to_crs(metric_crs_for(geoms, prefer=prefer)).area.to_numpy()
    return pd.Series(values, index=data.index, name="area_m2", dtype=float)


def area_km2(data: gpd.GeoDataFrame | gpd.GeoSeries, *, prefer: str = "utm") -> pd.Series:
    """Area of each geometry in square kilometres; see :func:`area_m2`.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Any CRS; no CRS means lon/lat (checked).
    prefer : {"utm", "cgcs2000"}
        Passed to :func:`metric_crs_for`.

    Returns
    -------
    pandas.Series
        Float areas named ``area_km2``, indexed like ``data``.
    """
    return (area_m2(data, prefer=prefer) / 1e6).rename("area_km2")


def geodesic_area_m2(data: gpd.GeoDataFrame | gpd.GeoSeries) -> pd.Series:
    """Area of each geometry on the WGS 84 ellipsoid, in square metres (the reference).

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Any CRS; no CRS means lon/lat (checked).

    Returns
    -------
    pandas.Series
        Float areas named ``geodesic_area_m2``, indexed like ``data``; edges are taken
        as geodesics, holes are subtracted, orientation does not matter.
    """
    geod = pyproj.Geod(ellps="WGS84")
    geoms = shapely.orient_polygons(_geoseries(data, _THE_LAYER).to_crs(WGS84).to_numpy())
    values = [np.nan if g is None else geod.geometry_area_perimeter(g)[0] for g in geoms]
    return pd.Series(values, index=data.index, name="geodesic_area_m2", dtype=float)


def to_wgs84(data: GeoT) -> GeoT:
    """Convert a layer to EPSG:4326 (a new object; the input is not changed).

    CGCS2000 (EPSG:4490) and WGS 84 agree to within centimetres, so for it this only
    relabels. A layer without CRS is checked to look like lon/lat and then assumed
    to be EPSG:4326.

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Any CRS.

    Returns
    -------
    GeoDataFrame or GeoSeries
        Same type as ``data``, in EPSG:4326.

    Raises
    ------
    CRSError
        When there is no CRS, or a degree CRS, and the coordinates are not lon/lat.
    """
    crs = data.crs
    bounds = data.total_bounds
    if (crs is None or crs.is_geographic) and np.isfinite(bounds).all():
        check_lonlat(bounds, source_name=_THE_LAYER)
    if crs is None:
        logger.warning(
            "the layer has no CRS; its coordinates look like lon/lat: assuming EPSG:4326"
        )
        return data.set_crs(WGS84)
    return data.copy() if crs.equals(WGS84) else data.to_crs(WGS84)


# --------------------------------------------------------------------------- GCJ-02 / BD-09
# GCJ-02 ("Mars coordinates", used by Amap/Gaode and Tencent) and BD-09 (Baidu) are
# obfuscated datums: they are not in EPSG or PROJ, so pyproj cannot convert them, and the
# PyPI packages for them are unmaintained. This is the standard public algorithm
# (Krasovsky ellipsoid, as in the widely used coordtransform library), written here by
# hand and vectorised. The GCJ-02 inverse is solved exactly by fixed-point iteration.

_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30


def _arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x.astype(float, copy=True), y.astype(float, copy=True)


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    x0, y0, x1, y1 = _CHINA_BOX
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 minus WGS 84, in degrees, at WGS 84 ``lon``/``lat`` (no China check)."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS 84 lon/lat to GCJ-02 (Amap, Tencent); points outside China unchanged.

    Parameters
    ----------
    lon, lat : array_like
        Degrees; scalars or broadcastable arrays.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in GCJ-02; scalars in give NumPy scalars out.
    """
    x, y = _arrays(lon, lat)
    inside = _in_china(x, y)
    dlon, dlat = _gcj_delta(x[inside], y[inside])
    x[inside] += dlon
    y[inside] += dlat
    return x[()], y[()]


def gcj02_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 lon/lat to WGS 84 exactly (to ~1e-10°) by fixed-point iteration.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees; points outside China are returned unchanged.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in WGS 84, such that :func:`wgs84_to_gcj02` gives the input back.
    """
    gx, gy = _arrays(lon, lat)
    inside = _in_china(gx, gy)
    tx, ty = gx[inside], gy[inside]
    wx, wy = tx.copy(), ty.copy()
    for _ in range(_INVERSE_MAX_ITER):  # solve w + delta(w) = t; the first step is the
        dlon, dlat = _gcj_delta(wx, wy)  # usual one-step approximation 2t - f(t)
        ex, ey = wx + dlon - tx, wy + dlat - ty
        if ex.size == 0 or max(np.abs(ex).max(), np.abs(ey).max()) < _INVERSE_TOL_DEG:
            break
        wx, wy = wx - ex, wy - ey
    else:
        logger.warning("GCJ-02 inverse did not converge to %g°", _INVERSE_TOL_DEG)
    gx[inside], gy[inside] = wx, wy
    return gx[()], gy[()]


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 lon/lat to BD-09 (Baidu); points outside China unchanged.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in BD-09.
    """
    x, y = _arrays(lon, lat)
    inside = _in_china(x, y)
    xi, yi = x[inside], y[inside]
    z = np.sqrt(xi * xi + yi * yi) + 0.00002 * np.sin(yi * _X_PI)
    theta = np.arctan2(yi, xi) + 0.000003 * np.cos(xi * _X_PI)
    x[inside], y[inside] = z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006
    return x[()], y[()]


def bd09_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 lon/lat to GCJ-02 with Baidu's published inverse formula.

    That formula is itself approximate: the round trip through :func:`gcj02_to_bd09`
    is off by up to about 2e-6° (a few decimetres), well inside BD-09's own precision.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees; points outside China are returned unchanged.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in GCJ-02.
    """
    x, y = _arrays(lon, lat)
    inside = _in_china(x, y)
    xi, yi = x[inside] - 0.0065, y[inside] - 0.006
    z = np.sqrt(xi * xi + yi * yi) - 0.00002 * np.sin(yi * _X_PI)
    theta = np.arctan2(yi, xi) - 0.000003 * np.cos(xi * _X_PI)
    x[inside], y[inside] = z * np.cos(theta), z * np.sin(theta)
    return x[()], y[()]


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS 84 lon/lat to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 degrees.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in BD-09.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 lon/lat to WGS 84 (via GCJ-02, exact GCJ-02 inverse).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.

    Returns
    -------
    tuple of ndarray
        ``(lon, lat)`` in WGS 84.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


_TO_WGS84: dict[str, Callable[[npt.ArrayLike, npt.ArrayLike], tuple[FloatArray, FloatArray]]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def _transform_vertices(
    geoms: npt.NDArray[np.object_],
    func: Callable[[npt.ArrayLike, npt.ArrayLike], tuple[FloatArray, FloatArray]],
) -> npt.NDArray[np.object_]:
    def apply(coords: FloatArray) -> FloatArray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    out = geoms.copy()
    has_z = np.asarray(shapely.has_z(geoms), dtype=bool)
    for mask, include_z in ((~has_z, False), (has_z, True)):
        if mask.any():
            out[mask] = shapely.transform(geoms[mask], apply, include_z=include_z)
    return out


def to_wgs84_geometries(data: GeoT, *, source: str) -> GeoT:
    """Convert every vertex from WGS 84, GCJ-02 or BD-09 lon/lat to WGS 84 (EPSG:4326).

    Parameters
    ----------
    data : GeoDataFrame or GeoSeries
        Lon/lat geometries with no CRS or a degree CRS (GCJ-02 data is often mislabelled
        EPSG:4326). Only the active geometry column is converted; Z is kept.
    source : {"wgs84", "gcj02", "bd09"}
        Datum of the coordinates; case, "-" and "_" are ignored ("GCJ-02" works).

    Returns
    -------
    GeoDataFrame or GeoSeries
        A new object of the same type in EPSG:4326.

    Raises
    ------
    CRSError
        Unknown ``source``, a projected CRS, or coordinates that are not lon/lat.
    """
    key = source.lower().replace("-", "").replace("_", "")
    if key not in _SOURCES:
        raise CRSError.worded(
            N_("Unknown source={source!r}; use one of {choices}."),
            source=source, choices=", ".join(_SOURCES),
        )
    if data.crs is not None and not data.crs.is_geographic:
        raise CRSError.worded(
            N_("The layer is in projected CRS {crs}, but source={source!r} needs lon/lat "
               "degrees; use to_wgs84() for projected data."),
            crs=data.crs.name, source=source,
        )
    if key == "wgs84":
        return to_wgs84(data)
    bounds = data.total_bounds
    if np.isfinite(bounds).all():
        check_lonlat(bounds, source_name=Phrase(N_("the {coords} layer"), coords=key))
    geoms = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
    new = gpd.GeoSeries(
        _transform_vertices(geoms.to_numpy(), _TO_WGS84[key]),
        index=data.index,
        crs=WGS84,
        name=geoms.name,
    )
    if isinstance(data, gpd.GeoSeries):
        return new
    out = data.copy()
    out[data.geometry.name] = new
    return out
