"""Layers the browser keeps between reruns: drawn once, restyled in place.

``st_folium`` sends its ``feature_group_to_add`` with every rerun and the
browser throws the old groups away and evaluates the new ones, so a click that
only changes the selection used to send, parse and redraw a whole city's
blocks. A :class:`HeldLayers` element instead hands the browser a short list of
layers, each named by a *slot* and a *key*:

* a layer whose slot holds the same key already is left as it is;
* a layer with a new key replaces the one in its slot;
* its data is a URL (fetched once per URL and kept in the page) or a small
  inline FeatureCollection (the selection);
* a *paint* (fill and line colours, tooltip rows per feature, itself a URL)
  restyles the layer's shapes without redrawing them: after a move only the
  colours and tooltips change, the geometry stays;
* ``min_zoom`` shows a layer only when zoomed in that far (a city's grids);
* ``detail`` gives finer versions of the same shapes (same features, same
  order) from a zoom level in: zoomed in, each shape takes its finer outline in
  place (colours, tooltips and clicks stay), zoomed out it takes the coarse one
  back. A city is drawn coarse for the whole view and fine up close.

Each slot has its own map pane (``z`` orders them), so layers that arrive late
still stack in order. A click on an interactive shape reaches the app at once
(``st_folium`` waits 250 ms before it sends a click) and never as a "drawing".
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from geo.maps.view import LEGEND_CONTROL_JS

LABEL_CSS = ("pointer-events:none;white-space:nowrap;transform:translate(-50%,-50%);"
             "font:600 12px/1.2 sans-serif;color:#111827;text-shadow:0 0 3px #fff,"
             "0 0 3px #fff,0 0 3px #fff")
"""How a label (:attr:`HeldLayer.labels`) is written."""


@dataclass(frozen=True)
class HeldLayer:
    """One layer kept in the browser.

    Parameters
    ----------
    slot : str
        The layer's place: one layer per slot; a new ``key`` replaces it.
    url : str, optional
        Where the browser fetches the layer's FeatureCollection (kept per URL).
    data : str, optional
        The FeatureCollection itself (for small layers such as the selection).
    key : str, optional
        What identifies the data; by default the URL, or a digest of ``data``.
    paint : str, optional
        URL of ``{"f": [...], "l": [...], "d": [...], "t": [[...]]}``: fill
        colour, line colour, dash pattern and tooltip row per feature, applied
        to the shapes already drawn.
    style : dict
        Leaflet path options every shape shares; a feature's properties ``f``,
        ``l``, ``d`` set its fill, line and dash.
    aliases : sequence of str
        Tooltip headings (escaped here) for property ``t``.
    interactive : bool
        Whether its shapes take clicks (sent to the app as ``last_object_clicked``).
    labels : bool
        Points written as text (property ``n``, escaped HTML) instead of shapes.
    min_zoom : int, optional
        Shown only from this zoom level in.
    detail : sequence of (int, str)
        ``(zoom, url)``: from that zoom level in, the shapes take the outlines
        of the FeatureCollection at ``url`` (the same features in the same
        order, simplified less).
    z : int
        Stacking order (the CSS z-index of the layer's pane; Leaflet's own overlays are
        at 400, markers at 600).
    """

    slot: str
    url: str | None = None
    data: str | None = None
    key: str | None = None
    paint: str | None = None
    style: dict[str, Any] = field(default_factory=dict)
    aliases: Sequence[str] = ()
    interactive: bool = False
    labels: bool = False
    min_zoom: int | None = None
    detail: Sequence[tuple[int, str]] = ()
    z: int = 400

    def __post_init__(self) -> None:
        if (self.url is None) == (self.data is None):
            raise ValueError(f"held layer {self.slot!r} needs either a url or data, not both")

    def spec(self) -> dict[str, Any]:
        """Return what the browser is told about this layer (JSON-ready)."""
        key = self.key or self.url or hashlib.blake2b(
            (self.data or "").encode(), digest_size=12).hexdigest()
        return {"slot": self.slot, "key": key, "src": self.url, "paint": self.paint,
                "style": dict(self.style), "aliases": [html.escape(str(a)) for a in self.aliases],
                "interactive": bool(self.interactive), "labels": bool(self.labels),
                "min_zoom": self.min_zoom, "z": int(self.z),
                "detail": sorted([int(zoom), str(url)] for zoom, url in self.detail)}


_RUNTIME = """
(function (map, specs, inline, legend) {
  if (!map || !window.L) { return; }
  var W = window.__wangge = window.__wangge || {held: {}, files: {}, pending: 0, drawn: 0};
  function track(promise) {  // W.pending layers on their way, W.drawn done (tests, benchmarks)
    W.pending += 1;
    return promise.then(function (v) { W.pending -= 1; W.drawn += 1; return v; },
                        function (err) { W.pending -= 1; console.error(err); });
  }
  var root = location.pathname.split("/component/")[0] || "";
  function get(src) {
    if (!W.files[src]) {
      var url = src.charAt(0) === "/" ? root + src : src;
      W.files[src] = fetch(url).then(function (r) {
        if (!r.ok) { throw new Error("wangge: " + url + " answered " + r.status); }
        return r.json();
      });
      W.files[src].catch(function () { delete W.files[src]; });
    }
    return W.files[src];
  }
  function styled(base, p) {
    var s = Object.assign({}, base);
    if (p && p.f) { s.fillColor = p.f; }
    if (p && p.l) { s.color = p.l; }
    if (p && p.d) { s.dashArray = p.d; s.weight = (s.weight || 2) + 1.5; }
    return s;
  }
  function tip(aliases, t) {
    return "<table>" + aliases.map(function (a, k) {
      return "<tr><th style='text-align:left;padding-right:6px'>" + a + "</th><td>"
        + (t && t[k] !== undefined ? t[k] : "") + "</td></tr>";
    }).join("") + "</table>";
  }
  function send(e) {
    var g = window.__GLOBAL_DATA__, S = window.Streamlit;
    if (!g || !S || !e.latlng) { return; }
    // Each click is numbered (its time, so a map loaded again never repeats a number), and a
    // second click on the very same point is a new click, unless it is the second half of
    // a double click (zooming in), which keeps the first one's number. The number goes on
    // the event's own latlng: st_folium binds its (250 ms late) click handler to these
    // shapes too, reads that latlng and then finds nothing new to send.
    var now = Date.now(), last = g.last_object_clicked;
    var twice = last && last.n && last.lat === e.latlng.lat && last.lng === e.latlng.lng
      && now - last.n < 500;
    var click = e.latlng;
    click.n = twice ? last.n : now;
    g.last_object_clicked = click;
    if (twice) { return; }
    var all = {last_object_clicked: click, last_active_drawing: g.last_active_drawing};
    var wanted = g.returned_objects || [];
    if (!wanted.every(function (k) { return k in all; })) { return; }
    var data = {};
    Object.keys(all).forEach(function (k) { if (wanted.indexOf(k) >= 0) { data[k] = all[k]; } });
    if (JSON.stringify(g.previous_data) !== JSON.stringify(data)) {
      g.previous_data = data;
      S.setComponentValue(data);
    }
  }
  function pane(spec) {
    var name = "wangge-" + spec.slot;
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = String(spec.z);
      p.style.pointerEvents = "none";
    }
    return name;
  }
  function build(held, fc) {
    var spec = held.spec, group = L.layerGroup(), shapes = [], where = pane(spec);
    (fc.features || []).forEach(function (f) {
      var layer, p = f.properties || {};
      if (spec.labels) {
        var c = f.geometry.coordinates;
        layer = L.marker([c[1], c[0]], {pane: where, interactive: false, keyboard: false,
          icon: L.divIcon({className: "", iconSize: [0, 0],
            html: "<div class='wangge-label' style='" + spec.label_css + "'>" + p.n + "</div>"})});
      } else {
        layer = L.GeoJSON.geometryToLayer(f, Object.assign(
          {pane: where, interactive: spec.interactive}, styled(spec.style, p)));
        if (spec.interactive) { layer.on("click", send); }
        if (spec.aliases.length) {
          layer.bindTooltip(function (l) {
            return tip(held.spec.aliases, (l.feature.properties || {}).t);
          }, {sticky: true});
        }
      }
      layer.feature = f;
      shapes.push(layer);
      group.addLayer(layer);
    });
    return {group: group, shapes: shapes};
  }
  function paint(held, p) {
    held.shapes.forEach(function (layer, k) {
      var props = layer.feature.properties = layer.feature.properties || {};
      if (p.f) { props.f = p.f[k]; }
      if (p.l) { props.l = p.l[k]; }
      if (p.d) { props.d = p.d[k]; }
      if (p.t) { props.t = p.t[k]; }
      if (layer.setStyle) { layer.setStyle(styled(held.spec.style, props)); }
    });
  }
  function source(spec) {  // the layer's file for this zoom: spec.detail from its zoom in
    var z = map.getZoom(), src = spec.src;
    (spec.detail || []).forEach(function (d) { if (z >= d[0]) { src = d[1]; } });
    return src;
  }
  function outline(held) {  // the shapes' outlines for this zoom, swapped in place
    if (!held.shapes || W.held[held.spec.slot] !== held || held.spec.labels) { return; }
    var src = source(held.spec);
    if (!src || held.outline === src) { return; }
    held.outline = src;
    track(get(src).then(function (fc) {
      if (W.held[held.spec.slot] !== held || held.outline !== src) { return; }
      (fc.features || []).forEach(function (f, k) {
        var layer = held.shapes[k], g = f.geometry;
        if (!layer || !layer.setLatLngs || !g || !g.coordinates) { return; }
        layer.setLatLngs(L.GeoJSON.coordsToLatLngs(g.coordinates,
          g.type === "MultiPolygon" ? 2 : g.type === "Polygon" || g.type === "MultiLineString"
            ? 1 : 0));
      });
    }, function (err) {
      if (held.outline === src) { held.outline = null; }  // tried again at the next zoom
      throw err;
    }));
  }
  function fit(held) {
    if (!held.group || W.held[held.spec.slot] !== held) { return; }
    var on = !held.spec.min_zoom || map.getZoom() >= held.spec.min_zoom;
    if (on && !map.hasLayer(held.group)) { map.addLayer(held.group); }
    if (!on && map.hasLayer(held.group)) { map.removeLayer(held.group); }
  }
  if (W.map !== map) {
    W.map = map; W.held = {}; W.legend = null; W.legendKey = null;
    // the overlay pane's SVG would catch the pointer over held layers stacked below it
    // (interactive shapes in it still take events: Leaflet's CSS gives them their own)
    map.getPane("overlayPane").style.pointerEvents = "none";
    map.on("zoomend", function () {
      Object.keys(W.held).forEach(function (slot) { fit(W.held[slot]); outline(W.held[slot]); });
    });
  }
  var lk = JSON.stringify(legend);
  if (W.legendKey !== lk) {
    if (W.legend) { map.removeControl(W.legend); W.legend = null; }
    if (legend) { W.legend = (%(legend_js)s)(legend[0], legend[1]); W.legend.addTo(map); }
    W.legendKey = lk;
  }
  var wanted = {};
  specs.forEach(function (spec) {
    spec.label_css = %(label_css)s;
    wanted[spec.slot] = true;
    var held = W.held[spec.slot];
    if (held && held.spec.key !== spec.key) {
      if (held.group) { map.removeLayer(held.group); }
      held = null;
    }
    if (!held) {
      held = W.held[spec.slot] = {spec: spec, painted: null};
      var first = spec.src ? source(spec) : null;  // zoomed in, the finer file at once
      held.ready = (first ? get(first) : Promise.resolve(inline[spec.slot])).then(function (fc) {
        var b = build(held, fc);
        held.group = b.group; held.shapes = b.shapes; held.outline = first;
        fit(held);
        outline(held);
        return held;
      });
      track(held.ready);
    }
    held.spec = spec;
    fit(held);
    outline(held);
    if (spec.paint && held.painted !== spec.paint) {
      held.painted = spec.paint;
      track(Promise.all([held.ready, get(spec.paint)]).then(function (r) {
        if (W.held[spec.slot] === held && held.painted === spec.paint) { paint(held, r[1]); }
      }));
    }
  });
  Object.keys(W.held).forEach(function (slot) {
    if (!wanted[slot]) {
      if (W.held[slot].group) { map.removeLayer(W.held[slot].group); }
      delete W.held[slot];
    }
  });
})(window.map, %(specs)s, %(inline)s, %(legend)s);
"""


class HeldLayers(MacroElement):
    """Put :class:`HeldLayer` s on the map ``st_folium`` shows (inside a feature group).

    The script it writes is small whatever the layers' size (URLs, keys and
    styles; inline data only for the layers given ``data``), and it is the same
    for the same layers, so ``st_folium`` does not even re-evaluate it. A
    ``legend`` (title, items as for :func:`geo.maps.view.add_legend`) is shown
    in the map's corner and replaced when it changes.
    """

    _template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")

    def __init__(self, layers: Sequence[HeldLayer],
                 legend: tuple[str, Sequence[Sequence[str]]] | None = None) -> None:
        super().__init__()
        self._name = "HeldLayers"
        self.layers = list(layers)
        slots = [layer.slot for layer in self.layers]
        if len(set(slots)) != len(slots):
            raise ValueError(f"each held layer needs its own slot; got {slots}")
        inline = {layer.slot: _Raw(layer.data) for layer in self.layers if layer.data is not None}
        self.js = _RUNTIME % {
            "label_css": _script_json(LABEL_CSS),
            "specs": _script_json([layer.spec() for layer in self.layers]),
            "inline": "{" + ",".join(f"{_script_json(k)}:{v.text}" for k, v in inline.items())
                      + "}",
            "legend": _script_json(None if legend is None
                                   else [legend[0], [list(item) for item in legend[1]]]),
            "legend_js": LEGEND_CONTROL_JS,
        }

    def specs(self) -> list[dict[str, Any]]:
        """Return what the browser is told about each layer."""
        return [layer.spec() for layer in self.layers]

    def render(self, **kwargs: Any) -> str:
        """Add the script to the figure as it is, never compiled as a template.

        Names in the inline data may hold ``{{ }}``.
        """
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("HeldLayers are rendered inside a map (a branca Figure).")
        figure.script.add_child(_Text(self.js), name=self.get_name())
        return ""


class _Text(Element):
    """A piece of a figure written out as it is (not a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the text."""
        return self.text


class _Raw:
    """A JSON text put into the script as it is (a stray ``</`` cannot close the script)."""

    def __init__(self, text: str) -> None:
        self.text = text.replace("</", "<\\/")


def _script_json(value: Any) -> str:
    """JSON for inside a ``<script>``: ``</`` written so it cannot end the script."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
