"""Session glue shared by the app's pages: language, navigation, the open district and plan.

No GIS here: everything computed comes from ``geo``. Each browser session
holds its own :class:`geo.plan.Plan`; every edit is written to the project's
GeoPackage as it happens. The project, the plan and the language are kept in
the URL (``?project=KEY&plan=NAME&lang=zh``) and carried by every link, so a
reload, a new tab or a server restart brings the planner back to where they
were. Every page runs inside :func:`run_page`: a :class:`WanggeError` shows its
message (which names the fix), anything else is logged and shown as one line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from geo.errors import InputError, PlanError, WanggeError
from geo.hierarchy import District, build_district, read_district
from geo.i18n import LANGUAGES, N_, text
from geo.plan import Edit, Plan, PlanBase, PlanStore
from geo.project import district_key, home, project_path
from geo.rules import Rulebook, load_rulebook
from geo.sample import sample_district

logger = logging.getLogger("wangge.app")

ORIGINAL = "original"
"""The plan holding the district as loaded: kept read-only, the default "before" on Compare."""
CARRIED = ("project", "plan", "lang")
"""Query parameters every link carries."""

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
def friendly(exc: BaseException) -> str:
    """Return what the planner reads for an error: the message of ours, one line otherwise."""
    if isinstance(exc, WanggeError):  # escaped: messages name units, and names are text
        return plain(_("This could not be done: {message}", message=str(exc)))
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
                                 file=path.name, message=str(exc))))
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

    key = district_key(d)
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
        st.session_state["edit_error"] = str(exc)


@st.cache_resource(show_spinner=False)
def _simple_blocks(key: str, _base: PlanBase) -> list:
    import geopandas as gpd

    from geo.mapview import simplify_coverage

    frame = gpd.GeoDataFrame(geometry=list(_base.geometry), crs=4326)
    return list(simplify_coverage(frame, tolerance_m=5.0, metric_crs=_base.metric_crs).geometry)


def block_shapes(p: Plan) -> list:
    """The plan's block polygons, simplified once per district for drawing (no gaps opened)."""
    return _simple_blocks(p.base.district_key, p.base)


@st.cache_resource(show_spinner=False, max_entries=8)
def _drawing(key: str, gcj: bool, _geoms: Any, _metric_crs: Any) -> tuple[Any, list[str], float]:
    import shapely

    from geo.editor_map import drawing_shapes, geojson_texts, shift_gcj02, view_tolerance_m

    tolerance = view_tolerance_m(shapely.total_bounds(list(_geoms)), metric_crs=_metric_crs)
    shapes = drawing_shapes(_geoms, metric_crs=_metric_crs, tolerance_m=tolerance)
    if gcj:
        shapes = shift_gcj02(shapes)
    return shapes, geojson_texts(shapes), tolerance


def drawing_blocks(p: Plan, *, gcj: bool = False) -> tuple[Any, list[str], float]:
    """The plan's blocks for drawing: shapes, their GeoJSON texts and the tolerance (m).

    Simplified once per district to a tolerance that fits the view of the whole
    district (:func:`geo.editor_map.view_tolerance_m`); shifted to GCJ-02 when
    the basemap needs it.
    """
    return _drawing(f"{p.base.district_key}|blocks", gcj, p.base.geometry, p.base.metric_crs)


def drawing_grids(d: District, p: Plan, *, gcj: bool = False) -> list[str]:
    """The district's grids as GeoJSON texts for drawing (simplified once per district)."""
    grids = d.units["grid"]
    return _drawing(f"{p.base.district_key}|grids", gcj, grids.geometry.values,
                    p.base.metric_crs)[1]


def split_and_reopen(code: str, line: dict) -> dict:
    """Split a community, save the new district as a project and carry every plan over.

    Each plan keeps its streets; the two new communities join the street the
    old one was in. Plans' undo history starts afresh on the new district.
    """
    from geo.hierarchy import split_community
    from geo.io import write_units

    progress = progress_bar(_("Splitting the community…"))
    d, _label, path = district()
    progress(N_("splitting the community"), 0.05)
    new, info = split_community(d, code, line)
    key = district_key(new)
    new_path = home() / f"district-{key}.gpkg"
    progress(N_("writing the new district"), 0.35)
    if not new_path.exists():
        write_units(new.units, new_path, fmt="gpkg")
    old_store = store(path)
    old_base = _base(str(path), d)
    new_base = _base(str(new_path), new)
    new_store = store(new_path)
    names = list(old_store.list_plans()["name"])
    for k, name in enumerate(names):
        progress(N_("carrying the plans over"), 0.5 + 0.5 * k / max(1, len(names)))
        old = old_store.load_plan(name, old_base)
        frame = old.assignment_frame()
        mapping = dict(zip(frame["code"], frame["parent_code"], strict=True))
        for c in info["new"]:
            mapping[c] = mapping[code]
        streets = list(old.streets)
        pos = {s.code: k for k, s in enumerate(streets)}
        assignment = [pos[mapping[str(c)]] for c in new_base.codes]
        new_store.save_plan(Plan(new_base, name=name, streets=streets, assignment=assignment))
    st.query_params["project"] = key
    for k in ("plan", "selection", "split_line"):
        st.session_state.pop(k, None)
    progress(N_("done"), 1.0)
    return info


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
    pages = [st.Page(script, title=_(title), icon=icon, url_path=path, default=k == 0)
             for k, (script, title, icon, path) in enumerate(PAGES)]
    current = st.navigation(pages, position="hidden")
    links = st.sidebar.container()
    language_picker()
    run_page(sidebar_plan)  # resolves the plan into the URL before the links are drawn
    params = carried()
    with links:
        for page in pages:
            st.page_link(page, query_params=params)
    run_page(current)


def sidebar_plan() -> None:
    """Draw the plan picker when the open district can be edited (every page)."""
    d, _label, _path = district()
    if edit_problem(d) is not None:
        return
    p, s, _d = plan()
    plan_picker(p, s)


# ------------------------------------------------------------------ what is shown
def number(value: Any, digits: int = 0) -> str:
    """Format a figure for reading: thousands separators, ``digits`` decimals, "—" when missing."""
    import math

    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    return f"{v:,.{digits}f}"


STATUS_TEXT = {
    "ok": N_("✅ within both bands"),
    "outside": N_("❌ outside a band"),
    "no rule": N_("— no rule for its kind"),
    "no data": N_("— figure missing"),
}
UNIT_TEXT = {"km2": N_("km²"), "km²": N_("km²"), "residents": N_("residents"),
             "households": N_("households"), "m2": N_("m²"), "m²": N_("m²"),
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
    if rule.endswith("density_envelope") and f.value is not None:
        return _("{who} has {value} residents/km²: at this density no street can meet both the "
                 "area and the population band (possible only at {low}–{high} residents/km²). "
                 "Trade communities with sparser or denser neighbours, or accept it.", who=who,
                 value=number(f.value), low=number(f.minimum), high=number(f.maximum))
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
    from geo.mapview import STATUS_LINE

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
    undo, redo or refresh gives the plan a new :attr:`~geo.plan.Plan.revision`
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
)


def progress_bar(title: str, where: Any = None) -> Callable[[str, float], None]:
    """Return a ``progress(stage, fraction)`` callback drawing a bar with the stage in words.

    ``where`` is a container (e.g. ``st.empty()``) to draw it in; the page by default.
    """
    bar = (where or st).progress(0.0, text=title)

    def report(stage: str, fraction: float) -> None:
        head, sep, tail = str(stage).rpartition(": ")
        words = f"{head}{sep}{_(tail)}" if sep else _(str(stage))
        bar.progress(min(1.0, max(0.0, float(fraction))), text=f"{title} · {words}")

    return report

FIELD_TEXT = {"code": N_("code"), "name": N_("name"), "parent_code": N_("parent code"),
              "population": N_("residents"), "households": N_("households")}


PROPOSAL_MODES = {"least_change": N_("least change"), "scratch": N_("from scratch")}


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
