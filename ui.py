"""Session glue shared by the app's pages: language, navigation, the open district and plan.

No GIS here: everything computed comes from ``geo``. Each browser session
holds its own :class:`geo.plan.model.Plan`; every edit is written to the project's
GeoPackage as it happens. The project, the plan and the language are kept in
the URL (``?project=KEY&plan=NAME&lang=zh``) and carried by every link, so a
reload, a new tab or a server restart brings the planner back to where they
were. Every page runs inside :func:`run_page`: a :class:`WanggeError` shows its
message (which names the fix), anything else is logged and shown as one line.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st

from geo import _format
from geo.district.hierarchy import build_district, read_district
from geo.district.model import District
from geo.errors import InputError, PlanError, WanggeError
from geo.findings import Named, Phrase, Word
from geo.i18n import LANGUAGES, N_, text
from geo.plan.base import PlanBase
from geo.plan.model import Edit, Plan
from geo.plan.store import PlanStore
from geo.project import district_fingerprint, home, project_path
from geo.rules.rulebook import Rulebook, load_rulebook
from geo.sample.build import sample_district

logger = logging.getLogger("wangge.app")

ORIGINAL = "original"
"""The plan holding the district as loaded: kept read-only, the default "before" on Compare."""
CARRIED = ("project", "plan", "lang", "basemap", "tiles", "tiles_crs")
"""Query parameters every link carries (the basemap's preset, URL and CRS too; never a key)."""

LEVEL_NAMES = {"street": N_("streets"), "community": N_("communities"), "grid": N_("grids")}


# ------------------------------------------------------------------------ language
_last_lang = ["zh"]  # for labels formatted outside a script run (AppTest's widget setters)


def lang() -> str:
    """Return the interface language: the URL's ``lang``, else the session's, else Chinese."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return _last_lang[0]
    code = st.query_params.get("lang")
    if code not in LANGUAGES:
        code = st.session_state.get("lang")
    _last_lang[0] = str(code) if code in LANGUAGES else "zh"
    return _last_lang[0]


def _(message: str, /, **fields: Any) -> str:
    """Return ``message`` in the chosen language, ``{fields}`` filled in."""
    return text(message, lang(), **fields)


def t(message: str, /, **fields: Any) -> str:
    """Alias of :func:`_` for pages that bind ``_`` to something else."""
    return _(message, **fields)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def plain(value: object) -> str:
    """Return text (a name, a message naming units) escaped so Streamlit shows it as typed.

    Streamlit renders Markdown in titles, captions and alerts: a community
    named ``![i](http://host/t.png)`` would make the browser fetch that URL.
    Every ASCII punctuation mark is backslash-escaped (CommonMark), which
    also stops bare URLs becoming links; line breaks become spaces.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def language_picker() -> None:
    """Draw the language switch in the sidebar; the choice goes into the URL."""
    codes = list(LANGUAGES)
    st.session_state["lang"] = lang()

    def keep() -> None:
        st.query_params["lang"] = st.session_state["lang"]

    st.sidebar.radio(_("Language"), codes, key="lang", horizontal=True,
                     format_func=lambda c: LANGUAGES[c], on_change=keep)
    st.query_params["lang"] = lang()


def carried() -> dict[str, str]:
    """The query parameters every link carries (project, plan, language)."""
    return {k: str(st.query_params[k]) for k in CARRIED if st.query_params.get(k)}


# --------------------------------------------------------------------- page guard
def error_text(exc: WanggeError) -> str:
    """An error's message in the chosen language (translated where it was raised worded)."""
    return worded_text(exc.template, exc.fields) if exc.template else str(exc)


def friendly(exc: BaseException) -> str:
    """Return what the planner reads for an error: the message of ours, one line otherwise."""
    if isinstance(exc, WanggeError):  # escaped: messages name units, and names are text
        return plain(_("This could not be done: {message}", message=error_text(exc)))
    return _("Something went wrong here and it has been logged. Reload the page or go back "
             "one step; your plan is saved after every step.")


def run_page(page: Any) -> None:
    """Run a page (anything with ``run()``, or a callable); never show a traceback.

    A :class:`WanggeError` is shown as its message (it names the fix); any other
    exception is logged with its traceback and shown as one friendly line.
    Streamlit's own control flow (``st.stop``, ``st.rerun``, page switches)
    derives from ``BaseException`` and passes through.
    """
    try:
        page.run() if hasattr(page, "run") else page()
    except WanggeError as exc:
        st.error(friendly(exc))
    except Exception as exc:  # noqa: BLE001 - the one place the app catches everything
        logger.exception("The page %s failed", getattr(page, "url_path", page))
        st.error(friendly(exc))


def callback(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a widget callback so an error becomes a message on the page, never a traceback."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown by show_messages()
            if not isinstance(exc, WanggeError):
                logger.exception("The action %s failed", fn.__name__)
            st.session_state["edit_error"] = friendly(exc)
            return None

    return wrapped


def show_messages() -> None:
    """Show (once) the error and the note the last action left."""
    if msg := st.session_state.pop("edit_error", None):
        st.error(plain(msg))
    if note := st.session_state.pop("edit_note", None):
        st.success(plain(note))


# ------------------------------------------------------------------ district, plan
@st.cache_resource(show_spinner=False)
def rulebook() -> Rulebook:
    """The default rulebook (read-only, shared)."""
    return load_rulebook()


@st.cache_resource(show_spinner=False)
def _sample_district() -> District:
    rb = rulebook()
    return build_district(sample_district(), household_size=rb.household_size,
                          notes=["Built-in sample district (fictional)."])


@st.cache_resource(show_spinner=False)
def _project_district(path: str) -> District:
    return read_district(path, household_size=rulebook().household_size)


@st.cache_resource(show_spinner=False)
def _base(key: str, _district: District) -> PlanBase:
    return PlanBase.from_district(_district)


def district() -> tuple[District, str, Path]:
    """Return the open district, its label and its project file.

    The project is named in the URL (``?project=KEY``); without one, the
    built-in sample is open.
    """
    key = st.query_params.get("project")
    if key and key != "sample":
        path = home() / f"district-{key}.gpkg"
        if path.exists():
            try:
                return _project_district(str(path)), _("project {key}", key=key), path
            except WanggeError as exc:
                st.error(plain(_("The project file {file} could not be opened: {message}",
                                 file=path.name, message=error_text(exc))))
        else:
            st.warning(plain(_("Project {key} was not found; showing the sample.", key=key)))
        st.query_params["project"] = "sample"
    d = _sample_district()
    return d, _("Built-in sample district (fictional)"), project_path(d, sample=True)


def edit_problem(d: District) -> str | None:
    """Return why ``d`` cannot be edited (in the chosen language), or None when it can.

    Editing moves communities (or grids) between streets, so it needs a street
    level and a finer one.
    """
    levels = d.levels
    if "street" in levels and len(levels) > 1:
        return None
    have = "、".join(_(LEVEL_NAMES[lv]) for lv in levels) if lang() == "zh" else \
        ", ".join(_(LEVEL_NAMES[lv]) for lv in levels)
    if "street" not in levels:
        return _("This district has {levels} but no streets, so there are no streets to move "
                 "units between. Load its street layer (or a street code column on the "
                 "communities) on the Data page to edit. You can view, check and export it as "
                 "it is.", levels=have)
    return _("This district has only {levels}. Editing moves communities between streets, so "
             "it needs the finer level: load the communities (or grids) on the Data page. You "
             "can view, check and export it as it is.", levels=have)


def open_project(d: District) -> str:
    """Save an uploaded district as a project file and open it; return its key."""
    from geo.io import write_units

    key = district_fingerprint(d)
    path = home() / f"district-{key}.gpkg"
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another tab saved the same data first
            write_units(d.units, path, fmt="gpkg", exclusive=True)
    st.query_params["project"] = key
    st.query_params["plan"] = "current"
    for name in ("plan", "selection"):
        st.session_state.pop(name, None)
    return key


def store(path: Path) -> PlanStore:
    """Return the plan store of a project file."""
    return PlanStore(path)


def plan_label(name: str) -> str:
    """The name a planner reads for a plan (the original plan in the chosen language)."""
    if name == ORIGINAL:
        return _("original (as loaded, read-only)")
    return _("current") if name == "current" else name


def plan() -> tuple[Plan, PlanStore, District]:
    """Return this session's plan (loaded from the project file, or started fresh).

    The plan is the one the URL names; without one, the one this session had
    open, else ``current``. The project also keeps an ``original`` plan: the
    district as loaded, read-only.

    Raises
    ------
    InputError
        If the district cannot be edited (see :func:`edit_problem`).
    """
    d, _label, path = district()
    problem = edit_problem(d)
    if problem is not None:
        raise InputError(problem)
    key = str(path)
    held: Plan | None = st.session_state.get("plan")
    held_key = st.session_state.get("plan_project")
    name = st.query_params.get("plan") or (
        held.name if held is not None and held_key == key else "current")
    s = store(path)
    if held is not None and held.name == name and held_key == key:
        if s.refresh(held):  # another tab or window changed this plan
            st.toast(_("Changed in another tab — updated."))
        st.query_params["plan"] = name
        return held, s, d
    base = _base(key, d)
    if not s.has_plan(ORIGINAL):
        s.save_plan(Plan(base, name=ORIGINAL))
    # A plan named in the URL is stored by its first edit, never by the visit alone.
    p = s.load_plan(name, base) if s.has_plan(name) else Plan(base, name=name)
    st.session_state["plan"] = p
    st.session_state["plan_project"] = key
    st.session_state["selection"] = []
    st.query_params["plan"] = name
    return p, s, d


def plan_names(s: PlanStore) -> list[str]:
    """The plans of a store, the original first."""
    names = [str(n) for n in s.list_plans()["name"]]
    return sorted(names, key=lambda n: (n != ORIGINAL, names.index(n)))


def plan_picker(p: Plan, s: PlanStore) -> None:
    """Draw the plan picker in the sidebar; the choice goes into the URL."""
    options = plan_names(s)
    if p.name not in options:
        options.append(p.name)
    st.session_state["plan_picker"] = p.name  # follow the plan the URL names

    def pick() -> None:
        st.query_params["plan"] = st.session_state["plan_picker"]

    st.sidebar.selectbox(_("Plan"), options, key="plan_picker", on_change=pick,
                         format_func=plan_label)


def apply(edit_fn: Callable[[Plan], Edit | None]) -> None:
    """Run an edit on this session's plan and record it at once; errors go to the page."""
    p, s, _d = plan()
    try:
        if p.name == ORIGINAL:
            raise PlanError(_("The original plan is kept as it was loaded. Save it under a new "
                              "name (sidebar) and edit that plan."))
        edit: Edit | None = edit_fn(p)
        if s.record(p, edit):  # other tabs' steps were taken in first
            st.session_state["edit_note"] = _("Changed in another tab — updated.")
    except WanggeError as exc:
        st.session_state["edit_error"] = error_text(exc)


@st.cache_resource(show_spinner=False)
def _simple_blocks(key: str, _base: PlanBase) -> list:
    import geopandas as gpd

    from geo.maps.view import simplify_coverage

    frame = gpd.GeoDataFrame(geometry=list(_base.geometry), crs=4326)
    return list(simplify_coverage(frame, tolerance_m=5.0, metric_crs=_base.metric_crs).geometry)


def block_shapes(p: Plan) -> list:
    """The plan's block polygons, simplified once per district for drawing (no gaps opened)."""
    return _simple_blocks(p.base.district_key, p.base)


def project_key(path: Path) -> str:
    """The key naming a project file in the URL (``sample`` for the built-in sample)."""
    return "sample" if path.name == "sample.gpkg" else path.stem.removeprefix("district-")


class Drawing(NamedTuple):
    """A level's shapes as the editor's map draws them (kept once per district)."""

    shapes: Any
    """The simplified polygons (lon/lat, or GCJ-02 for such a basemap)."""
    texts: list[str]
    """Each shape's GeoJSON geometry."""
    tolerance: float
    """The simplification tolerance (m)."""
    layer: str
    """All of them as one FeatureCollection without properties (a held layer's file)."""


@st.cache_resource(show_spinner=False, max_entries=16)
def _drawing(key: str, gcj: bool, _geoms: Any, _metric_crs: Any, fine: bool = False) -> Drawing:
    import shapely

    from geo.maps.editor import (
        MIN_TOLERANCE_M,
        drawing_shapes,
        features,
        geojson_texts,
        shift_gcj02,
        view_tolerance_m,
    )

    tolerance = (MIN_TOLERANCE_M if fine else
                 view_tolerance_m(shapely.total_bounds(list(_geoms)), metric_crs=_metric_crs))
    shapes = drawing_shapes(_geoms, metric_crs=_metric_crs, tolerance_m=tolerance)
    if gcj:
        shapes = shift_gcj02(shapes)
    texts = geojson_texts(shapes)
    return Drawing(shapes, texts, tolerance, features(texts, [{}] * len(texts)))


def drawing_blocks(p: Plan, *, gcj: bool = False, fine: bool = False) -> Drawing:
    """The plan's blocks for drawing (:class:`Drawing`).

    Simplified once per district to a tolerance that fits the view of the whole
    district (:func:`geo.maps.editor.view_tolerance_m`), or with ``fine`` to the
    finest drawing tolerance (for zooming in); shifted to GCJ-02 when the basemap
    needs it.
    """
    return _drawing(f"{p.base.district_key}|blocks|{fine}", gcj, p.base.geometry,
                    p.base.metric_crs, fine)


def drawing_grids(d: District, p: Plan, *, gcj: bool = False) -> Drawing:
    """The district's grids for drawing (:class:`Drawing`, simplified once per district)."""
    grids = d.units["grid"]
    return _drawing(f"{p.base.district_key}|grids", gcj, grids.geometry.values,
                    p.base.metric_crs)


def browser_file(text: str, name: str) -> str:
    """Hand ``text`` (JSON) to the browser as a file; return its URL (the same for the same text).

    Streamlit's media files serve it (named by a digest of the content, kept
    while a rerun of this session names it), so a map layer the browser holds
    already is never sent again (:mod:`geo.maps.held`). The latest text per
    ``name`` stays in the session, where tests read what the map was given.
    """
    import hashlib

    from streamlit.runtime import Runtime

    data = text.encode()
    # Streamlit tells a file over 1 MiB from another by samples of it (length, head, middle,
    # tail): a city's paint or street outlines after a move can keep all of them, and would be
    # served from the old file. A digest of the whole text in the file name (part of its id)
    # tells them apart. The place ("coordinates") stays one per name, so a session keeps
    # only its latest file of each.
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    url = Runtime.instance().media_file_mgr.add(data, "application/json",
                                                f"wangge-held-{name}",
                                                file_name=f"{name}-{digest}.json")
    st.session_state.setdefault("_browser_files", {})[name] = (url, text)
    return url


def split_and_reopen(code: str, line: dict) -> dict:
    """Split a community, save the new district as a project and carry every plan over.

    Each plan keeps its streets; the two new communities join the street the
    old one was in. The plans before the split stay in the old project, linked
    to the new one, so Undo past the split goes back to them (see
    :mod:`geo.plan.splits`).
    """
    from geo.district.edit import split_community
    from geo.io import write_units
    from geo.plan.splits import carry_plans

    progress = progress_bar(_("Splitting the community…"))
    p, s, d = plan()
    s.save_plan(p, if_absent=True)  # a plan opened but not yet edited is carried over too
    _d, _label, path = district()
    progress(N_("splitting the community"), 0.05)
    new, info = split_community(d, code, line)
    key = district_fingerprint(new)
    new_path = home() / f"district-{key}.gpkg"
    progress(N_("writing the new district"), 0.35)
    if not new_path.exists():
        write_units(new.units, new_path, fmt="gpkg")
    progress(N_("carrying the plans over"), 0.5)
    carry_plans(s, _base(str(path), d), store(new_path), _base(str(new_path), new),
                old_key=project_key(path), new_key=key, code=code, new_codes=info["new"])
    st.query_params["project"] = key
    for k in ("plan", "selection", "split_line"):
        st.session_state.pop(k, None)
    progress(N_("done"), 1.0)
    return info


def split_step(p: Plan, s: PlanStore, direction: str) -> Any:
    """Return the split an Undo (``undo``) or Redo (``redo``) of ``p`` would cross, or None.

    Undo crosses a split when the plan has no step of its own left to take
    back and was carried over from the project before the split; Redo, when it
    has nothing to redo and stands exactly as it was when it was split.
    """
    from geo.plan.splits import plan_state as split_state
    from geo.plan.splits import split_link

    if direction == "undo":
        return None if p.can_undo else split_link(s, p.name, "from")
    if p.can_redo:
        return None
    link = split_link(s, p.name, "to")
    return link if link is not None and link.state == split_state(p) else None


def cross_split(link: Any) -> None:
    """Open the plan on the other side of a split (the project before it, or after it)."""
    st.query_params["project"] = link.project
    for k in ("plan", "selection", "split_line"):
        st.session_state.pop(k, None)
    a, b = link.new_codes
    st.session_state["edit_note"] = (
        _("Split undone: community {old} is whole again (the plan as it was before the split).",
          old=link.code) if link.direction == "from" else
        _("Split redone: community {old} is {a} and {b} again.", old=link.code, a=a, b=b))


def sample_based(path: Path) -> bool:
    """Whether a project is the built-in sample or was made from it by splitting communities."""
    from geo.plan.splits import origin_of

    return path.name == "sample.gpkg" or origin_of(store(path)) == "sample"


# ---------------------------------------------------------------------- navigation
PAGES = (
    # (script, title, icon, url path)
    ("views/boundaries.py", N_("Boundaries"), "🗺️", "boundaries"),
    ("views/compare.py", N_("Compare plans"), "⚖️", "compare"),
    ("views/overview.py", N_("Check"), "🏙️", "check"),
    ("views/coverage.py", N_("Coverage"), "🏥", "coverage"),
    ("views/export.py", N_("Export"), "📦", "export"),
    ("views/data.py", N_("Data"), "📂", "data"),
)


def app() -> None:
    """The whole app: pages, a sidebar whose links carry project, plan and language, guarded.

    Streamlit's own page menu drops the query string, so it is hidden and the
    links are drawn with :func:`streamlit.page_link` before the page runs (so a
    slow page never leaves the sidebar empty); actions that change the plan or
    project run as callbacks, before the script, so the links carry their result.
    """
    pages = [st.Page(script, title=_(title), icon=icon, url_path=path)
             for script, title, icon, path in PAGES]
    # The app opens on Boundaries at "/"; Streamlit serves its default page only there, so the
    # default is a hidden twin and "/boundaries" (a link, typed or bookmarked) works as well.
    script, title, icon, _path = PAGES[0]
    home = st.Page(script, title=_(title), icon=icon, url_path="start", default=True,
                   visibility="hidden")
    current = st.navigation([home, *pages], position="hidden")
    links = st.sidebar.container()
    language_picker()
    uploader_in_language()
    run_page(sidebar_plan)  # resolves the plan into the URL before the links are drawn
    params = carried()
    with links:
        for page in ([home, *pages[1:]] if current is home else pages):  # the open one lit
            st.page_link(page, query_params=params)
    run_page(current)


def uploader_in_language() -> None:
    """Word Streamlit's own file-uploader texts ("Upload", "100MB per file") in the language.

    Streamlit draws them itself, in English, with no option to change them; in another
    language its words are hidden by CSS and ours shown in their place (written by hand:
    no library does it). Should a Streamlit version rename these elements, its English
    simply shows again.
    """
    if lang() == "en":
        return
    limit = st.get_option("server.maxUploadSize")
    button = '[data-testid="stFileUploaderDropzone"] [data-testid="stMarkdownContainer"] p'
    size = '[data-testid="stFileUploaderDropzoneInstructions"] span:first-child'
    words = {"upload": _("Upload"), "limit": _("{n} MB per file", n=limit)}
    # a CSS string: quotes and backslashes escaped, the characters themselves kept
    quoted = {k: json.dumps(v, ensure_ascii=False) for k, v in words.items()}
    st.html(  # style only: applied to the page, nothing drawn
        "<style>"
        f"{button}{{font-size:0}}{button}::after{{content:{quoted['upload']};"
        "font-size:0.875rem}"
        f"{size}{{font-size:0}}{size}::after{{content:{quoted['limit']};font-size:0.8rem}}"
        "</style>"
    )


def sidebar_plan() -> None:
    """Draw the plan picker when the open district can be edited (every page)."""
    d, _label, _path = district()
    if edit_problem(d) is not None:
        return
    p, s, _d = plan()
    plan_picker(p, s)


# ------------------------------------------------------------------ what is shown
number = _format.number


STATUS_TEXT = {
    "ok": N_("✅ within both bands"),
    "outside": N_("❌ outside a band"),
    "no rule": N_("— no rule for its kind"),
    "no data": N_("— figure missing"),
}
# the unit after a figure ("60,700 people"): in Chinese 人 and 户, not the measure's name again
UNIT_TEXT = {"km2": N_("km²"), "km²": N_("km²"), "residents": N_("people"),
             "households": N_("homes"), "m2": N_("m²"), "m²": N_("m²"),
             "residents/km2": N_("residents/km²"), "residents/km²": N_("residents/km²"),
             "pieces": N_("pieces")}
MEASURE_TEXT = {"km2": N_("area"), "km²": N_("area"), "residents": N_("residents"),
                "households": N_("households"), "residents/km2": N_("density"),
                "residents/km²": N_("density")}
LEVEL_TEXT = {"street": N_("street"), "community": N_("community"), "grid": N_("grid"),
              "district": N_("district")}
SEVERITY_TEXT = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}


def status_text(status: Any) -> str:
    """A unit's status against its bands, in the chosen language."""
    return _(STATUS_TEXT[status]) if status in STATUS_TEXT else number(None)


def finding_message(f: Any) -> str:
    """A finding's message in the chosen language.

    English is the library's own message. Other languages are written here
    from the finding's rule id and figures (value, band, deviation); a finding
    no template covers keeps the library's message.
    """
    if lang() == "en":
        return str(f.message)
    unit = _(UNIT_TEXT.get(f.unit, f.unit)) if f.unit else ""
    who = " ".join(p for p in (_(LEVEL_TEXT.get(f.level, f.level)), f.name or "",
                               f"({f.code})" if f.code else "") if p)
    rule = str(f.rule)
    if rule == "plan.empty_street":
        return _("{who} has no communities. Move communities into it, or undo creating it; an "
                 "empty street is left out of exports.", who=who)
    if rule == "plan.noncontiguous":
        return _("{who} is in {n} pieces. The smallest ({area} km²) is cut off from the rest: "
                 "move it to a neighbouring street, or move the communities between the pieces "
                 "into this street.", who=who, n=number(f.value),
                 area=number((f.area_m2 or 0) / 1e6, 2))
    if rule == "propose.compactness_target":
        return _("The roundest plan found has mean compactness {value} against the target "
                 "{target}.",
                 value=number(f.value, 2), target=number(f.minimum, 2))
    if rule == "propose.compactness_ceiling":
        return _("Even a mix of the round streets tried here that meet both bands, taken in "
                 "fractions, has a mean compactness of {value} at most, below the target "
                 "{target}: with these bands the target is most likely out of reach in this "
                 "district, and a longer search is unlikely to help. This is an estimate from "
                 "the streets tried, not a proof.",
                 value=number(f.value, 2), target=number(f.minimum, 2))
    if rule == "propose.dense_core":
        return _("A dense core of {n} communities ({names}) has {value} residents/km², denser "
                 "than any street meeting both bands may be ({high} at most): the streets "
                 "sharing it must reach out to sparser land, drawn out from the core like "
                 "wedges, which costs them roundness. Widen the bands for this district, or "
                 "accept the wedges.",
                 n=len(f.related), names=f.name or "", value=number(f.value),
                 high=number(f.maximum))
    if rule == "propose.compactness_search":
        return _("No dense core explains the streets short of the compactness targets; more "
                 "refinement iterations or another seed may find rounder streets.")
    if getattr(f, "template", ""):  # the library's own template (geo.findings.worded)
        return worded_text(f.template, f.args)
    if f.value is not None and f.deviation is not None and (f.minimum is not None
                                                            or f.maximum is not None):
        digits = 2 if f.unit in ("km2", "km²") else 0
        band = f"{number(f.minimum, digits)}–{number(f.maximum, digits)}"
        text_ = _("{who}: {measure} {value} {unit} is {side} the band {band} {unit} by "
                  "{deviation} {unit} ({pct}%).", who=who,
                  measure=_(MEASURE_TEXT.get(f.unit, f.unit)), value=number(f.value, digits),
                  unit=unit, side=_("below") if f.deviation < 0 else _("above"), band=band,
                  deviation=number(abs(f.deviation), digits),
                  pct=number(abs(f.deviation_pct or 0), 1))
        if f.status == "unconfirmed":
            text_ += " " + _("The band is an unconfirmed default.")
        return text_
    return str(f.message)


def said(value: Any) -> Any:
    """A value the library wrote, in the chosen language; anything else as it is.

    A :class:`~geo.findings.Word` is translated, a :class:`~geo.findings.Phrase`
    from its own template, a :class:`~geo.findings.Named` shows its Chinese
    form in Chinese; names, codes and figures stay as they are.
    """
    if isinstance(value, Phrase):
        if not value.template and not value.parts:
            return str(value)  # gettext("") would give the catalogue's header
        if value.parts:
            return _(value.args.get("sep", "; ")).join(str(said(p)) for p in value.parts)
        return worded_text(value.template, value.args)
    if isinstance(value, Named):
        return value.zh if lang() == "zh" and value.zh else value
    return _(value) if isinstance(value, Word) and value else value


def worded_text(template: str, args: Mapping[str, Any]) -> str:
    """A library template (:func:`geo.findings.worded`) in the chosen language, filled in."""
    if not template:
        return ""
    return _(template, **{k: said(v) for k, v in args.items()})


def findings_csv(findings: Sequence[Any]) -> bytes:
    """The findings as a CSV file (UTF-8 with BOM, for Excel), messages in the chosen language.

    The columns are the library's (:func:`geo.findings.findings_to_frame`), so a table
    read by a script keeps its shape; only the ``message`` a planner reads is translated.
    """
    import io as _io

    from geo.findings import findings_to_frame
    from geo.io import write_csv

    frame = findings_to_frame(list(findings))
    frame["message"] = [finding_message(f) for f in findings]
    buf = _io.StringIO()
    write_csv(frame, buf)
    return buf.getvalue().encode("utf-8-sig")


def describe_edit(edit: Edit, noun: str = "community") -> str:
    """The last step in words, for the caption under the undo button."""
    if edit.op == "move":
        n = len(edit.blocks)
        what = _("community") if noun == "community" else _("grid")
        return _("Last step: moved {n} {what} to {street}", n=n, what=what, street=edit.street)
    if edit.op == "new_street":
        return _("Last step: new street {name} ({code})", name=edit.name, code=edit.street)
    if edit.op == "lock":
        return (_("Last step: locked {street}", street=edit.street) if edit.locked
                else _("Last step: unlocked {street}", street=edit.street))
    return _("Last step: renamed {street} to {name}", street=edit.street, name=edit.name)


def street_rows(table: Any) -> Any:
    """The street table as a planner reads it: headings and statuses in words, figures formatted.

    Locked streets carry 🔒 before their name; missing figures show "—".
    """
    import pandas as pd

    def signed(digits: int) -> Callable[[Any], str]:
        return lambda v: "—" if number(v) == "—" else f"{float(v):+,.{digits}f}"

    return pd.DataFrame({
        _("name"): [("🔒 " if lk else "") + str(n)
                    for n, lk in zip(table["name"], table["locked"], strict=True)],
        _("status"): table["status"].map(status_text),
        _("area km²"): table["area_km2"].map(lambda v: number(v, 2)),
        _("residents"): table["population"].map(number),
        _("households"): table["households"].map(number),
        _("Δ km²"): table["change_area_km2"].map(signed(2)),
        _("Δ residents"): table["change_population"].map(signed(0)),
        _("compactness"): table["compactness"].map(lambda v: number(v, 2)),
        _("pieces"): table["pieces"].map(number),
        _("code"): table["code"].astype(str),
    })


def street_columns() -> dict[str, Any]:
    """Column settings of :func:`street_rows`: the name stays in view when scrolling."""
    return {_("name"): st.column_config.TextColumn(pinned=True)}


def editor_legend(table: Any, colour: dict[str, str]) -> list[tuple[str, str, str]]:
    """Legend rows of the editor's map: street fills, status outlines, locked, selected."""
    from geo.maps.view import STATUS_LINE

    rows = [(colour[c], str(n), "fill") for c, n in zip(table["code"][:10], table["name"][:10],
                                                         strict=True)]
    if len(table) > 10:
        rows.append(("transparent", _("… {n} more streets", n=len(table) - 10), "fill"))
    rows += [(STATUS_LINE["ok"], _("outline: within both bands"), "line"),
             (STATUS_LINE["outside"], _("outline: outside a band"), "line"),
             (STATUS_LINE["no rule"], _("outline: no rule"), "line"),
             ("#111827", _("dashed: locked street"), "dash"),
             ("#facc15", _("yellow: selected"), "fill")]
    return rows


def plan_state(p: Plan) -> str:
    """A key that changes with every change of what the plan holds (assignment, streets).

    Heavy results (the check, the audit, the export files) are cached under it,
    so a rename, an undo or a redo never serves results of another state; two
    sessions (or an undo back to an earlier state) with the same plan share them.
    """
    return f"{p.base.district_key}|{p.name}|{p.state_digest()}"


@st.cache_resource(show_spinner=False)
def _shared_results() -> tuple[dict[str, Any], Any]:
    import threading

    return {}, threading.RLock()


def shared_result(name: str, key: str, compute: Callable[[], Any], *, max_entries: int = 4,
                  session: bool = False) -> Any:
    """Return ``compute()`` cached under ``(name, key)`` for every session, the latest kept.

    Unlike ``st.cache_resource`` the computation may draw on the page (a
    progress bar with stages), and it is drawn only when it runs. ``key`` must
    name everything the result depends on (e.g. :func:`plan_state` and the
    inputs' digests), so it can never go stale. With ``session`` the result is
    kept for this session only (objects a page changes as it draws them, such
    as a folium map).
    """
    from collections import OrderedDict

    held, lock = _shared_results()
    if session:
        held = st.session_state.setdefault("_session_results", {})
    with lock:
        entries = held.setdefault(name, OrderedDict())
        if key in entries:
            entries.move_to_end(key)
            return entries[key]
    value = compute()
    with lock:
        entries[key] = value
        while len(entries) > max_entries:
            entries.popitem(last=False)
    return value


def fragment(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``fn`` a Streamlit fragment: its widgets rerun only it, not the whole page.

    ``WANGGE_FRAGMENTS=0`` in the environment turns this off (the whole page
    reruns on every click, as before), for comparing the two in a benchmark.
    """
    if os.environ.get("WANGGE_FRAGMENTS", "1").strip() in ("0", "false", "no", "off"):
        return fn

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> None:
        # an error inside a fragment never reaches run_page: guard it the same way here
        run_page(lambda: fn(*args, **kwargs))

    return st.fragment(guarded)


def per_revision(name: str, p: Plan, compute: Callable[[], Any], *extra: Any) -> Any:
    """Return ``compute()`` for this plan's current revision, computed once per revision.

    Kept in the session (one entry per ``name``): a click that changes only the
    selection reuses the street table, findings and map layers; any edit,
    undo, redo or refresh gives the plan a new :attr:`~geo.plan.model.Plan.revision`
    and so a fresh result. ``extra`` (language, options) is part of the key.
    """
    memo: dict[str, tuple[Any, Any]] = st.session_state.setdefault("_per_revision", {})
    key = (id(p), p.revision, p.name, *extra)
    held = memo.get(name)
    if held is not None and held[0] == key:
        return held[1]
    value = compute()
    memo[name] = (key, value)
    return value


def open_units() -> tuple[str, Any, District]:
    """What the Check and Export pages show: the open plan, or the district as loaded.

    Returns ``(state key, plan or None, district)``; a district that cannot be
    edited (one level, no streets) is shown as it is.
    """
    d, _label, path = district()
    if edit_problem(d) is not None:
        return f"{path}|as-loaded", None, d
    p, _s, _d = plan()
    return plan_state(p), p, d

FACILITY_STATUS = {"ok": N_("✅ meets the norm"), "below minimum": N_("❌ below the minimum"),
                   "no floor area": N_("? floor area missing"),
                   "not audited": N_("— not audited")}

PROGRESS_STAGES = (
    # the stage names geo reports through its progress callbacks, for extraction
    N_("preparing"), N_("writing the proposal"), N_("done"), N_("growing streets anew"),
    N_("placing residents"), N_("reading candidates"), N_("existing coverage"),
    N_("walking reach of each candidate"), N_("choosing sites"), N_("writing up"),
    N_("reading facilities"), N_("loading the walking network"),
    N_("snapping residents and facilities to the network"), N_("walking distances"),
    N_("tables and findings"),
    # the proposer's stages; numbers in a stage become {n0}, {n1} (see progress_bar)
    N_("recombining pairs of streets"), N_("bounding the residents that must move"),
    N_("estimating how round the streets can be"), N_("compact start {n0}/{n1}"),
    N_("growing {n0} streets"), N_("searching ({n0} streets)"),
    # the searches of the alternatives, named before their stage ("label: stage")
    N_("least change"), N_("least change, rounder"), N_("least change, roundest"),
    N_("least change, recombined"), N_("drawn afresh"), N_("round by design"),
    N_("round by design, fewer moved"),
)


def stage_text(stage: str) -> str:
    """A progress stage in the chosen language: ``label: stage``, numbers kept."""
    numbers = re.findall(r"\d+", stage)
    if not numbers:
        return _(stage)
    names = iter(range(len(numbers)))
    plain = stage.replace("{", "{{").replace("}", "}}")  # a facility's name may hold braces
    template = re.sub(r"\d+", lambda _m: f"{{n{next(names)}}}", plain)
    return _(template, **{f"n{i}": n for i, n in enumerate(numbers)})


def progress_bar(title: str, where: Any = None) -> Callable[[str, float], None]:
    """Return a ``progress(stage, fraction)`` callback drawing a bar with the stage in words.

    ``where`` is a container (e.g. ``st.empty()``) to draw it in; the page by default.
    """
    bar = (where or st).progress(0.0, text=title)

    def report(stage: str, fraction: float) -> None:
        head, sep, tail = str(stage).rpartition(": ")
        if isinstance(stage, Phrase):  # a stage written with its template (a type's name)
            words = str(said(stage))
        elif sep:
            words = f"{stage_text(head)}{sep}{stage_text(tail)}"
        else:
            words = stage_text(str(stage))
        bar.progress(min(1.0, max(0.0, float(fraction))), text=f"{title} · {words}")

    return report

FIELD_TEXT = {"code": N_("code"), "name": N_("name"), "parent_code": N_("parent code"),
              "population": N_("residents"), "households": N_("households")}


PROPOSAL_MODES = {"least_change": N_("least change"), "scratch": N_("from scratch"),
                  "compact": N_("round by design")}


def proposal_mode(value: Any) -> str:
    """Return the proposal mode a widget holds: a key, or a label in any language.

    A radio drawn in one language and read after switching to another can hold
    the label (``least change``, ``最小调整``) instead of the key.
    """
    if value in PROPOSAL_MODES:
        return str(value)
    for mode, label in PROPOSAL_MODES.items():
        if value in (label, *(text(label, code) for code in LANGUAGES)):
            return mode
    return "least_change"

PROVENANCE_TEXT = {"rulebook": N_("rulebook"), "network": N_("walking network"),
                   "population": N_("residents"), "metric_crs": N_("metric CRS"),
                   "approximations": N_("approximations"), "facilities": N_("facilities"),
                   "search_limit": N_("search limit"), "floor_area": N_("floor area"),
                   "detour": N_("detour factor")}


MOVE_EFFECTS = {
    "down": N_("brings {street} down towards its {band} band"),
    "up": N_("brings {street} up towards its {band} band"),
    "new": N_("forms the new street {street}"),
    "chain": N_("part of a chain: makes room for another move"),
}
BAND_WORDS = {"area": N_("area"), "residents": N_("residents"), "households": N_("households")}


def move_reason(parts: list[dict[str, str]]) -> str:
    """Why a proposal moved a community, in the chosen language (from the proposal's data)."""
    return "; ".join(
        _(MOVE_EFFECTS[p["effect"]], street=p.get("street", ""),
          band=_(BAND_WORDS.get(p.get("band", ""), p.get("band", ""))))
        for p in parts if p.get("effect") in MOVE_EFFECTS
    )


def facility_name(rulebook: Rulebook, ftype: str) -> str:
    """A facility type's name in the chosen language (the rulebook's Chinese name in Chinese)."""
    spec = rulebook.facility(ftype)
    return spec.name_zh if lang() == "zh" and spec.name_zh else spec.name


def percent(value: Any) -> str:
    """A share (0–1) as a whole per cent, "—" when missing."""
    return "—" if number(value) == "—" else f"{100 * float(value):.0f}%"


@st.cache_resource(show_spinner=False, max_entries=16)
def _sample_reach(key: str, ftype: str, _base: PlanBase) -> Any:
    from geo.access.audit import run_audit
    from geo.access.street_coverage import block_reach

    result = run_audit(_base.district, rulebook(), sample=True, types=[ftype])
    return block_reach(result, ftype, _base)


def reach_types(p: Plan, path: Path) -> tuple[list[str], Rulebook | None]:
    """The facility types whose coverage the editor can show for a plan, and their rulebook.

    On the sample (and districts split from it) every type of the rulebook: its
    facilities and network are built in. Elsewhere the types of the audit run
    on the Coverage page in this session for the same district, if any.
    """
    if sample_based(path):
        return list(rulebook().facilities), rulebook()
    result = st.session_state.get("coverage_result")
    units = None if result is None else result.district.units.get(p.base.level)
    if units is None or set(map(str, p.base.codes)) - set(map(str, units["code"])):
        return [], None
    return [str(t) for t in result.type_table["type"]], result.rulebook


def block_reach(p: Plan, path: Path, ftype: str) -> Any:
    """Residents and residents within reach of ``ftype`` per block, computed once per district.

    Blocks do not change when they move between streets, so the audit behind
    these figures runs once per district, network and facility type (cached);
    the street table sums them over the current assignment on every move.
    """
    from geo.access.street_coverage import block_reach as reach_of

    if sample_based(path):
        return _sample_reach(f"{p.base.district_key}|sample", ftype, p.base)
    return reach_of(st.session_state["coverage_result"], ftype, p.base)
# ------------------------------------------------------------------------ basemap
BASEMAP_TEXT = {"none": N_("None (works offline)"), "osm": N_("OpenStreetMap"),
                "tianditu": N_("Tianditu"), "custom": N_("Intranet tile server")}
TILE_CRS_TEXT = {"wgs84": "WGS-84 / CGCS2000", "gcj02": N_("GCJ-02 (Amap, Tencent)")}
_BASEMAP_PARAMS = (("basemap", "basemap", "none"), ("tiles", "tile_url", ""),
                   ("tiles_crs", "tile_crs", "wgs84"))
"""URL parameter, widget key, default: what the URL keeps of the basemap choice."""


def _keep_basemap() -> None:
    """Write the basemap choice into the URL (the Tianditu key only into the session)."""
    for param, key, default in _BASEMAP_PARAMS:
        value = str(st.session_state.get(key) or "")
        if value and value != default:
            st.query_params[param] = value
        else:
            st.query_params.pop(param, None)
    st.session_state["_tianditu_key"] = st.session_state.get("tianditu_key") or ""
    st.session_state["_tile_attr"] = st.session_state.get("tile_attr") or ""


def basemap_picker() -> Any:
    """Draw the basemap choice in the sidebar; return the :class:`geo.maps.basemaps.Basemap`.

    The preset, a custom server's URL and its CRS are kept in the URL (and
    carried by every link); 天地图's key stays in the session, never in a link
    that might be shared. A choice that cannot be used yet (no key, a URL
    without {z}/{x}/{y}) is said in the sidebar and the map is drawn without
    a basemap meanwhile.
    """
    from geo.maps.basemaps import NONE, PRESETS, TILE_CRS, looks_gcj02, make_basemap

    initial = {"basemap": st.query_params.get("basemap"), "tile_url": st.query_params.get("tiles"),
               "tile_crs": st.query_params.get("tiles_crs"),
               "tianditu_key": st.session_state.get("_tianditu_key"),
               "tile_attr": st.session_state.get("_tile_attr")}
    if initial["basemap"] not in PRESETS:
        initial["basemap"] = "none"
    if initial["tile_crs"] not in TILE_CRS:
        initial["tile_crs"] = "wgs84"
    for key, value in initial.items():
        if key not in st.session_state:
            st.session_state[key] = value or ""
    preset = st.session_state["basemap"]
    with st.sidebar.expander(_("Basemap"), expanded=preset != "none"):
        st.selectbox(_("Basemap"), PRESETS, key="basemap", on_change=_keep_basemap,
                     format_func=lambda k: _(BASEMAP_TEXT[k]),
                     help=_("None by default, so the map works offline. The data and the "
                            "exports stay WGS-84 whatever the basemap."))
        preset = st.session_state["basemap"]
        if preset == "tianditu":
            st.text_input(_("Tianditu key (tk)"), key="tianditu_key", type="password",
                          on_change=_keep_basemap,
                          help=_("From console.tianditu.gov.cn. Kept for this session only, "
                                 "never in the page's address."))
        elif preset == "custom":
            st.text_input(_("Tile URL template"), key="tile_url", on_change=_keep_basemap,
                          placeholder="http://tiles.intranet/{z}/{x}/{y}.png")
            st.radio(_("Tile coordinates"), TILE_CRS, key="tile_crs", on_change=_keep_basemap,
                     format_func=lambda k: _(TILE_CRS_TEXT[k]), horizontal=True)
            st.text_input(_("Attribution"), key="tile_attr", on_change=_keep_basemap)
    try:
        chosen = make_basemap(preset, key=st.session_state.get("tianditu_key"),
                              url=st.session_state.get("tile_url"),
                              crs=st.session_state.get("tile_crs"),
                              attribution=st.session_state.get("tile_attr"))
    except WanggeError:
        if preset == "tianditu":
            st.sidebar.warning(_("Enter the Tianditu key (tk) from console.tianditu.gov.cn, or "
                                 "choose another basemap."))
        else:
            st.sidebar.warning(_("Enter the tile server's URL template: it starts with http:// "
                                 "or https:// and holds {z}, {x} and {y}."))
        return NONE
    if chosen.preset == "custom" and not chosen.shifted and looks_gcj02(
            st.session_state.get("tile_url") or ""):
        st.sidebar.warning(_("This looks like an Amap/Tencent tile server, whose tiles are in "
                             "GCJ-02: choose GCJ-02 so that the layers line up."))
    if chosen.shifted:
        st.sidebar.caption(_("GCJ-02 basemap: every layer is shifted to GCJ-02 for display; "
                             "the data and the exports stay WGS-84."))
    return chosen


def with_basemap(m: Any, basemap: Any = None) -> Any:
    """Put a finished map on the chosen basemap, shifted with it, and point it at local assets.

    ``basemap`` is what :func:`basemap_picker` returned; without it the
    picker is drawn here (call it once per page: a page with two maps passes
    the first one's choice to the second).
    """
    from geo.maps.basemaps import add_basemap, shift_map
    from geo.maps.view import make_offline

    chosen = basemap_picker() if basemap is None else basemap
    return make_offline(shift_map(add_basemap(m, chosen), chosen))
