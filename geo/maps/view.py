"""Folium maps that render with no internet access.

folium loads Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from
public CDNs, which a planning bureau's intranet usually cannot reach: the map
stays blank. :mod:`geo.maps.assets` (``make assets``) copies those
files from the npm registry into ``static/vendor/`` and writes
``static/vendor/manifest.json``, which maps every CDN URL to its local copy; an
installed ``wangge`` fills a per-user cache instead on first use (see
:mod:`geo.maps.assets`, which also says where the files are looked for). This
module uses that manifest to

* point a map's script and stylesheet links at the local copies
  (:func:`make_offline`, for the Streamlit app, which serves ``static/`` at
  ``/app/static/``);
* write a self-contained HTML file with every script and stylesheet inlined
  (:func:`standalone_html`, for reports that must open anywhere);
* build a plain map of polygon units with safe tooltips (:func:`unit_map`).

The module is pure: it never imports Streamlit.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
import mimetypes
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from geo._atomic import write_text_atomic
from geo.errors import ColumnError, CRSError, EmptyInputError, WanggeError
from geo.findings import Phrase
from geo.i18n import N_
from geo.maps import assets as map_assets

logger = logging.getLogger(__name__)

ElementT = TypeVar("ElementT", bound=Element)

VENDOR_DIR: Path = map_assets.CHECKOUT_VENDOR_DIR
"""A checkout's ``static/vendor/`` (``make assets``), which the Streamlit app serves."""

MANIFEST_NAME = map_assets.MANIFEST_NAME

STREAMLIT_BASE_URL = "../../app/static/vendor"
"""Base URL of the vendored files as ``st_folium`` needs it in the Streamlit app.

Streamlit serves ``static/`` (next to the app script, with
``server.enableStaticServing``) at ``{baseUrlPath}/app/static/``. ``st_folium``
adds the map's scripts and stylesheets from inside a component iframe whose
document is ``{baseUrlPath}/component/streamlit_folium.st_folium/index.html``,
so URLs resolve against that document:

* ``app/static/vendor`` becomes ``/component/streamlit_folium.st_folium/app/...``
  and fails (404, blank map);
* ``/app/static/vendor`` works only while the app is served at the root; with
  ``server.baseUrlPath`` or behind a proxy on a sub-path it misses the prefix;
* ``../../app/static/vendor`` works in both cases.

``tests/test_mapview.py`` checks this against a running Streamlit server.
"""

DEFAULT_FILL = "#4c78a8"
DEFAULT_LINE = "#33415c"
MISSING_COLOR = "#c8c8c8"

SEQUENTIAL_PALETTE: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
"""Colours for numeric values, low to high (ColorBrewer YlOrRd)."""

CATEGORICAL_PALETTE: tuple[str, ...] = (
    "#77aadd", "#ee8866", "#99ddff", "#44bb99", "#ffaabb",
    "#bbcc33", "#aaaa00", "#dddddd",
)  # fmt: skip
"""Colours for categories, reused in turn when there are more (Paul Tol's "light" scheme
without its yellow, which marks the selection): distinct under the common colour-vision
deficiencies and light enough that dark outlines and labels read on top of them."""

STATUS_LINE: dict[str, str] = {"ok": "#004488", "outside": "#a50026", "no rule": "#555555",
                               "unknown": "#555555"}
"""Street outline colours by status: dark blue and dark red (told apart with any common
colour-vision deficiency) and grey, all dark enough to stand out against the light fills."""

_MAX_LEGEND_CATEGORIES = 12
_FONT_EXTENSIONS = frozenset({".woff2", ".woff", ".ttf", ".otf", ".eot"})
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*?)\1\s*\)""", re.IGNORECASE)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"^[ \t]*(?://[#@] sourceMappingURL=\S*|/\*[#@] sourceMappingURL=[^*]*\*/)"
                         r"[ \t]*$", re.MULTILINE)  # fmt: skip


# --------------------------------------------------------------------------- manifest


def _load_manifest(vendor_dir: Path | None) -> tuple[Path, dict[str, str]]:
    """Read ``manifest.json`` and return the vendor folder and its URL → path map."""
    folder = Path(vendor_dir) if vendor_dir is not None else map_assets.vendor_dir()
    manifest = folder / MANIFEST_NAME
    try:
        raw = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WanggeError.worded(
            N_("map assets missing: no {manifest}. Fill the folder with `python -m "
               "geo.maps.assets {folder}` (`make assets` in a checkout); without them maps stay "
               "blank offline"),
            manifest=str(manifest), folder=str(folder),
        ) from None
    except (OSError, ValueError) as exc:
        raise WanggeError.worded(
            N_("map assets manifest {manifest} is unreadable ({error}): run `python -m "
               "geo.maps.assets {folder} --force` (`make assets-force` in a checkout)"),
            manifest=str(manifest), error=str(exc), folder=str(folder),
        ) from exc
    assets = raw.get("assets") if isinstance(raw, dict) else None
    if not isinstance(assets, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in assets.items()
    ):
        raise WanggeError.worded(
            N_("map assets manifest {manifest} has no valid 'assets' table: run `python -m "
               "geo.maps.assets {folder} --force` (`make assets-force` in a checkout)"),
            manifest=str(manifest), folder=str(folder),
        )
    return folder, assets


def _join(base_url: str, rel: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/{rel}" if base else rel


def offline_assets(*, base_url: str, vendor_dir: Path | None = None) -> dict[str, str]:
    """Map every file a map links to that has a local copy to the URL of that copy.

    Parameters
    ----------
    base_url : str
        URL under which ``static/vendor/`` is reachable, such as
        :data:`STREAMLIT_BASE_URL` in the Streamlit app or a relative path for
        an HTML file saved next to a copy of the folder.
    vendor_dir : Path, optional
        Folder holding ``manifest.json``; :data:`VENDOR_DIR` by default.

    Returns
    -------
    dict of str to str
        File name a map links to → ``{base_url}/{path in static/vendor}``.

    Raises
    ------
    WanggeError
        When the manifest is missing (``make assets`` was not run) or unreadable.
    """
    _, assets = _load_manifest(vendor_dir)
    return {url: _join(base_url, rel) for url, rel in assets.items()}


def _is_remote(url: str) -> bool:
    return bool(_REMOTE.match(url.strip()))


def _local_rel(url: str, assets: Mapping[str, str]) -> str | None:
    """Return the vendored path for a map's link or an already rewritten one."""
    for rel in set(assets.values()):
        if url == rel or url.endswith("/" + rel):
            return rel
    return map_assets.local_path(url, dict(assets))


# --------------------------------------------------------------------------- rewriting


def _walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and all its descendants, depth first, each once."""
    seen: set[int] = set()
    stack = [element]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        children = getattr(el, "_children", None)
        if isinstance(children, Mapping):
            stack.extend(reversed(list(children.values())))


def _link_lists(el: Element) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    for attr in ("default_js", "default_css"):
        pairs = getattr(el, attr, None)
        if isinstance(pairs, list | tuple) and pairs:
            yield attr, [(str(name), str(url)) for name, url in pairs]


def _rewrite(root: Element, resolve: Callable[[str], str | None]) -> None:
    """Rewrite the links of ``root`` and its descendants with ``resolve(url)``.

    ``resolve`` returns the new URL, or ``None`` when the URL has no local copy.
    Nothing is changed unless every remote URL resolves.
    """
    plan: list[tuple[Element, str, list[tuple[str, str]]]] = []
    missing: dict[str, str] = {}
    for el in _walk(root):
        if isinstance(el, branca.colormap.ColorMap):
            missing.setdefault(
                Phrase(N_("d3.min.js (fetched from a CDN at render time)")),
                Phrase(N_("{element} (branca colour-map legends load d3 from a CDN; use "
                          "unit_map's legend instead)"), element=type(el).__name__),
            )
        for attr, pairs in _link_lists(el):
            new_pairs = []
            for name, url in pairs:
                new = resolve(url)
                if new is None:
                    if _is_remote(url):
                        missing.setdefault(url, type(el).__name__)
                    new = url
                new_pairs.append((name, new))
            plan.append((el, attr, new_pairs))
    if missing:
        listing = Phrase.joined([Phrase(N_("{url} (needed by {element})"), url=url, element=who)
                                 for url, who in missing.items()], "; ")
        raise WanggeError.worded(
            N_("map assets: no local copy of {missing}. Add the package to geo/maps/assets.py "
               "(PACKAGES and ASSETS) and run `make assets`, or do not use that map element"),
            missing=listing,
        )
    for el, attr, new_pairs in plan:
        # Assign a new list on the instance: folium's link lists are class
        # attributes shared by every map, so they must never be changed in place.
        setattr(el, attr, new_pairs)


def make_offline(
    m: ElementT, *, base_url: str = STREAMLIT_BASE_URL, vendor_dir: Path | None = None
) -> ElementT:
    """Point every script and stylesheet link of a map at the vendored copies.

    Walks ``m`` and all its children (plugins such as ``Draw`` bring their own
    links) and replaces each CDN URL in ``default_js`` / ``default_css`` by
    ``{base_url}/{local path}``. Links that are already local are kept, so
    calling it twice is harmless. The change is made on the instances only;
    other maps are not affected.

    Parameters
    ----------
    m : folium.Map or branca.element.Element
        The map (or any element, such as a ``Figure``) to rewrite in place.
    base_url : str, default :data:`STREAMLIT_BASE_URL`
        URL under which ``static/vendor/`` is reachable, relative to the page
        that loads the map. The default is right for ``st_folium`` in the
        Streamlit app (see :data:`STREAMLIT_BASE_URL`).
    vendor_dir : Path, optional
        Folder holding ``manifest.json``; :data:`VENDOR_DIR` by default.

    Returns
    -------
    folium.Map or branca.element.Element
        ``m`` itself, for chaining.

    Raises
    ------
    WanggeError
        When the assets were not fetched (``make assets``), or when an element
        needs a CDN URL that has no local copy; the message names each URL.
        ``m`` is left unchanged in that case.
    """
    _, assets = _load_manifest(vendor_dir)

    def resolve(url: str) -> str | None:
        if not _is_remote(url):
            return url  # already local: kept
        rel = map_assets.local_path(url, assets)
        return None if rel is None else _join(base_url, rel)

    _rewrite(m, resolve)
    logger.debug("map links now point at %s", base_url)
    return m


# --------------------------------------------------------------------------- standalone


class _AttrCollector(HTMLParser):
    """Collect the ``src``/``href`` values of a page's tags and its external scripts/styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = [v for k, v in attrs if k in {"src", "href"} and v]
        self.urls.extend(values)
        if tag in {"script", "link"}:
            self.external.extend(values)

    handle_startendtag = handle_starttag


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() == ".svg":
        mime = "image/svg+xml"
    elif path.suffix.lower() == ".woff2":
        mime = "font/woff2"
    mime = mime or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _inline_css(css: str, css_file: Path, vendor_dir: Path, *, inline_fonts: bool) -> str:
    """Make a stylesheet self-contained: images become data URIs, fonts are inlined or dropped."""
    root = vendor_dir.resolve()
    if not inline_fonts:
        css = _FONT_FACE.sub("", css)

    def replace(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if not ref or ref.startswith(("data:", "#")):
            return match.group(0)
        if _is_remote(ref):
            logger.warning("dropping remote reference %s in %s", ref, css_file.name)
            return "url(data:,)"
        clean = re.split(r"[?#]", ref, maxsplit=1)[0]
        target = (css_file.parent / clean).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            logger.debug("dropping %s in %s: no such vendored file", ref, css_file.name)
            return "url(data:,)"
        is_font = target.suffix.lower() in _FONT_EXTENSIONS or (
            target.suffix.lower() == ".svg" and "#" in ref
        )
        if is_font and not (inline_fonts and target.suffix.lower() == ".woff2"):
            return "url(data:,)"  # never fetched: browsers pick the woff2 source first
        return f'url("{_data_uri(target)}")'

    css = _CSS_URL.sub(replace, css)
    css = _SOURCE_MAP.sub("", css)
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


def _inline_js(js: str) -> str:
    js = _SOURCE_MAP.sub("", js)
    # "</script" would end the inline script early; "<\/script" means the same in JS.
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _remote_tiles(m: Element) -> list[str]:
    urls = []
    for el in _walk(m):
        if isinstance(el, folium.raster_layers.TileLayer):
            tiles = str(getattr(el, "tiles", ""))
            if _is_remote(tiles):
                urls.append(tiles)
    return urls


def standalone_html(
    m: Element,
    path: str | os.PathLike[str],
    *,
    vendor_dir: Path | None = None,
    inline_fonts: bool = False,
    allow_remote_tiles: bool = False,
) -> Path:
    """Write a map as one HTML file that opens offline, from anywhere.

    Every script and stylesheet is inlined from ``static/vendor/``; images the
    stylesheets use become ``data:`` URIs. The file links to no other file or
    host, so it can be mailed or attached to a report. The map itself is
    left as it was.

    Parameters
    ----------
    m : folium.Map or branca.element.Element
        The map to write; links may be CDN URLs or already rewritten by
        :func:`make_offline`.
    path : str or PathLike
        Where to write. Written atomically (a temporary file in the same
        folder, then renamed); missing parent folders are created.
    vendor_dir : Path, optional
        Folder holding ``manifest.json``; :data:`VENDOR_DIR` by default.
    inline_fonts : bool, default False
        Embed the icon fonts (Font Awesome, Glyphicons; about 400 kB) so marker
        icons show. By default the fonts are left out: polygons, tooltips,
        the layer control and the drawing toolbar do not need them.
    allow_remote_tiles : bool, default False
        Allow tile layers served over HTTP(S), which need network access to
        show. By default such a layer is an error, because the file must not
        refer to any host.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    WanggeError
        When the assets were not fetched, an element needs a file with no local
        copy, or the map has a remote tile layer and ``allow_remote_tiles`` is
        false.
    """
    folder, assets = _load_manifest(vendor_dir)
    out = Path(path)

    tiles = _remote_tiles(m)
    if tiles and not allow_remote_tiles:
        raise WanggeError.worded(
            N_("the map has a tile layer served from the network ({tiles}), so the HTML file "
               "would not work offline; build the map without tiles or pass "
               "allow_remote_tiles=True"),
            tiles=", ".join(sorted(set(tiles))),
        )

    token = f"wangge-inline-{uuid.uuid4().hex}"

    def resolve(url: str) -> str | None:
        rel = _local_rel(url, assets)
        return None if rel is None else f"{token}/{rel}"

    saved = [
        (el, {a: el.__dict__[a] for a in ("default_js", "default_css") if a in el.__dict__})
        for el in _walk(m)
    ]
    try:
        _rewrite(m, resolve)
        root = m.get_root()
        page = root.render()
    finally:
        for el, attrs in saved:
            for attr in ("default_js", "default_css"):
                if attr in attrs:
                    setattr(el, attr, attrs[attr])
                elif attr in el.__dict__:
                    delattr(el, attr)

    done: set[str] = set()

    def read(rel: str) -> tuple[Path, str]:
        file = (folder / rel).resolve()
        if not file.is_relative_to(folder.resolve()) or not file.is_file():
            raise WanggeError.worded(
                N_("map assets missing: {file} does not exist; run `make assets`"),
                file=str(folder / rel),
            )
        return file, file.read_text(encoding="utf-8")

    def script(match: re.Match[str]) -> str:
        rel = match.group(1)
        if rel in done:
            return ""
        done.add(rel)
        _, text = read(rel)
        return f"<script>/* {rel} */\n{_inline_js(text)}\n</script>"

    def style(match: re.Match[str]) -> str:
        rel = match.group(1)
        if rel in done:
            return ""
        done.add(rel)
        file, text = read(rel)
        css = _inline_css(text, file, folder, inline_fonts=inline_fonts)
        return f"<style>/* {rel} */\n{css}\n</style>"

    tok = re.escape(token)
    page = re.sub(rf'<script\b[^>]*\bsrc="{tok}/([^"]+)"[^>]*>\s*</script>', script, page)
    page = re.sub(rf'<link\b[^>]*\bhref="{tok}/([^"]+)"[^>]*>', style, page)
    if token in page:
        raise WanggeError.worded(
            N_("could not inline every map asset (unexpected link markup from folium); please "
               "report this"))

    collector = _AttrCollector()
    collector.feed(page)
    leftover = sorted(set(collector.external) | {u for u in collector.urls if _is_remote(u)})
    if leftover:
        raise WanggeError.worded(
            N_("the map HTML still loads {urls}, so it is not self-contained"),
            urls=", ".join(leftover),
        )

    write_text_atomic(out, page)
    logger.info("wrote self-contained map %s (%.0f kB)", out, len(page.encode()) / 1024)
    return out


# --------------------------------------------------------------------------- unit_map


class _MapLook(MacroElement):
    """Background colour and a plain attribution prefix for a map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            map.getContainer().style.background = {{ this.background | tojson }};
            if (map.attributionControl) {
                map.attributionControl.setPrefix({{ this.prefix | tojson }});
            }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, background: str, prefix: str | bool) -> None:
        super().__init__()
        self._name = "MapLook"
        self.background = background
        self.prefix = prefix


LEGEND_CONTROL_JS = """function (title, items) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
        var div = L.DomUtil.create("div", "wangge-legend leaflet-bar");
        div.style.cssText = "background:rgba(255,255,255,.92);padding:6px 8px;"
            + "font:12px/1.5 sans-serif;color:#222;max-width:16em";
        if (title) {
            var head = L.DomUtil.create("div", "", div);
            head.style.fontWeight = "bold";
            head.textContent = title;
        }
        items.forEach(function (item) {
            var row = L.DomUtil.create("div", "", div);
            var swatch = L.DomUtil.create("span", "", row);
            var kind = item[2] || "fill";
            if (kind === "fill") {
                swatch.style.cssText = "display:inline-block;width:12px;height:12px;"
                    + "margin-right:6px;vertical-align:-1px;border:1px solid #666";
                swatch.style.background = item[0];
            } else {
                swatch.style.cssText = "display:inline-block;width:18px;height:0;"
                    + "margin-right:6px;vertical-align:3px;border-top-width:3px";
                swatch.style.borderTopStyle = kind === "dash" ? "dashed" : "solid";
                swatch.style.borderTopColor = item[0];
            }
            var label = L.DomUtil.create("span", "", row);
            label.textContent = item[1];
        });
        return div;
    };
    return control;
}"""
"""A JavaScript function ``(title, items)`` returning a legend control whose labels are set
as text (``textContent``), never as HTML; items are ``[colour, label, kind]``."""


class _Legend(MacroElement):
    """A legend control built with ``textContent``, so labels never run as HTML."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.builder }})({{ this.title | tojson }}, {{ this.items | tojson }})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: Sequence[Sequence[str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = title
        self.items = [list(item) for item in items]
        self.builder = LEGEND_CONTROL_JS


class _MetricScale(MacroElement):
    """A metric-only scale bar (Leaflet's default also shows miles and feet)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def add_legend(m: folium.Map, title: str, items: Sequence[Sequence[str]]) -> folium.Map:
    """Add a legend to a map; labels are set as text, never as HTML.

    Parameters
    ----------
    m : folium.Map
        The map; returned for chaining.
    title : str
        The legend's heading (may be empty).
    items : sequence of (colour, label) or (colour, label, kind)
        ``kind`` is ``fill`` (a square, the default), ``line`` or ``dash`` (a
        solid or dashed line of the colour).
    """
    _Legend(title, items).add_to(m)
    return m


def add_labels(m: Element, gdf: gpd.GeoDataFrame, *, column: str,
               name: str = "labels") -> Element:
    """Write each unit's ``column`` at a point inside it (escaped; clicks pass through).

    Parameters
    ----------
    m : folium.Map or folium.FeatureGroup
        Where to add the labels; returned for chaining.
    gdf : geopandas.GeoDataFrame
        Polygons (converted to EPSG:4326).
    column : str
        The text to write.
    name : str
        Layer name (escaped).
    """
    units = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if units.crs is not None and not units.crs.equals("EPSG:4326"):
        units = units.to_crs(4326)
    group = folium.FeatureGroup(name=html.escape(name))
    style = ("pointer-events:none;white-space:nowrap;transform:translate(-50%,-50%);"
             "font:600 12px/1.2 sans-serif;color:#111827;text-shadow:0 0 3px #fff,"
             "0 0 3px #fff,0 0 3px #fff")
    for geom, text in zip(units.geometry.representative_point(), units[column], strict=True):
        folium.Marker(
            location=[geom.y, geom.x],
            icon=folium.DivIcon(html=f'<div class="wangge-label" style="{style}">'
                                     f"{html.escape(_format_value(text))}</div>",
                                icon_size=(0, 0)),
            interactive=False,
        ).add_to(group)
    group.add_to(m)
    return m


def _format_value(value: Any) -> str:
    """Format a value for a tooltip (plain text, not yet escaped).

    Numbers get no thousands separators, so codes such as ``370202001`` stay
    as they are; whole floats (codes read as floats because of gaps) lose
    their ``.0``, other floats keep two decimals.
    """
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "—"
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return f"{number:.2f}"
    if isinstance(value, int | np.integer):
        return str(int(value))
    try:
        if pd.isna(value):
            return "—"
    except (TypeError, ValueError):
        pass
    return str(value)


def _json_value(value: Any) -> Any:
    """Turn a cell into something ``json.dumps`` accepts."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _hex_lerp(colors: Sequence[str], t: float) -> str:
    """Interpolate linearly along ``colors`` (``#rrggbb``) at ``t`` in [0, 1]."""
    t = min(max(t, 0.0), 1.0)
    if len(colors) == 1:
        return colors[0]
    pos = t * (len(colors) - 1)
    i = min(int(pos), len(colors) - 2)
    f = pos - i
    a = [int(colors[i][k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(colors[i + 1][k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * f):02x}" for x, y in zip(a, b, strict=True))


def _colours(
    values: pd.Series,
    palette: Sequence[str] | None,
    missing_label: str,
    category_colors: Mapping[str, str] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """Return a colour per value and the legend items."""
    missing = values.isna()
    legend: list[tuple[str, str]] = []
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        pal = tuple(palette) if palette else SEQUENTIAL_PALETTE
        if not all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in pal):
            raise ValueError("a palette for a numeric column must use #rrggbb colours")
        nums = values.astype(float)
        lo, hi = (float(nums.min()), float(nums.max())) if (~missing).any() else (0.0, 0.0)
        span = hi - lo
        colours = [
            MISSING_COLOR if miss else _hex_lerp(pal, 0.5 if span == 0 else (v - lo) / span)
            for v, miss in zip(nums, missing, strict=True)
        ]
        if (~missing).any():
            stops = [lo] if span == 0 else [lo + span * k / 4 for k in range(5)]
            legend = [
                (_hex_lerp(pal, 0.5 if span == 0 else (s - lo) / span), _format_value(s))
                for s in stops
            ]
    else:
        pal = tuple(palette) if palette else CATEGORICAL_PALETTE
        cats = sorted({str(v) for v in values[~missing]})
        lookup = {c: pal[i % len(pal)] for i, c in enumerate(cats)}
        if category_colors:
            lookup.update({c: category_colors[c] for c in cats if c in category_colors})
        colours = [
            MISSING_COLOR if miss else lookup[str(v)]
            for v, miss in zip(values, missing, strict=True)
        ]
        legend = [(lookup[c], c) for c in cats[:_MAX_LEGEND_CATEGORIES]]
        if len(cats) > _MAX_LEGEND_CATEGORIES:
            legend.append(("transparent", f"… {len(cats) - _MAX_LEGEND_CATEGORIES} more"))
    if missing.any():
        legend.append((MISSING_COLOR, missing_label))
    return colours, legend


def colour_values(values: pd.Series, *, palette: Sequence[str] | None = None,
                  missing_label: str = "no data",
                  category_colors: Mapping[str, str] | None = None,
                  ) -> tuple[list[str], list[tuple[str, str]]]:
    """Return a colour per value and the legend items, as :func:`unit_map` colours units.

    A numeric column gets a ramp along ``palette`` from its minimum to its
    maximum, any other one colour per distinct value; missing values are grey.
    """
    return _colours(values, palette, missing_label, category_colors)


@dataclass(frozen=True)
class UnitStyle:
    """How :func:`unit_map` colours and outlines the units.

    Parameters
    ----------
    color_column : str, optional
        Column that colours the units: a numeric column gets a ramp from its
        minimum to its maximum, any other column one colour per distinct value.
        Missing values are grey. Without it every unit gets ``fill_color``.
    palette : sequence of str, optional
        Colours replacing :data:`SEQUENTIAL_PALETTE` (numeric ``color_column``,
        ``#rrggbb`` only) or :data:`CATEGORICAL_PALETTE`.
    category_colors : mapping, optional
        Fixed colours for some values of a non-numeric ``color_column``
        (e.g. ``{"ok": "#2e7d32", "outside": "#c62828"}``); others take the palette.
    fill_color, line_color : str
        Fill when there is no ``color_column``, and outline colour.
    line_weight : float
        Outline width in pixels.
    fill_opacity : float
        Fill opacity, 0 to 1.
    legend : bool
        Show a legend for ``color_column``.
    legend_title : str, optional
        Legend heading; ``color_column`` by default.
    missing_label : str
        Legend label for units without a value.
    """

    color_column: str | None = None
    palette: Sequence[str] | None = None
    category_colors: Mapping[str, str] | None = None
    fill_color: str = DEFAULT_FILL
    line_color: str = DEFAULT_LINE
    line_weight: float = 1.0
    fill_opacity: float = 0.55
    legend: bool = True
    legend_title: str | None = None
    missing_label: str = "no data"


@dataclass(frozen=True)
class MapSetup:
    """The map around the units: basemap, background, layer control, height.

    Parameters
    ----------
    tile_url : str, optional
        URL template of a configured basemap, such as an intranet tile server
        (``https://tiles.example/{z}/{x}/{y}.png``). None: no tiles (offline).
    attribution : str, optional
        Attribution for ``tile_url`` (required with it). It is shown as HTML,
        so it must come from configuration, never from user data.
    background : str
        Map background colour (visible where there are no tiles).
    layer_control : bool
        Add a layer control.
    height : str or int
        Map height (CSS length or pixels).
    """

    tile_url: str | None = None
    attribution: str | None = None
    background: str = "#eef0f2"
    layer_control: bool = False
    height: str | int = "100%"


def unit_map(
    gdf: gpd.GeoDataFrame,
    *,
    style: UnitStyle | None = None,
    setup: MapSetup | None = None,
    tooltip_columns: Sequence[str] = (),
    tooltip_aliases: Sequence[str] | None = None,
    popup_columns: Sequence[str] = (),
    id_column: str | None = None,
    layer_name: str = "units",
) -> folium.Map:
    """Build a map of polygon units with optional colours, tooltips and basemap.

    By default there is no tile layer (planners' machines are often offline):
    the units are drawn on a light grey background and the view fits their
    bounds. Tooltip and popup values, column names and the layer name are
    HTML-escaped, so a unit named ``<img src=x onerror=...>`` shows as that
    text. Call :func:`make_offline` or :func:`standalone_html` on the result.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The units, preferably in EPSG:4326 (other CRSs are converted).
        Rows with empty or missing geometry are left out.
    style : UnitStyle, optional
        Colours, outlines and legend (one fill colour, no legend by default).
    setup : MapSetup, optional
        Basemap, background, layer control and height (no tiles by default).
    tooltip_columns : sequence of str, default ()
        Columns shown, in this order, when the pointer is over a unit.
    tooltip_aliases : sequence of str, optional
        Labels for ``tooltip_columns`` (same length); the column names by default.
    popup_columns : sequence of str, default ()
        Columns shown in a popup when a unit is clicked.
    id_column : str, optional
        Column copied unchanged into each feature's properties, so the app
        can tell which unit was clicked (``st_folium`` returns the properties).
    layer_name : str, default "units"
        Name of the units layer in the layer control.

    Returns
    -------
    folium.Map
        The map, with CDN links still in place.

    Raises
    ------
    EmptyInputError
        When ``gdf`` has no unit with a geometry.
    CRSError
        When ``gdf`` has no CRS.
    ColumnError
        When a named column does not exist.
    ValueError
        When ``tooltip_aliases`` does not match ``tooltip_columns``, a ``tile_url``
        comes without ``attribution``, or a numeric palette is not ``#rrggbb``.
    """
    style = style or UnitStyle()
    setup = setup or MapSetup()
    tooltip_columns, popup_columns = list(tooltip_columns), list(popup_columns)
    _check_unit_map(gdf, style, setup, tooltip_columns, tooltip_aliases, popup_columns,
                    id_column)
    units = _drawable_units(gdf)
    data, legend_items = _unit_features(units, style, tooltip_columns, popup_columns, id_column)
    bounds = tuple(float(v) for v in units.geometry.total_bounds)
    m = _empty_map(bounds, setup)
    aliases = list(tooltip_aliases) if tooltip_aliases is not None else tooltip_columns
    _add_unit_layer(m, data, style, layer_name=layer_name, aliases=aliases,
                    popup_columns=popup_columns)
    if style.color_column and style.legend and legend_items:
        title = style.legend_title if style.legend_title is not None else str(style.color_column)
        _Legend(title, legend_items).add_to(m)
    if setup.layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    minx, miny, maxx, maxy = bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _check_unit_map(gdf: gpd.GeoDataFrame, style: UnitStyle, setup: MapSetup,
                    tooltip_columns: list[str], tooltip_aliases: Sequence[str] | None,
                    popup_columns: list[str], id_column: str | None) -> None:
    """Raise, naming the fix, when :func:`unit_map` cannot draw what it was asked."""
    named = [c for c in [style.color_column, id_column, *tooltip_columns, *popup_columns] if c]
    absent = [c for c in dict.fromkeys(named) if c not in gdf.columns]
    if absent:
        raise ColumnError.worded(
            N_("column(s) {columns} not found; the layer has {present}"),
            columns=", ".join(map(repr, absent)),
            present=", ".join(map(repr, map(str, gdf.columns))),
        )
    if tooltip_aliases is not None and len(tooltip_aliases) != len(tooltip_columns):
        raise ValueError("tooltip_aliases must have one label per tooltip column")
    if setup.tile_url and not setup.attribution:
        raise ValueError("a basemap (tile_url) needs its attribution text")
    if gdf.crs is None:
        raise CRSError.worded(N_("the layer has no CRS; set it (gdf.set_crs(...)) before mapping"))


def _drawable_units(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the units that have a geometry, in EPSG:4326 (raise when there are none)."""
    keep = gdf.geometry.notna() & ~gdf.geometry.is_empty
    if not keep.all():
        logger.info("leaving out %d unit(s) without geometry", int((~keep).sum()))
    units = gdf.loc[keep]
    if units.empty:
        raise EmptyInputError.worded(N_("there is no unit with a geometry to map"))
    return units if units.crs.equals("EPSG:4326") else units.to_crs(4326)


def _unit_features(units: gpd.GeoDataFrame, style: UnitStyle, tooltip_columns: list[str],
                   popup_columns: list[str], id_column: str | None,
                   ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Return the units as a FeatureCollection (fill, id, escaped tips) and the legend items."""
    if style.color_column:
        colours, legend_items = _colours(units[style.color_column], style.palette,
                                         style.missing_label, style.category_colors)
    else:
        colours, legend_items = [style.fill_color] * len(units), []
    raw_props: dict[str, list[Any]] = {
        str(col): [_json_value(v) for v in units[col]]
        for col in dict.fromkeys(c for c in [id_column, style.color_column] if c)
    }
    for k, col in enumerate(tooltip_columns):
        raw_props[f"_tip{k}"] = [html.escape(_format_value(v)) for v in units[col]]
    for k, col in enumerate(popup_columns):
        raw_props[f"_pop{k}"] = [html.escape(_format_value(v)) for v in units[col]]
    features = [
        {
            "type": "Feature",
            "id": str(i),
            "properties": {"_fill": colours[i], **{k: v[i] for k, v in raw_props.items()}},
            "geometry": geometry,
        }
        for i, geometry in enumerate(_geometry_json(units.geometry.values))
    ]
    return {"type": "FeatureCollection", "features": features}, legend_items


def _empty_map(bounds: Sequence[float], setup: MapSetup) -> folium.Map:
    """Return a map centred on ``bounds`` (lon/lat) with its look, metric scale and basemap."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=12,
        tiles=None,
        height=setup.height,
        control_scale=False,
    )
    _MapLook(setup.background, "Leaflet").add_to(m)
    _MetricScale().add_to(m)
    if setup.tile_url:
        folium.TileLayer(
            tiles=setup.tile_url, attr=setup.attribution, name="basemap", overlay=False,
            control=True
        ).add_to(m)
    return m


def _add_unit_layer(m: folium.Map, data: dict[str, Any], style: UnitStyle, *, layer_name: str,
                    aliases: Sequence[str], popup_columns: list[str]) -> None:
    """Draw the units' FeatureCollection with its fills, tooltips and popups."""

    def fill(feature: dict[str, Any]) -> dict[str, Any]:
        return {
            "fillColor": feature["properties"]["_fill"],
            "color": style.line_color,
            "weight": style.line_weight,
            "fillOpacity": style.fill_opacity,
        }

    def highlight(_feature: dict[str, Any]) -> dict[str, Any]:
        return {"weight": style.line_weight + 2,
                "fillOpacity": min(1.0, style.fill_opacity + 0.2)}

    tooltip = folium.GeoJsonTooltip(
        fields=[f"_tip{k}" for k in range(len(aliases))],
        aliases=[html.escape(str(a)) for a in aliases],
        sticky=True,
    ) if aliases else None
    popup = folium.GeoJsonPopup(
        fields=[f"_pop{k}" for k in range(len(popup_columns))],
        aliases=[html.escape(str(c)) for c in popup_columns],
    ) if popup_columns else None
    folium.GeoJson(
        data,
        name=html.escape(layer_name),
        style_function=fill,
        highlight_function=highlight,
        tooltip=tooltip,
        popup=popup,
        zoom_on_click=False,
    ).add_to(m)


def add_outlines(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str = DEFAULT_LINE,
    weight: float = 0.6,
    dash: str | None = None,
) -> folium.Map:
    """Draw a layer's boundaries (no fill, no tooltips) on a map, e.g. communities under streets.

    Parameters
    ----------
    m : folium.Map
        The map to draw on; returned for chaining.
    gdf : geopandas.GeoDataFrame
        Polygons (converted to EPSG:4326).
    name : str
        Layer name in the layer control (escaped).
    color, weight, dash :
        Line colour, width in pixels and an optional SVG dash pattern such as ``"4 3"``.
    """
    units = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if units.crs is not None and not units.crs.equals("EPSG:4326"):
        units = units.to_crs(4326)
    style = {"color": color, "weight": weight, "fill": False, "interactive": False}
    if dash:
        style["dashArray"] = dash
    folium.GeoJson(
        json.loads(units.geometry.to_json()),
        name=html.escape(name),
        style_function=lambda _f: style,
        interactive=False,
    ).add_to(m)
    return m


def add_points(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color_column: str | None = None,
    category_colors: Mapping[str, str] | None = None,
    tooltip_columns: Sequence[str] = (),
    tooltip_aliases: Sequence[str] | None = None,
    radius: float = 5.0,
    color: str = DEFAULT_LINE,
) -> folium.Map:
    """Draw points (facilities, residents) as circle markers with escaped tooltips.

    Parameters
    ----------
    m : folium.Map
        The map to draw on; returned for chaining.
    gdf : geopandas.GeoDataFrame
        Points (converted to EPSG:4326; polygons use their representative point).
    name : str
        Layer name in the layer control (escaped).
    color_column, category_colors :
        Colour by a column's values, with fixed colours for some values.
    tooltip_columns, tooltip_aliases :
        Shown on hover; values are HTML-escaped.
    radius : float
        Marker radius in pixels.
    color : str
        Colour when there is no ``color_column``.
    """
    pts = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if pts.crs is not None and not pts.crs.equals("EPSG:4326"):
        pts = pts.to_crs(4326)
    if len(pts) == 0:
        return m
    geoms = pts.geometry.representative_point()
    if color_column:
        colours, _ = _colours(pts[color_column], None, "no data", category_colors)
    else:
        colours = [color] * len(pts)
    aliases = list(tooltip_aliases) if tooltip_aliases is not None else list(tooltip_columns)
    # One GeoJSON layer of circle markers: a folium element per point compiles a
    # template each, which took seconds per thousand facilities.
    tips = [
        [html.escape(_format_value(v)) for v in pts[c].tolist()] for c in tooltip_columns
    ]
    coords = _geometry_json(geoms.values)
    features = [
        {
            "type": "Feature",
            "id": str(i),
            "properties": {"_fill": colours[i], **{f"_tip{k}": t[i] for k, t in enumerate(tips)}},
            "geometry": g,
        }
        for i, g in enumerate(coords)
    ]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return {"color": DEFAULT_LINE, "weight": 1, "fillColor": feature["properties"]["_fill"],
                "fillOpacity": 0.9}

    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=html.escape(name),
        marker=folium.CircleMarker(radius=radius, fill=True),
        style_function=style,
        tooltip=folium.GeoJsonTooltip(
            fields=[f"_tip{k}" for k in range(len(tips))],
            aliases=[f"<b>{html.escape(str(a))}</b>" for a in aliases],
        ) if tips else None,
        zoom_on_click=False,
    ).add_to(m)
    return m


def _geometry_json(geoms: Any) -> list[dict[str, Any]]:
    """Return GeoJSON geometry dicts (six decimals, about 0.1 m), written by GEOS."""
    rounded = shapely.transform(np.asarray(geoms), lambda xy: np.round(xy, 6))
    return json.loads("[" + ",".join(shapely.to_geojson(rounded).tolist()) + "]")


def add_areas(
    m: folium.Map,
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str = "#2563eb",
    fill_opacity: float = 0.15,
    show: bool = True,
) -> folium.Map:
    """Draw filled areas or lines without interaction (e.g. service areas), as one layer.

    Lines (a service area drawn as the ways within reach) get a visible stroke.
    Coordinates are written with six decimals (about 0.1 m), through GEOS's GeoJSON
    writer, so a layer of hundreds of thousands of vertices costs a fraction of a
    second.
    """
    areas = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if areas.crs is not None and not areas.crs.equals("EPSG:4326"):
        areas = areas.to_crs(4326)
    lines = bool(len(areas)) and bool(areas.geom_type.str.contains("Line").all())
    style = {"color": color, "weight": 2.5 if lines else 0.5, "opacity": 0.8,
             "fillColor": color, "fillOpacity": fill_opacity}
    rounded = shapely.transform(np.asarray(areas.geometry.values), lambda xy: np.round(xy, 6))
    features = ",".join(
        f'{{"type":"Feature","properties":{{}},"geometry":{g}}}'
        for g in shapely.to_geojson(rounded).tolist()
    )
    _StaticGeoJson(
        f'{{"type":"FeatureCollection","features":[{features}]}}',
        style=style, name=html.escape(name), show=show,
    ).add_to(m)
    return m


class _StaticGeoJson(folium.map.Layer):
    """A non-interactive GeoJSON layer embedded as written by GEOS (never re-encoded).

    ``folium.GeoJson`` parses its data and encodes it again when the map is
    rendered: seconds for a service area of a city's streets.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.geoJson({{ this.data_json }}, {
                interactive: false,
                style: function () { return {{ this.style | tojson }}; }
            });
        {% endmacro %}
        """
    )

    def __init__(self, data_json: str, *, style: dict[str, Any], name: str, show: bool) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "StaticGeoJson"
        # GEOS writes numbers and fixed keys only; keep a stray "</" from closing the script
        self.data_json = data_json.replace("</", "<\\/")
        self.style = style


def base_map(
    bounds: Sequence[float],
    *,
    height: int = 600,
    tile_url: str | None = None,
    attribution: str | None = None,
    background: str = "#eef0f2",
) -> folium.Map:
    """Return an empty map fitted to ``(minx, miny, maxx, maxy)`` in lon/lat, no tiles by default.

    Layers that change (the editor's) are passed to ``st_folium`` separately
    with ``feature_group_to_add``, so the map itself is not rebuilt per edit.
    """
    if tile_url and not attribution:
        raise ValueError("a basemap (tile_url) needs its attribution text")
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=13,
        tiles=None,
        height=height,
        control_scale=False,
    )
    _MapLook(background, "Leaflet").add_to(m)
    _MetricScale().add_to(m)
    if tile_url:
        folium.TileLayer(tiles=tile_url, attr=attribution, name="basemap").add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def editor_layers(
    blocks: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    *,
    fill_column: str,
    tooltip_columns: Sequence[str],
    tooltip_aliases: Sequence[str],
    street_color_column: str,
    selected: Sequence[bool] | None = None,
    extra_outlines: gpd.GeoDataFrame | None = None,
    name: str = "plan",
    label_column: str | None = None,
) -> folium.FeatureGroup:
    """Return the editor's layers as one feature group.

    Blocks are filled with ``fill_column`` (a colour per block, e.g. its
    street's), streets are outlined with ``street_color_column`` (e.g. red
    when outside a band, dashed when locked via a ``dash`` column; locked
    streets are drawn last, so their neighbours' lines never hide the dash),
    selected blocks are drawn on top in yellow. With ``label_column`` each
    street's text is written inside it. Tooltip values are HTML-escaped.
    """
    group = folium.FeatureGroup(name=html.escape(name))
    b = blocks.to_crs(4326) if blocks.crs is not None and not blocks.crs.equals(4326) else blocks
    feats = []
    geo_json = json.loads(b.geometry.to_json())["features"]
    for i, feat in enumerate(geo_json):
        props = {
            "_fill": b[fill_column].iloc[i],
            "_sel": bool(selected[i]) if selected is not None else False,
        }
        for k, col in enumerate(tooltip_columns):
            props[f"_tip{k}"] = html.escape(_format_value(b[col].iloc[i]))
        feats.append({"type": "Feature", "properties": props, "geometry": feat["geometry"]})

    def block_style(feature: dict[str, Any]) -> dict[str, Any]:
        sel = feature["properties"]["_sel"]
        return {
            "fillColor": "#facc15" if sel else feature["properties"]["_fill"],
            "color": "#111827" if sel else "#94a3b8",
            "weight": 3 if sel else 0.6,
            "fillOpacity": 0.75 if sel else 0.45,
        }

    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name="blocks",
        style_function=block_style,
        highlight_function=lambda _f: {"weight": 2.5, "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(
            fields=[f"_tip{k}" for k in range(len(tooltip_columns))],
            aliases=[html.escape(str(a)) for a in tooltip_aliases],
            sticky=True,
        ),
        zoom_on_click=False,
    ).add_to(group)
    if extra_outlines is not None and len(extra_outlines):
        eo = extra_outlines.to_crs(4326)
        folium.GeoJson(
            json.loads(eo.geometry.to_json()),
            name="grids",
            interactive=False,
            style_function=lambda _f: {"color": "#94a3b8", "weight": 0.4, "fill": False},
        ).add_to(group)
    s = (
        streets.to_crs(4326)
        if streets.crs is not None and not streets.crs.equals(4326)
        else streets
    )
    sfeats = []
    for i, feat in enumerate(json.loads(s.geometry.to_json())["features"]):
        props = {
            "_line": s[street_color_column].iloc[i],
            "_dash": str(s["dash"].iloc[i]) if "dash" in s.columns else "",
        }
        sfeats.append({"type": "Feature", "properties": props, "geometry": feat["geometry"]})
    sfeats.sort(key=lambda f: bool(f["properties"]["_dash"]))  # locked (dashed) on top
    folium.GeoJson(
        {"type": "FeatureCollection", "features": sfeats},
        name="streets",
        interactive=False,
        style_function=lambda f: {
            "color": f["properties"]["_line"],
            "weight": 4 if f["properties"]["_dash"] else 2.5,
            "fill": False,
            "dashArray": f["properties"]["_dash"] or None,
        },
    ).add_to(group)
    if label_column is not None:
        add_labels(group, s, column=label_column, name="street labels")
    return group


def simplify_coverage(
    gdf: gpd.GeoDataFrame, *, tolerance_m: float, metric_crs: Any
) -> gpd.GeoDataFrame:
    """Return polygons simplified for drawing without opening gaps between neighbours.

    Uses :func:`shapely.coverage_simplify`, which simplifies shared edges
    once for both sides, so neighbouring units still meet exactly. Invalid
    coverages (overlaps) fall back to simplifying each polygon on its own.
    """
    if len(gdf) == 0:
        return gdf
    metric = gdf.to_crs(metric_crs)
    geoms = np.asarray(metric.geometry.values, dtype=object)
    try:
        simple = shapely.coverage_simplify(geoms, tolerance_m)
    except shapely.errors.GEOSException:
        simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    out = metric.set_geometry(gpd.GeoSeries(simple, index=metric.index, crs=metric.crs))
    return out.to_crs(gdf.crs)
