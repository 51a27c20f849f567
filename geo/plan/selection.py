"""Turning map clicks and drawings into selections of building blocks.

The app passes what the map returned (a click's lat/lng, a drawn GeoJSON
geometry); these functions answer which blocks it picks. Blocks are chosen
by their representative point, so a rectangle picks the communities it
mostly covers and never half of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from geo.plan.base import PlanBase


def block_at(base: PlanBase, lon: float, lat: float) -> str | None:
    """Return the code of the block containing a clicked point, or ``None``."""
    pt = shapely.Point(lon, lat)
    geoms = base.geometry
    hits = np.flatnonzero(shapely.contains(geoms, pt) | shapely.touches(geoms, pt))
    if len(hits) == 0:
        return None
    return str(base.codes[hits[0]])


def blocks_within(base: PlanBase, geometry: Mapping[str, Any] | shapely.Geometry) -> list[str]:
    """Return the codes of blocks whose inner point lies in a drawn polygon or rectangle."""
    geom = shape(geometry) if isinstance(geometry, Mapping) else geometry
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        return []
    inside = shapely.contains_xy(geom, base.lon, base.lat)
    return [str(c) for c in base.codes[inside]]


def toggle(selection: Sequence[str], codes: Sequence[str]) -> list[str]:
    """Return ``selection`` with each code added, or removed if it was there."""
    out = list(selection)
    for code in codes:
        if code in out:
            out.remove(code)
        else:
            out.append(code)
    return out


def clicked_point(state: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """Return (lon, lat) of the last click in an ``st_folium`` state dict, if any."""
    if not state:
        return None
    click = state.get("last_object_clicked") or state.get("last_clicked")
    if not click or "lat" not in click or "lng" not in click:
        return None
    return float(click["lng"]), float(click["lat"])


def click_number(state: Mapping[str, Any] | None) -> int | None:
    """Return the number the map gave its last click (a repeated point is a new click), if any."""
    click = (state or {}).get("last_object_clicked") or {}
    n = click.get("n") if isinstance(click, Mapping) else None
    return int(n) if isinstance(n, (int, float)) else None


def drawn_geometry(state: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return the GeoJSON geometry of the last drawing in an ``st_folium`` state dict, if any."""
    if not state:
        return None
    drawing = state.get("last_active_drawing")
    if not drawing:
        return None
    geom = drawing.get("geometry", drawing)
    return geom if isinstance(geom, dict) and "type" in geom else None
