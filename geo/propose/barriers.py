"""Barriers: rivers, railways and expressways that cut two communities apart.

Two communities that share a boundary are neighbours for contiguity — unless that
boundary runs along a river, a railway or an expressway that no walkable way crosses
there: residents on the two sides cannot reach each other, and a street office
spanning them would be one in name only. :func:`cut_pairs` finds such pairs; the plan
base (:meth:`geo.plan.base.PlanBase.from_district`) then treats them as not adjacent, so the
editor's piece count and the proposer keep streets on one side.

Barriers and crossings come from an OpenStreetMap extract (:func:`barriers_from_osm`):
``waterway`` rivers and canals, ``railway`` lines, ``highway=motorway|trunk``; a
crossing is any way of the walking network (bridges, underpasses, level crossings)
that crosses the shared boundary.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geo import settings
from geo.errors import InputError
from geo.i18n import N_

logger = logging.getLogger(__name__)

BARRIER_TAGS: dict[str, list[str]] = {
    "waterway": ["river", "canal"],
    "railway": ["rail", "light_rail", "subway", "narrow_gauge"],
    "highway": ["motorway", "trunk"],
}
"""OpenStreetMap tags of lines that part communities."""


@dataclass(frozen=True)
class Barriers:
    """Barrier lines and the ways that cross them, in WGS-84."""

    lines: gpd.GeoSeries
    crossings: gpd.GeoSeries | None = None
    source: str = ""


def barriers_from_osm(path: str | os.PathLike[str]) -> Barriers:
    """Read barriers (and the walking network as crossings) from a local ``.osm.pbf``.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    from pyrosm import OSM

    try:
        osm = OSM(str(path))
        lines = osm.get_data_by_custom_criteria(
            custom_filter=BARRIER_TAGS, filter_type="keep", keep_nodes=False,
            keep_relations=False,
        )
        walk = osm.get_network(network_type="walking")
    except Exception as exc:  # pyrosm raises several types for damaged files
        raise InputError.worded(
            N_("{file} could not be read as an OpenStreetMap extract ({error}). Give a .osm.pbf "
               "file covering the district."),
            file=str(path), error=str(exc),
        ) from exc
    geoms = (
        gpd.GeoSeries([], crs=4326)
        if lines is None or len(lines) == 0
        else lines.geometry.to_crs(4326)
    )
    # a motorway or trunk is not its own crossing
    crossing = None
    if walk is not None and len(walk):
        hw = walk.get("highway")
        keep = ~hw.isin(BARRIER_TAGS["highway"]) if hw is not None else slice(None)
        crossing = walk.loc[keep].geometry.to_crs(4326)
    logger.info("barriers from %s: %d lines, %s crossing ways", path, len(geoms),
                0 if crossing is None else len(crossing))
    return Barriers(lines=geoms, crossings=crossing, source=str(path))


def cut_pairs(
    geoms: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    barriers: Barriers,
    metric_crs: pyproj.CRS,
    *,
    buffer_m: float | None = None,
    min_cover: float | None = None,
) -> np.ndarray:
    """Return which neighbour pairs a barrier cuts apart.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        The blocks, in ``metric_crs``.
    i, j : numpy.ndarray of int
        Neighbour pairs (positions into ``geoms``).
    barriers : Barriers
        Lines (and crossings) in WGS-84.
    buffer_m, min_cover : float, optional
        A pair is cut when at least ``min_cover`` of its shared boundary lies
        within ``buffer_m`` of a barrier line and no crossing way meets the
        shared boundary; defaults :data:`geo.settings.barrier_buffer_m` and
        :data:`geo.settings.barrier_min_cover`.

    Returns
    -------
    numpy.ndarray of bool
    """
    out = np.zeros(len(i), dtype=bool)
    if len(i) == 0 or len(barriers.lines) == 0:
        return out
    buf = settings.barrier_buffer_m if buffer_m is None else buffer_m
    cover = settings.barrier_min_cover if min_cover is None else min_cover
    lines = np.asarray(barriers.lines.to_crs(metric_crs).values, dtype=object)
    zone = shapely.buffer(shapely.union_all(lines), buf)
    shared = shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j]))
    length = shapely.length(shared)
    along = shapely.length(shapely.intersection(shared, zone))
    near = (length > 0) & (along >= cover * np.maximum(length, 1e-9))
    if not near.any():
        return out
    if barriers.crossings is not None and len(barriers.crossings):
        ways = np.asarray(barriers.crossings.to_crs(metric_crs).values, dtype=object)
        tree = shapely.STRtree(ways)
        idx = np.flatnonzero(near)
        hit, _ = tree.query(shared[idx], predicate="intersects")
        crossed = np.zeros(len(idx), dtype=bool)
        crossed[np.unique(hit)] = True
        near[idx[crossed]] = False
    return near
