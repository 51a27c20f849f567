"""Printable maps of a street plan for reports: PNG and PDF with legend, north arrow and scale.

A planning bureau pastes the plan into a report or prints it for a meeting,
so the map must explain itself without the app: communities filled by their
street, streets outlined by their status against the rulebook (dashed when
locked), street names, a legend, a north arrow, a metric scale bar and a
title naming the district, the plan and the date.

The map is drawn with matplotlib (no pyplot state, no network, no basemap
tiles) in a transverse Mercator projection centred on the district, so north
is up at the centre and the scale bar is true to a fraction of a per mille
across a district. Street names are data and are drawn as they are; the
other texts are in the chosen language (``lang``). Chinese needs a CJK font:
:func:`chinese_font` finds one (Noto CJK, WenQuanYi, Source Han and the
like); without one a warning is logged, since the Chinese glyphs would
otherwise be drawn as empty boxes.

Files are written through :func:`geo._atomic.atomic_path`, so a failed write
leaves an earlier map as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pyproj

from geo._atomic import atomic_path
from geo.errors import InputError
from geo.i18n import N_, text
from geo.maps.view import CATEGORICAL_PALETTE, STATUS_LINE

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from geo.plan.model import Plan
    from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

FORMATS = ("png", "pdf")
"""The file formats of a printed map."""

DEFAULT_SIZE_PX = (2339, 1654)
"""Pixel size of a PNG: A4 landscape at :data:`DEFAULT_DPI` (the PDF is A4 landscape)."""

DEFAULT_DPI = 200

CJK_FONTS: tuple[str, ...] = (
    "Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Microsoft YaHei",
    "SimHei", "PingFang SC", "Hiragino Sans GB", "Sarasa Gothic SC", "AR PL UMing CN",
    "Droid Sans Fallback",
)  # fmt: skip
"""Font families able to draw Chinese, in order of preference."""

LOCKED_LINE = "#111827"
"""Colour of the dash drawn over a locked street's outline (as in the editor's legend)."""

MAX_LEGEND_STREETS = 10

TEXTS = {
    "legend": N_("Legend"),
    "ok": N_("outline: within both bands"),
    "outside": N_("outline: outside a band"),
    "no rule": N_("outline: no rule"),
    "no data": N_("outline: a figure is missing"),
    "locked": N_("dashed: locked street"),
    "more": N_("… {n} more streets"),
    "north": N_("N"),
    "title": N_("{district} · plan {plan} · {date}"),
    "sample": N_("Built-in sample district (fictional)"),
    "current": N_("current"),
    "footer": N_("Fill: street; outline: status against the rulebook {rules}. WGS-84 data drawn "
                 "in a transverse Mercator projection centred on the district. Made with "
                 "wangge."),
}
"""Every text the map shows besides the data, as message ids of the interface catalogue."""


def map_text(key: str, lang: str, **fields: Any) -> str:
    """Return the map's text ``key`` of :data:`TEXTS` in ``lang``, fields filled in."""
    return text(TEXTS[key], lang, **fields)


def _status_key(status: object) -> str:
    value = str(status)
    if value in ("ok", "outside", "no rule", "no data"):
        return value
    return "no rule"


def _status_colour(key: str) -> str:
    return STATUS_LINE.get(key, STATUS_LINE["no rule"])


# --------------------------------------------------------------------------- fonts


def _needs_cjk(value: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in value)


@lru_cache(maxsize=1)
def chinese_font() -> str | None:
    """Return the family name of an installed font that draws Chinese, or None.

    Looks through matplotlib's font list for the families of :data:`CJK_FONTS`
    (first match wins), then for any family whose name says CJK, SC or Hei.

    Returns
    -------
    str or None
        The family name, such as ``"WenQuanYi Micro Hei"``; None when no such
        font is installed (install ``fonts-noto-cjk`` or ``fonts-wqy-microhei``).
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FONTS:
        if family in names:
            return family
    for family in sorted(names):
        if any(tag in family for tag in ("CJK", " SC", "Hei", "Song", "Kai")):
            return family
    return None


def _font_families(texts: Sequence[str]) -> list[str]:
    """Return the font family list for these texts (Latin font first, Chinese fallback)."""
    families = ["DejaVu Sans"]
    found = chinese_font()
    if found is not None:
        families.append(found)
    elif any(_needs_cjk(t) for t in texts):
        logger.warning(
            "No font that draws Chinese is installed, so Chinese names on the printed map "
            "would show as empty boxes. Install fonts-noto-cjk or fonts-wqy-microhei (or any "
            "CJK font) and run again."
        )
    return families


# --------------------------------------------------------------------------- geometry


def local_crs(bounds: Sequence[float]) -> pyproj.CRS:
    """Return a transverse Mercator CRS centred on lon/lat ``bounds`` (metres, north up).

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` in degrees.

    Returns
    -------
    pyproj.CRS
        Scale factor 1 on the central meridian, which passes through the centre.
    """
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    return pyproj.CRS.from_dict({"proj": "tmerc", "lon_0": round(lon0, 6),
                                 "lat_0": round(lat0, 6), "k": 1, "x_0": 0, "y_0": 0,
                                 "datum": "WGS84", "units": "m"})


def nice_length_m(span_m: float, *, share: float = 0.22) -> float:
    """Return a round scale-bar length (1, 2 or 5 × 10ⁿ m) near ``share`` of ``span_m``.

    Parameters
    ----------
    span_m : float
        Width of the map in metres; must be positive.
    share : float, default 0.22
        Wanted length as a share of the width.

    Returns
    -------
    float
        The largest of 1, 2, 2.5, 5 × 10ⁿ metres not above ``share × span_m``.
    """
    if not span_m > 0:
        raise InputError.worded(N_("The map must have a positive width, not {width} m."),
                                width=span_m)
    target = share * span_m
    power = 10 ** np.floor(np.log10(target))
    for step in (5.0, 2.5, 2.0, 1.0):
        if step * power <= target:
            return float(step * power)
    return float(power)  # pragma: no cover - 1 × 10ⁿ is always ≤ target


def format_length(metres: float) -> str:
    """Return a scale-bar label: ``500 m``, ``1 km``, ``2.5 km``."""
    if metres >= 1000:
        km = metres / 1000
        return f"{km:g} km"
    return f"{metres:g} m"


# --------------------------------------------------------------------------- drawing


def street_colours(plan: Plan, codes: Sequence[str]) -> dict[str, str]:
    """Return a fill per street: the editor's colour, changed only where a neighbour has it.

    The editor gives streets :data:`CATEGORICAL_PALETTE` in turn, so with more
    streets than colours two may share one; on paper, without tooltips, two
    neighbouring streets must not. A street whose neighbour (a street sharing
    a boundary) already has its colour takes the first colour no neighbour has.

    Parameters
    ----------
    plan : geo.plan.model.Plan
        The plan; its block adjacency says which streets touch.
    codes : sequence of str
        Street codes in the editor's order.

    Returns
    -------
    dict of str to str
        Street code → fill colour.
    """
    palette = CATEGORICAL_PALETTE
    base = plan.base
    street_of = np.asarray(plan.assignment)
    order = [s.code for s in plan.streets]
    position = {code: k for k, code in enumerate(order)}
    blocks = np.repeat(np.arange(len(base.indptr) - 1), np.diff(base.indptr))
    a, b = street_of[blocks], street_of[base.indices]
    touching: dict[int, set[int]] = {}
    for x, y in zip(a[a != b].tolist(), b[a != b].tolist(), strict=True):
        touching.setdefault(x, set()).add(y)
    chosen: dict[int, str] = {}
    for k, code in enumerate(codes):
        pos = position.get(code, -1)
        taken = {chosen[n] for n in touching.get(pos, ()) if n in chosen}
        wanted = palette[k % len(palette)]
        chosen[pos] = wanted if wanted not in taken else next(
            (c for c in palette if c not in taken), wanted)
    return {code: chosen[position.get(code, -1)] for code in codes}



def _scale_bar(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> float:
    """Draw a metric scale bar at the lower left; return its length in metres."""
    from matplotlib.patches import Rectangle

    width, height = xlim[1] - xlim[0], ylim[1] - ylim[0]
    length = nice_length_m(width)
    x0, y0 = xlim[0] + 0.04 * width, ylim[0] + 0.05 * height
    bar_h = 0.012 * height
    half = length / 2
    for k, colour in enumerate(("#111111", "#ffffff")):
        ax.add_patch(Rectangle((x0 + k * half, y0), half, bar_h, facecolor=colour,
                               edgecolor="#111111", linewidth=0.8, zorder=20))
    for x, label in ((x0, "0"), (x0 + half, format_length(half)),
                     (x0 + length, format_length(length))):
        ax.text(x, y0 + bar_h * 1.6, label, ha="center", va="bottom", fontsize=8, zorder=20)
    return length


def _north_arrow(ax: Axes, label: str) -> None:
    ax.annotate(label, xy=(0.95, 0.95), xytext=(0.95, 0.84), xycoords="axes fraction",
                textcoords="axes fraction", ha="center", va="center", fontsize=13, zorder=20,
                arrowprops={"facecolor": "#111111", "edgecolor": "#111111", "width": 4,
                            "headwidth": 13, "headlength": 12})


def plan_map_figure(
    plan: Plan,
    rulebook: Rulebook | None = None,
    *,
    district_name: str,
    plan_name: str | None = None,
    lang: str = "zh",
    day: dt.date | None = None,
    size_px: tuple[int, int] = DEFAULT_SIZE_PX,
    dpi: int = DEFAULT_DPI,
) -> Figure:
    """Draw a plan as a printable map: fills, status outlines, labels, legend, arrow, scale, title.

    Parameters
    ----------
    plan : geo.plan.model.Plan
        The plan to draw (its blocks, their streets and the streets' status).
    rulebook : Rulebook, optional
        Rulebook the status is judged against; the default rulebook otherwise.
    district_name : str
        The district as the title names it (data: drawn as given).
    plan_name : str, optional
        The plan as the title names it; ``plan.name`` by default.
    lang : {"zh", "en"}
        Language of the map's own texts (legend, north arrow, title, footer).
    day : datetime.date, optional
        Date in the title; today by default.
    size_px : (int, int)
        Width and height in pixels at ``dpi`` (the PDF page is this size in inches ÷ dpi).
    dpi : int
        Dots per inch of the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        A figure made without pyplot (safe in a server), ready for ``savefig``.

    Raises
    ------
    InputError
        When ``size_px`` or ``dpi`` are not positive.
    """
    import matplotlib.patheffects as pe
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    width_px, height_px = (int(v) for v in size_px)
    if width_px < 200 or height_px < 150 or dpi <= 0:
        raise InputError.worded(
            N_("A printed map needs at least 200 × 150 pixels and a positive dpi, not {width} × "
               "{height} at {dpi} dpi."),
            width=width_px, height=height_px, dpi=dpi,
        )
    if rulebook is None:
        from geo.rules.rulebook import load_rulebook

        rulebook = load_rulebook()
    table = plan.street_table(rulebook)
    streets = plan.street_geometries()
    base = plan.base
    colour = street_colours(plan, list(table["code"]))
    status = {c: _status_key(s) for c, s in zip(table["code"], table["status"], strict=True)}
    street_of = plan.assignment_frame()["parent_code"].to_numpy()
    blocks = gpd.GeoDataFrame({"street": street_of}, geometry=list(base.geometry), crs=4326)
    crs = local_crs(blocks.total_bounds)
    blocks = blocks.to_crs(crs)
    streets = streets.to_crs(crs)

    def tr(key: str, **fields: Any) -> str:
        return map_text(key, lang, **fields)

    day = day or dt.date.today()
    title = tr("title", district=district_name, plan=plan_name or plan.name,
               date=day.isoformat())
    names = [str(n) for n in streets["name"].fillna("")]
    families = _font_families([title, *names, tr("legend")])

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    fig.set_facecolor("white")
    import matplotlib as mpl

    # names with $ are text, not mathematics
    with mpl.rc_context({"font.family": families, "text.parse_math": False}):
        ax = fig.add_axes((0.03, 0.08, 0.68, 0.80))
        fig.text(0.03, 0.95, title, fontsize=17, va="center",
                 family=families)
        blocks.plot(ax=ax, color=blocks["street"].map(colour).fillna("#dddddd").to_list(),
                    edgecolor="#ffffff", linewidth=0.4, zorder=1)
        keys = streets["code"].map(status)
        lines = streets.assign(key=keys.to_numpy())
        for locked in (False, True):  # locked last, so their dash is never hidden
            part = lines[lines["locked"].astype(bool) == locked]
            if part.empty:
                continue
            part.boundary.plot(ax=ax, color=[_status_colour(k) for k in part["key"]],
                               linewidth=2.2, zorder=3 + locked)
            if locked:
                part.boundary.plot(ax=ax, color=LOCKED_LINE, linewidth=1.4,
                                   linestyle=(0, (5, 3)), zorder=5)
        halo = [pe.withStroke(linewidth=3, foreground="white")]
        for geom, name, code in zip(streets.geometry, streets["name"], streets["code"],
                                    strict=True):
            point = geom.representative_point()
            ax.text(point.x, point.y, str(name) if name else str(code), ha="center",
                    va="center", fontsize=9, color="#111111", path_effects=halo, zorder=10,
                    family=families)
        minx, miny, maxx, maxy = blocks.total_bounds
        pad = 0.06 * max(maxx - minx, maxy - miny)
        xlim, ylim = (minx - pad, maxx + pad), (miny - pad, maxy + pad)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        length = _scale_bar(ax, xlim, ylim)
        _north_arrow(ax, tr("north"))

        handles: list[Any] = [Patch(facecolor=colour[c], edgecolor="#888888", label=str(n or c))
                              for c, n in zip(table["code"][:MAX_LEGEND_STREETS],
                                              table["name"][:MAX_LEGEND_STREETS], strict=True)]
        if len(table) > MAX_LEGEND_STREETS:
            handles.append(Patch(facecolor="none", edgecolor="none",
                                 label=tr("more", n=len(table) - MAX_LEGEND_STREETS)))
        shown = ["ok", "outside", *[k for k in ("no rule", "no data") if k in set(status.values())]]
        handles += [Line2D([], [], color=_status_colour(k), linewidth=2.2, label=tr(k))
                    for k in shown]
        handles.append(Line2D([], [], color=LOCKED_LINE, linewidth=1.4, linestyle=(0, (5, 3)),
                              label=tr("locked")))
        legend = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.73, 0.88),
                            frameon=False, fontsize=9, title=tr("legend"), title_fontsize=11,
                            alignment="left", prop={"family": families, "size": 9})
        legend.get_title().set_fontfamily(families)
        rules_name = rulebook.name_zh if lang == "zh" else ""
        fig.text(0.03, 0.03, tr("footer", rules=rules_name or rulebook.name), fontsize=7,
                 color="#444444", va="center", family=families, wrap=True)
    logger.debug("printed map of plan %s: scale bar %g m, %d streets", plan.name, length,
                 len(streets))
    return fig


def _format_of(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise InputError.worded(
            N_("A map is written as PNG or PDF: name the file .png or .pdf (not {name})."),
            name=repr(path.name),
        )
    return chosen


def _save(fig: Figure, target: Any, fmt: str, title: str) -> None:
    import matplotlib as mpl

    metadata = {"Title": title, "Creator": "wangge"} if fmt == "pdf" else {
        "Title": title, "Software": "wangge"}
    with warnings.catch_warnings(record=True) as caught, \
            mpl.rc_context({"pdf.fonttype": 42}):  # TrueType in the PDF: text stays searchable
        warnings.simplefilter("always")
        fig.savefig(target, format=fmt, dpi=fig.dpi, metadata=metadata, facecolor="white")
    missing = sorted({str(w.message).split(")", 1)[0].rsplit("{", 1)[-1].rstrip("}")
                      for w in caught if "missing from font" in str(w.message)})
    if missing:  # one line naming the characters, instead of one warning per glyph
        logger.warning("%d character(s) have no glyph in the installed fonts and show as empty "
                       "boxes on the map (%s). Install fonts-noto-cjk or fonts-wqy-microhei.",
                       len(missing), ", ".join(missing[:5]))
    for w in caught:
        if "missing from font" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _title_of(fig: Figure) -> str:
    return str(fig.texts[0].get_text()) if fig.texts else "wangge"


def plan_map_bytes(plan: Plan, rulebook: Rulebook | None = None, *, fmt: str = "png",
                   **options: Any) -> bytes:
    """Return the printed map of a plan as PNG or PDF bytes (for a download button).

    Parameters
    ----------
    plan : geo.plan.model.Plan
        The plan to draw.
    rulebook : Rulebook, optional
        As in :func:`plan_map_figure`.
    fmt : {"png", "pdf"}
        The format.
    **options
        Passed on to :func:`plan_map_figure` (``district_name`` is required).

    Returns
    -------
    bytes
        The file's content.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputError.worded(N_("A map is written as png or pdf, not {fmt}."),
                                fmt=repr(fmt))
    fig = plan_map_figure(plan, rulebook, **options)
    buf = io.BytesIO()
    _save(fig, buf, fmt, _title_of(fig))
    return buf.getvalue()


def write_plan_map(plan: Plan, path: str | os.PathLike[str], rulebook: Rulebook | None = None,
                   *, fmt: str | None = None, **options: Any) -> Path:
    """Write the printed map of a plan to ``path`` atomically (PNG or PDF by its suffix).

    Parameters
    ----------
    plan : geo.plan.model.Plan
        The plan to draw.
    path : path-like
        The file to write; ``.png`` or ``.pdf`` unless ``fmt`` is given.
    rulebook : Rulebook, optional
        As in :func:`plan_map_figure`.
    fmt : {"png", "pdf"}, optional
        The format; by default from the suffix.
    **options
        Passed on to :func:`plan_map_figure` (``district_name`` is required).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    InputError
        When the format is neither PNG nor PDF.
    geo.errors.WriteError
        When the file cannot be written (full disk, no permission); an earlier
        file is left as it was.
    """
    target = Path(path)
    chosen = _format_of(target, fmt)
    fig = plan_map_figure(plan, rulebook, **options)
    with atomic_path(target) as tmp:
        _save(fig, tmp, chosen, _title_of(fig))
    logger.info("wrote the map of plan %s to %s", plan.name, target)
    return target


__all__ = ["chinese_font", "format_length", "local_crs", "map_text", "nice_length_m",
           "plan_map_bytes", "plan_map_figure", "write_plan_map"]
