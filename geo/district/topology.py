"""Adjacency, overlaps, gaps and containment shares between polygons.

Every function takes geometries in a metric CRS (areas in m²) and returns
plain tables; none mutates its input. Model checks in
:mod:`geo.district.hierarchy` turn these tables into findings.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from geo import settings


def _thin(geoms: np.ndarray, width_m: float | None) -> np.ndarray:
    """Return which shapes are slivers: mean width (2 × area / perimeter) under ``width_m``.

    A strip 2 mm wide and 2 km long has 4 m² — above an area tolerance, but
    it is the trace of rounding coordinates or reprojecting a straight edge,
    not a place anyone could live in.
    """
    w = settings.sliver_width_m if width_m is None else width_m
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    width = np.divide(2 * area, perim, out=np.zeros_like(area), where=perim > 0)
    return width < w


def _interiors_meet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return, pair by pair, whether the interiors of ``a`` and ``b`` intersect.

    Pairs failing it share no area, so their intersection (an overlay, about three
    times the cost of this test) need not be computed.
    """
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.relate_pattern(a, b, "T********"), dtype=bool)


def interior_pairs(geoms: gpd.GeoSeries) -> pd.DataFrame:
    """Return every pair of polygons whose interiors meet, with the part they share.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Polygons in a metric CRS. Invalid or empty geometries are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions, ``i < j``), ``area_m2`` and ``geometry``
        (the shared part), however small.
    """
    arr = np.asarray(geoms.values, dtype=object)
    ok = shapely.is_valid(arr) & ~shapely.is_empty(arr)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return pd.DataFrame({"i": np.zeros(0, dtype=np.int64), "j": np.zeros(0, dtype=np.int64),
                             "area_m2": np.zeros(0), "geometry": np.zeros(0, dtype=object)})
    tree = STRtree(arr[idx])
    left, right = tree.query(arr[idx], predicate="intersects")
    keep = left < right
    left, right = idx[left[keep]], idx[right[keep]]
    # neighbours that only touch share no area: a DE-9IM test is a third of an overlay
    inner = _interiors_meet(arr[left], arr[right])
    left, right = left[inner], right[inner]
    inter = shapely.intersection(arr[left], arr[right])
    return pd.DataFrame({"i": left, "j": right, "area_m2": shapely.area(inter),
                         "geometry": inter})


def overlap_pairs(
    geoms: gpd.GeoSeries,
    *,
    min_area_m2: float,
    min_width_m: float | None = None,
    pairs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return pairs of polygons that overlap by at least ``min_area_m2``.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Polygons in a metric CRS. Invalid or empty geometries are skipped.
    min_area_m2 : float
        Smaller shared areas are digitising noise and not returned.
    min_width_m : float, optional
        Shared parts thinner than this on average are slivers and not
        returned; default :data:`geo.settings.sliver_width_m`.
    pairs : pandas.DataFrame, optional
        :func:`interior_pairs` of ``geoms`` when the caller has them already.

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions, ``i < j``), ``area_m2`` and ``geometry``
        (the shared part).
    """
    pairs = interior_pairs(geoms) if pairs is None else pairs
    inter = np.asarray(pairs["geometry"].to_numpy(), dtype=object)
    area = pairs["area_m2"].to_numpy(dtype=float)
    big = (area >= min_area_m2) & ~_thin(inter, min_width_m)
    return pairs[big].reset_index(drop=True)


def containment_shares(children: gpd.GeoSeries, parents: gpd.GeoSeries) -> pd.DataFrame:
    """Return, for each child, the area it shares with each parent it touches.

    Parameters
    ----------
    children, parents : geopandas.GeoSeries
        Polygons in the same metric CRS. Invalid geometries are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``child``, ``parent`` (positions), ``area_m2`` and ``share``
        (of the child's area), only for pairs sharing a positive area. A child
        its parent covers shares its whole area with it (``share`` exactly 1).

    Notes
    -----
    One DE-9IM matrix per pair whose boxes meet says both whether the interiors
    meet (else nothing is shared: neighbours touching along an edge) and whether
    the parent covers the child (its interior and boundary miss the parent's
    exterior). Only the pairs left, children straddling parents, are overlaid:
    in a clean hierarchy that is almost none, where an overlay of every child
    with its parent took half of a city's check.
    """
    c = np.asarray(children.values, dtype=object)
    p = np.asarray(parents.values, dtype=object)
    c_ok = np.flatnonzero(shapely.is_valid(c) & ~shapely.is_empty(c))
    p_ok = np.flatnonzero(shapely.is_valid(p) & ~shapely.is_empty(p))
    cols = ["child", "parent", "area_m2", "share"]
    if len(c_ok) == 0 or len(p_ok) == 0:
        return pd.DataFrame(columns=cols)
    tree = STRtree(p[p_ok])
    ci, pi = tree.query(c[c_ok], predicate="intersects")
    ci, pi = c_ok[ci], p_ok[pi]
    matrix = shapely.relate(c[ci], p[pi]) if len(ci) else np.zeros(0, dtype=object)
    inner = np.array([m[0] != "F" for m in matrix], dtype=bool)
    covered = np.array([m[2] == "F" and m[5] == "F" for m in matrix], dtype=bool) & inner
    ci, pi, covered = ci[inner], pi[inner], covered[inner]
    child_area = shapely.area(c[ci])
    area = child_area.copy()
    cut = ~covered
    area[cut] = shapely.area(shapely.intersection(c[ci[cut]], p[pi[cut]]))
    share = np.divide(area, child_area, out=np.zeros_like(area), where=child_area > 0)
    frame = pd.DataFrame({"child": ci, "parent": pi, "area_m2": area, "share": share})
    return frame[frame["area_m2"] > 0].reset_index(drop=True)


def gap_polygons(
    parts: gpd.GeoSeries | np.ndarray,
    *,
    within: shapely.Geometry | None = None,
    min_area_m2: float,
) -> list[shapely.Geometry]:
    """Return the uncovered pieces inside ``within`` (or the holes of the union).

    Parameters
    ----------
    parts : geopandas.GeoSeries
        Polygons in a metric CRS that should tile an area.
    within : shapely geometry, optional
        The area they should tile (a parent unit). Without it, gaps are the
        interior holes of the parts' union.
    min_area_m2 : float
        Smaller pieces are digitising noise and not returned.

    Returns
    -------
    list of shapely.Polygon
        Each gap piece, largest first.
    """
    arr = np.asarray(getattr(parts, "values", parts), dtype=object)
    arr = arr[shapely.is_valid(arr) & ~shapely.is_empty(arr)]
    union = shapely.union_all(arr) if len(arr) else shapely.Polygon()
    if within is not None:
        if not shapely.is_valid(within):
            return []
        rest = shapely.difference(within, union)
        pieces = list(shapely.get_parts(rest))
    else:
        pieces = []
        for poly in shapely.get_parts(union):
            if poly.geom_type != "Polygon":
                continue
            pieces.extend(shapely.Polygon(ring) for ring in poly.interiors)
    pieces = [g for g in pieces if g.geom_type == "Polygon" and g.area >= min_area_m2]
    if pieces:
        thin = _thin(np.asarray(pieces, dtype=object), None)
        pieces = [g for g, t in zip(pieces, thin, strict=True) if not t]
    return sorted(pieces, key=lambda g: -g.area)


def adjacency_pairs(geoms: gpd.GeoSeries, *, min_shared_m: float = 1.0) -> pd.DataFrame:
    """Return pairs of polygons sharing a boundary of at least ``min_shared_m`` metres.

    Corner-only contacts do not count as adjacency (rook contiguity).

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions, ``i < j``) and ``shared_m``.
    """
    arr = np.asarray(geoms.values, dtype=object)
    cols = ["i", "j", "shared_m"]
    if len(arr) < 2:
        return pd.DataFrame(columns=cols)
    tree = STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(arr[left]), shapely.boundary(arr[right]))
    )
    ok = shared >= min_shared_m
    return pd.DataFrame({"i": left[ok], "j": right[ok], "shared_m": shared[ok]})


def component_labels(n: int, pairs: pd.DataFrame) -> np.ndarray:
    """Label the connected components of ``n`` nodes joined by ``pairs`` (``i``, ``j``)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=int)
    i = pairs["i"].to_numpy(dtype=int) if len(pairs) else np.zeros(0, dtype=int)
    j = pairs["j"].to_numpy(dtype=int) if len(pairs) else np.zeros(0, dtype=int)
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def polsby_popper(geoms: gpd.GeoSeries) -> pd.Series:
    """Return compactness 4πA/P² (1 for a circle, towards 0 for ragged shapes)."""
    area = geoms.area
    perim = geoms.length
    return (4 * np.pi * area / perim.where(perim > 0) ** 2).rename("compactness")
