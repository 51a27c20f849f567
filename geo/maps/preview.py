"""A first look at layers just read: their outlines on one map, coloured by level.

Before a planner checks an upload, the Data page shows where each layer lies:
streets, communities and grids as outlines (streets on top), and a layer whose
level is not yet known dashed, so a layer in the wrong place (a CRS guessed
wrong, GCJ-02 taken for WGS-84) is seen before anything is built from it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np

from geo.errors import EmptyInputError
from geo.i18n import N_
from geo.maps.view import add_legend, add_outlines, base_map

logger = logging.getLogger(__name__)

LEVEL_STYLE: dict[str, tuple[str, float, str | None]] = {
    "grid": ("#7c8da6", 0.6, None),
    "community": ("#2563eb", 1.4, None),
    "street": ("#111827", 3.0, None),
}
"""Outline colour, width (px) and dash of each level, drawn from grids up to streets."""
UNKNOWN_STYLE: tuple[str, float, str | None] = ("#d97706", 1.6, "5 4")
"""A layer whose level is not chosen yet: dashed orange."""

SIMPLIFY_DEG = 1e-5
"""Drawing tolerance (about a metre): a preview of thousands of grids stays light."""

_ORDER = {"grid": 0, "community": 1, "street": 2}


def preview_map(
    layers: Sequence[tuple[str, gpd.GeoDataFrame, str | None]],
    *,
    legend_title: str,
    level_names: Mapping[str, str],
    unknown_name: str,
    height: int = 460,
) -> folium.Map:
    """Return a map with each layer's polygon outlines, styled by its level, with a legend.

    Parameters
    ----------
    layers : sequence of (str, GeoDataFrame, str or None)
        Label (the file or layer name), the features and the level
        (``street``, ``community``, ``grid``, or None when not chosen).
    legend_title : str
        Title of the legend (in the interface's language).
    level_names : mapping of str to str
        Each level's name as the legend shows it.
    unknown_name : str
        What the legend calls a layer without a level.
    height : int
        Map height in pixels.

    Returns
    -------
    folium.Map
        No tiles (works offline); fitted to all the layers.

    Raises
    ------
    EmptyInputError
        When no layer holds a polygon.
    """
    drawn: list[tuple[str, gpd.GeoDataFrame, str | None]] = []
    for label, frame, level in layers:
        polys = frame[frame.geometry.notna() & ~frame.geometry.is_empty
                      & frame.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polys) == 0:
            continue
        if polys.crs is not None and not polys.crs.equals("EPSG:4326"):
            polys = polys.to_crs(4326)
        polys = polys[["geometry"]].set_geometry(polys.geometry.simplify(SIMPLIFY_DEG))
        drawn.append((label, polys, level if level in LEVEL_STYLE else None))
    if not drawn:
        raise EmptyInputError.worded(N_("None of the layers holds a polygon to show; check that "
                                        "the files hold the boundaries (not points or lines)."))
    bounds = np.array([f.total_bounds for _, f, _ in drawn])
    m = base_map((bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(),
                  bounds[:, 3].max()), height=height)
    drawn.sort(key=lambda item: _ORDER.get(item[2] or "", 3))
    legend: dict[str, tuple[str, str, str]] = {}
    for label, polys, level in drawn:
        colour, weight, dash = LEVEL_STYLE[level] if level else UNKNOWN_STYLE
        add_outlines(m, polys, name=label, color=colour, weight=weight, dash=dash)
        key = level or "?"
        legend.setdefault(key, (colour, level_names.get(level, level) if level else unknown_name,
                                "dash" if dash else "line"))
    add_legend(m, legend_title, list(legend.values()))
    logger.debug("preview of %d layer(s)", len(drawn))
    return m


__all__ = ["LEVEL_STYLE", "UNKNOWN_STYLE", "preview_map"]
