"""A plan's streets as a small SVG picture, for side-by-side cards of alternatives.

A folium map per card would load a map engine several times over; a few hundred bytes
of SVG show the shapes well enough to compare them at a glance, and need no network.
"""

from __future__ import annotations

import html
import math

import numpy as np
import shapely

from geo.maps.view import CATEGORICAL_PALETTE
from geo.plan.model import Plan


def plan_svg(
    plan: Plan,
    *,
    size_px: int = 240,
    colours: dict[str, str] | None = None,
    palette: tuple[str, ...] = CATEGORICAL_PALETTE,
) -> str:
    """Return an SVG document drawing each street of a plan, filled by street.

    Parameters
    ----------
    plan : Plan
        The plan; never modified.
    size_px : int
        Width and height of the picture's box; the district keeps its proportions.
    colours : dict, optional
        Street code → fill colour; streets not in it take ``palette`` in turn.
    palette : tuple of str
        Fill colours used in turn.

    Returns
    -------
    str
        ``<svg ...>`` with one ``<path>`` per street (its name as the title), north up,
        lengths scaled by the cosine of the district's latitude so shapes are not
        stretched.
    """
    streets = plan.street_geometries()
    if streets.empty:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px}"/>'
    x0, y0, x1, y1 = streets.total_bounds
    k = math.cos(math.radians((y0 + y1) / 2))
    w, h = max((x1 - x0) * k, 1e-12), max(y1 - y0, 1e-12)
    scale = (size_px - 4) / max(w, h)
    width, height = w * scale + 4, h * scale + 4

    def path(geom: shapely.Geometry) -> str:
        parts = []
        for poly in getattr(geom, "geoms", [geom]):
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)
                px = (xy[:, 0] - x0) * k * scale + 2
                py = (y1 - xy[:, 1]) * scale + 2
                parts.append(
                    "M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True)) + "Z"
                )
        return "".join(parts)

    colours = colours or {}
    shapes = []
    for i, row in enumerate(streets.itertuples()):
        fill = colours.get(str(row.code), palette[i % len(palette)])
        shapes.append(
            f'<path d="{path(row.geometry)}" fill="{fill}" fill-opacity="0.55" '
            f'stroke="#1f2937" stroke-width="1" fill-rule="evenodd">'
            f"<title>{html.escape(str(row.name))}</title></path>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}">' + "".join(shapes) + "</svg>"
    )
