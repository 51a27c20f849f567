"""Basemap presets for the app's maps, and the GCJ-02 display shift that goes with them.

By default a map has no basemap: planners' machines are often offline, and
the boundaries are what matters. A planner may pick one of

* ``osm``: OpenStreetMap's standard tiles (WGS-84, needs internet access);
* ``tianditu``: 天地图 (the national platform's vector map and its Chinese
  labels). Its tiles are in CGCS2000, which differs from WGS-84 by
  centimetres, so nothing is shifted. It needs a key (tk) from
  console.tianditu.gov.cn;
* ``custom``: an intranet tile server, given as a URL template with
  ``{z}``, ``{x}`` and ``{y}``, and the coordinate system its tiles are drawn
  in: WGS-84/CGCS2000, or GCJ-02 (Amap/Gaode and Tencent tiles, and servers
  that mirror them).

GCJ-02 tiles are offset from WGS-84 by a few hundred metres. The data stays
in WGS-84; only what is drawn on such a basemap is shifted, and always every
layer of the map together (streets, communities, grids, facilities, proposed
sites, labels, the view's bounds): :func:`shift_map` walks a finished map.
Clicks and drawings come back from the browser in the basemap's coordinates
and go back to WGS-84 with :func:`point_to_wgs84` and :func:`geometry_to_wgs84`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import folium
import folium.vector_layers
import numpy as np
import shapely
import shapely.geometry
from branca.element import Element

from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from geo.errors import InputError
from geo.i18n import N_
from geo.maps.view import _walk as walk_elements

logger = logging.getLogger(__name__)

ElementT = TypeVar("ElementT", bound=Element)

PRESETS = ("none", "osm", "tianditu", "custom")
"""The basemap choices; ``none`` (no tiles, works offline) is the default."""

TILE_CRS = ("wgs84", "gcj02")
"""Coordinate systems a custom tile server may draw in (CGCS2000 counts as WGS-84)."""

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                   "contributors")
TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}")
"""天地图's Web Mercator WMTS tiles; ``{layer}`` is ``vec`` (map) or ``cva`` (labels)."""
TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> GS(2024)0568号'
TIANDITU_SUBDOMAINS = "01234567"

GCJ02_HOSTS = ("amap.com", "autonavi.com", "gtimg.com", "map.qq.com", "is.autonavi")
"""Host names whose tiles are drawn in GCJ-02: a custom URL on one of them is said to be."""

_KEY = re.compile(r"^[A-Za-z0-9]{8,64}$")
_PLACEHOLDERS = ("{z}", "{x}")


@dataclass(frozen=True)
class Basemap:
    """A basemap as the map draws it.

    Attributes
    ----------
    preset : str
        One of :data:`PRESETS`.
    layers : tuple of (str, str, bool)
        Tile layers: URL template, layer name, whether it is an overlay
        (天地图's labels lie over its map). Empty for ``none``.
    attribution : str
        HTML attribution shown on the map ("" for ``none``).
    crs : str
        ``wgs84`` or ``gcj02``: the coordinates the tiles are drawn in.
    subdomains : str
        Letters or digits for ``{s}`` in the URLs.
    """

    preset: str = "none"
    layers: tuple[tuple[str, str, bool], ...] = ()
    attribution: str = ""
    crs: str = "wgs84"
    subdomains: str = "abc"

    @property
    def shifted(self) -> bool:
        """Whether what is drawn on this basemap is shifted to GCJ-02."""
        return self.crs == "gcj02"


NONE = Basemap()


def looks_gcj02(url: str) -> bool:
    """Return whether a tile URL's host is one known to serve GCJ-02 tiles (Amap, Tencent)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) or h in host for h in GCJ02_HOSTS)


def make_basemap(preset: str | None = "none", *, key: str | None = None, url: str | None = None,
                 crs: str | None = None, attribution: str | None = None) -> Basemap:
    """Return the basemap for a preset, checking what it needs.

    Parameters
    ----------
    preset : {"none", "osm", "tianditu", "custom"}
        The choice; None means ``none``.
    key : str, optional
        天地图's key (tk); required for ``tianditu``.
    url : str, optional
        Tile URL template with ``{z}``, ``{x}`` and ``{y}``; required for ``custom``.
    crs : {"wgs84", "gcj02"}, optional
        Coordinate system of a custom server's tiles; WGS-84 by default.
    attribution : str, optional
        Attribution of a custom server (plain text); its host name by default.

    Returns
    -------
    Basemap

    Raises
    ------
    InputError
        Unknown preset or CRS, a missing or malformed key, a URL that is not
        an http(s) template with ``{z}``, ``{x}`` and ``{y}``; the message says
        what to enter.
    """
    preset = (preset or "none").strip().lower()
    if preset not in PRESETS:
        raise InputError.worded(N_("Unknown basemap {preset}: choose one of {presets}."),
                                preset=repr(preset), presets=", ".join(PRESETS))
    if preset == "none":
        return NONE
    if preset == "osm":
        return Basemap("osm", ((OSM_URL, "OpenStreetMap", False),), OSM_ATTRIBUTION)
    if preset == "tianditu":
        tk = (key or "").strip()
        if not _KEY.match(tk):
            raise InputError.worded(
                N_("天地图 (Tianditu) needs its key (tk): letters and digits, as shown under "
                   "'应用管理' at console.tianditu.gov.cn. Enter it, or choose another basemap."))
        layers = tuple((TIANDITU_URL.format(s="{s}", layer=layer, z="{z}", x="{x}", y="{y}",
                                            key=quote(tk)), name, overlay)
                       for layer, name, overlay in (("vec", "天地图", False),
                                                    ("cva", "天地图注记", True)))
        return Basemap("tianditu", layers, TIANDITU_ATTRIBUTION, "wgs84",
                       TIANDITU_SUBDOMAINS)
    template = (url or "").strip()
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.hostname or not all(
            p in template for p in _PLACEHOLDERS) or not ("{y}" in template
                                                          or "{-y}" in template):
        raise InputError.worded(  # the placeholders stand for themselves
            N_("A custom basemap needs the tile server's URL template, starting with http:// or "
               "https:// and holding {z}, {x} and {y}, e.g. "
               "http://tiles.intranet/{z}/{x}/{y}.png. Ask the GIS office for it."),
            z="{z}", x="{x}", y="{y}",
        )
    if re.search(r"[\s\"'<>`]", template):
        raise InputError.worded(N_("The basemap URL holds spaces, quotes or angle brackets; copy "
                                   "the template exactly as the GIS office gives it."))
    chosen = (crs or "wgs84").strip().lower().replace("-", "")
    if chosen not in TILE_CRS:
        raise InputError.worded(N_("Tile coordinates {crs} are not known: choose wgs84 (WGS-84 "
                                   "or CGCS2000) or gcj02 (Amap, Tencent)."), crs=repr(crs))
    text = (attribution or "").strip() or parts.hostname
    return Basemap("custom", ((template, "basemap", False),), html.escape(text), chosen,
                   "abc")


def add_basemap(m: folium.Map, basemap: Basemap) -> folium.Map:
    """Add a basemap's tile layers (with attribution) to a map; ``none`` adds nothing."""
    for url, name, overlay in basemap.layers:
        folium.TileLayer(tiles=url, attr=basemap.attribution, name=name, overlay=overlay,
                         control=False, subdomains=basemap.subdomains, max_zoom=18).add_to(m)
    return m


# ------------------------------------------------------------------------- the shift


def _shift_xy(xy: np.ndarray) -> np.ndarray:
    lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _unshift_xy(xy: np.ndarray) -> np.ndarray:
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _shift_geojson(data: Any, fn: Callable[[np.ndarray], np.ndarray]) -> Any:
    """Return a GeoJSON dict (feature, collection or geometry) with every vertex moved."""
    if not isinstance(data, dict):
        return data
    kind = data.get("type")
    if kind == "FeatureCollection":
        return {**data, "features": [_shift_geojson(f, fn) for f in data.get("features", [])]}
    if kind == "Feature":
        geom = data.get("geometry")
        return {**data, "geometry": _shift_geojson(geom, fn) if geom else geom}
    if kind is None:
        return data
    geom = shapely.geometry.shape(data)
    return shapely.geometry.mapping(shapely.transform(geom, fn))


def _shift_latlon(points: Any) -> Any:
    """Shift ``[lat, lon]`` or a list of them (folium's order)."""
    arr = np.asarray(points, dtype=float)
    flat = arr.reshape(-1, 2)
    lon, lat = wgs84_to_gcj02(flat[:, 1], flat[:, 0])
    out = np.column_stack([lat, lon]).reshape(arr.shape)
    return out.tolist()


def _walk(element: Element) -> list[Element]:
    """Return the element and all its descendants, each once (as :mod:`geo.maps.view` walks)."""
    return list(walk_elements(element))


def shift_map(element: ElementT, basemap: Basemap) -> ElementT:
    """Shift everything drawn on a map (or a feature group) to the basemap's coordinates.

    For a WGS-84 basemap (and ``none``) nothing changes. For GCJ-02 every
    GeoJSON layer, marker (labels, facilities, sites), polyline or polygon
    and the map's centre and bounds are moved together, in place, so no
    layer is left where the others are not. Call it once per built map.

    Parameters
    ----------
    element : folium.Map or folium.FeatureGroup
        The map or layer group to shift.
    basemap : Basemap
        The basemap it is drawn on.

    Returns
    -------
    The element itself.
    """
    if not basemap.shifted:
        return element
    if getattr(element, "_wangge_shifted", False):
        return element  # already shifted: a second call would move it twice
    moved = 0
    for el in _walk(element):
        if isinstance(el, folium.GeoJson) and isinstance(getattr(el, "data", None), dict):
            el.data = _shift_geojson(el.data, _shift_xy)
            moved += 1
        elif isinstance(el, folium.Marker) and el.location is not None:
            el.location = _shift_latlon(el.location)
            moved += 1
        elif isinstance(el, folium.vector_layers.BaseMultiLocation):
            el.locations = _shift_latlon(el.locations)
            moved += 1
        elif isinstance(el, folium.map.FitBounds):
            el.bounds = _shift_latlon(el.bounds)
        elif isinstance(el, folium.Map) and el.location is not None:
            el.location = _shift_latlon(el.location)
    element._wangge_shifted = True  # type: ignore[attr-defined]
    logger.debug("shifted %d layer element(s) to GCJ-02 for display", moved)
    return element


def point_to_display(lat: float, lon: float, basemap: Basemap) -> tuple[float, float]:
    """Return a WGS-84 ``(lat, lon)`` where it is drawn on ``basemap``."""
    if not basemap.shifted:
        return lat, lon
    x, y = wgs84_to_gcj02(lon, lat)
    return float(y), float(x)


def point_to_wgs84(lon: float, lat: float, basemap: Basemap) -> tuple[float, float]:
    """Return the WGS-84 ``(lon, lat)`` of a point clicked on ``basemap``."""
    if not basemap.shifted:
        return lon, lat
    x, y = gcj02_to_wgs84(lon, lat)
    return float(x), float(y)


def geometry_to_wgs84(geometry: dict[str, Any], basemap: Basemap) -> dict[str, Any]:
    """Return a GeoJSON geometry drawn on ``basemap`` in WGS-84 (a drawn rectangle or line)."""
    if not basemap.shifted:
        return geometry
    return dict(_shift_geojson(geometry, _unshift_xy))


__all__ = ["Basemap", "NONE", "PRESETS", "TILE_CRS", "add_basemap", "geometry_to_wgs84",
           "looks_gcj02", "make_basemap", "point_to_display", "point_to_wgs84", "shift_map"]
