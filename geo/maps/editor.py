"""The editor's map layers, light enough for a whole city.

The Boundaries page redraws its layers after every click and every move. At
city scale (2,000 communities, 17,000 grids) folium's generic ``GeoJson``
costs seconds per redraw: a style evaluated in Python per feature, full
double-precision coordinates, every tooltip written out with its headings.
Here the work is split by how often it changes:

* :func:`drawing_shapes` simplifies the blocks once per district, to a
  tolerance that fits the view of the whole district (about a screen pixel
  when it fills the map, :func:`view_tolerance_m`), without opening gaps
  between neighbours, coordinates rounded to about a metre; their GeoJSON
  texts (:func:`geojson_texts`) are written once too;
* :func:`street_outlines` unites those shapes per street after each edit;
* :func:`features` joins those per-block texts with the properties of the
  moment (fill colour, tooltip values): string work, milliseconds;
* :mod:`geo.maps.held` puts those texts on the map as layers the browser keeps
  between reruns (shapes drawn once, restyled by a per-revision paint).

"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyproj
import shapely

COORD_DECIMALS = 5
"""Decimal places of longitude/latitude sent to the browser (1e-5° ≈ 1.1 m)."""
VIEW_PIXELS = 1600
"""Pixels across that the whole district is assumed to fill when the map opens."""
MIN_TOLERANCE_M = 5.0
"""The finest simplification used for drawing, in metres."""


def view_tolerance_m(bounds: Sequence[float], *, metric_crs: Any,
                     pixels: int = VIEW_PIXELS, minimum_m: float = MIN_TOLERANCE_M) -> float:
    """Return the drawing tolerance (metres) for a district of ``bounds`` (lon/lat).

    About one pixel when the whole district fills ``pixels`` across (the map
    fitted to it), never below ``minimum_m``: a larger district is drawn with
    coarser shapes, the same number of pixels per shape edge.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    to_metric = pyproj.Transformer.from_crs(4326, metric_crs, always_xy=True)
    xs, ys = to_metric.transform([minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    extent_m = max(max(xs) - min(xs), max(ys) - min(ys))
    return max(float(minimum_m), extent_m / max(1, int(pixels)))


def rounded(geoms: np.ndarray, decimals: int = COORD_DECIMALS) -> np.ndarray:
    """Return the geometries with coordinates rounded (to about a metre by default)."""
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def drawing_shapes(geoms: Sequence[Any], *, metric_crs: Any, tolerance_m: float,
                   decimals: int = COORD_DECIMALS) -> np.ndarray:
    """Return polygons (lon/lat) simplified for drawing, coordinates rounded.

    Shared edges are simplified once for both sides
    (:func:`shapely.coverage_simplify`), so neighbours still meet exactly (and
    their unions, :func:`street_outlines`, are exact too); when the polygons
    overlap (not a coverage) each is simplified on its own.

    Parameters
    ----------
    geoms : sequence of shapely geometries
        Polygons in EPSG:4326.
    metric_crs : pyproj.CRS or str
        A metric CRS for the tolerance.
    tolerance_m : float
        Simplification tolerance in metres (see :func:`view_tolerance_m`).
    decimals : int
        Decimal places kept of each coordinate.

    Returns
    -------
    numpy.ndarray of shapely geometries
        One per input, in order, in EPSG:4326.
    """
    arr = np.asarray(list(geoms), dtype=object)
    if len(arr) == 0:
        return arr
    fwd = pyproj.Transformer.from_crs(4326, metric_crs, always_xy=True)
    back = pyproj.Transformer.from_crs(metric_crs, 4326, always_xy=True)
    metric = shapely.transform(arr, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    try:
        simple = shapely.coverage_simplify(metric, tolerance_m)
    except shapely.errors.GEOSException:
        simple = shapely.simplify(metric, tolerance_m, preserve_topology=True)
    lonlat = shapely.transform(simple,
                               lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
    return rounded(lonlat, decimals)


def street_outlines(shapes: np.ndarray, assignment: npt.ArrayLike, n_streets: int) -> np.ndarray:
    """Return each street's shape as the union of its blocks' drawing shapes.

    The drawing shapes form a coverage, so the fast coverage union applies and
    neighbouring streets' outlines coincide. A street without blocks is empty.
    """
    a = np.asarray(assignment)
    out = np.empty(n_streets, dtype=object)
    order = np.argsort(a, kind="stable")
    cuts = np.searchsorted(a[order], np.arange(n_streets + 1))
    for k in range(n_streets):
        members = shapes[order[cuts[k]:cuts[k + 1]]]
        if len(members) == 0:
            out[k] = shapely.Polygon()
            continue
        try:
            out[k] = shapely.coverage_union_all(members)
        except shapely.errors.GEOSException:
            out[k] = shapely.union_all(members)
    return out


def geojson_texts(geoms: Sequence[Any] | np.ndarray) -> list[str]:
    """Return each geometry as a GeoJSON text."""
    arr = np.asarray(list(geoms), dtype=object)
    return [str(g) for g in shapely.to_geojson(arr)] if len(arr) else []


def features(shapes: Sequence[str], properties: Sequence[dict[str, Any]]) -> str:
    """Return a GeoJSON FeatureCollection text from geometry texts and their properties."""
    parts = [f'{{"type":"Feature","properties":{json.dumps(p, ensure_ascii=False)},'
             f'"geometry":{g}}}' for g, p in zip(shapes, properties, strict=True)]
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def tooltip_values(columns: Sequence[Sequence[Any]]) -> list[list[str]]:
    """Return tooltip rows (HTML-escaped text) from columns of values; missing shows as —."""
    from geo.maps.view import _format_value

    return [[html.escape(_format_value(v)) for v in row] for row in zip(*columns, strict=True)]


def label_points(geoms: Sequence[Any] | np.ndarray, texts: Sequence[Any],
                 *, decimals: int = COORD_DECIMALS) -> str:
    """Return a FeatureCollection of one point inside each polygon carrying its escaped text."""
    from geo.maps.view import _format_value

    arr = np.asarray(list(geoms), dtype=object)
    points = shapely.point_on_surface(arr) if len(arr) else arr
    return features(geojson_texts(rounded(points, decimals)) if len(arr) else [],
                    [{"n": html.escape(_format_value(t))} for t in texts])


def shift_gcj02(geoms: np.ndarray) -> np.ndarray:
    """Return lon/lat geometries shifted to GCJ-02 (to line up with Amap or Tencent tiles)."""
    from geo.crs import wgs84_to_gcj02

    def shift(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), shift) if len(geoms) else geoms

