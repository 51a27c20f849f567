"""Session glue shared by the app's pages: language, the open district and plan.

No GIS here: everything computed comes from ``geo``. Each browser session
holds its own :class:`geo.plan.Plan`; every edit is written to the project's
GeoPackage as it happens, and the plan's name is kept in the URL, so a reload
or a server restart brings the planner back to where they were.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import streamlit as st

from geo.errors import WanggeError
from geo.hierarchy import District, build_district, read_district
from geo.i18n import LANGUAGES, text
from geo.plan import Edit, Plan, PlanBase, PlanStore
from geo.project import district_key, home, project_path
from geo.rules import Rulebook, load_rulebook
from geo.sample import DISTRICT_NAME, sample_district


def lang() -> str:
    """Return the interface language chosen in the sidebar (``zh`` by default)."""
    return st.session_state.get("lang", "zh")


def t(key: str) -> str:
    """Return interface text in the chosen language."""
    return text(key, lang())


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
    """Draw the language switch in the sidebar."""
    codes = list(LANGUAGES)
    st.sidebar.radio(text("lang", lang()), codes, key="lang", horizontal=True,
                     format_func=lambda c: LANGUAGES[c], index=codes.index(lang()))


@st.cache_resource(show_spinner=False)
def rulebook() -> Rulebook:
    """The default rulebook (read-only, shared)."""
    return load_rulebook()


@st.cache_resource(show_spinner="Loading the sample district…")
def _sample_district() -> District:
    rb = rulebook()
    return build_district(sample_district(), household_size=rb.household_size,
                          notes=["Built-in sample district (fictional)."])


@st.cache_resource(show_spinner="Opening the project…")
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
                return _project_district(str(path)), f"project {key}", path
            except WanggeError as exc:
                st.error(plain(f"The project file {path.name} could not be opened: {exc}"))
        else:
            st.warning(f"Project {plain(key)} was not found; showing the sample.")
        st.query_params["project"] = "sample"
    d = _sample_district()
    return d, DISTRICT_NAME, project_path(d, sample=True)


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


def plan() -> tuple[Plan, PlanStore, District]:
    """Return this session's plan (loaded from the project file, or started fresh)."""
    d, _, path = district()
    key = str(path)
    name = st.query_params.get("plan", "current")
    held: Plan | None = st.session_state.get("plan")
    held_key = st.session_state.get("plan_project")
    s = store(path)
    if held is not None and held.name == name and held_key == key:
        if s.refresh(held):  # another tab or window changed this plan
            st.toast(t("plan.updated_elsewhere"))
        return held, s, d
    base = _base(key, d)
    # A plan named in the URL is stored by its first edit, never by the visit alone.
    p = s.load_plan(name, base) if s.has_plan(name) else Plan(base, name=name)
    st.session_state["plan"] = p
    st.session_state["plan_project"] = key
    st.session_state["selection"] = []
    st.query_params["plan"] = name
    return p, s, d


def apply(edit_fn: object) -> None:
    """Run an edit on this session's plan and record it at once; errors go to the page."""
    p, s, _ = plan()
    try:
        edit: Edit | None = edit_fn(p)  # type: ignore[operator]
        if s.record(p, edit):  # other tabs' steps were taken in first
            st.session_state["edit_note"] = t("plan.updated_elsewhere")
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


def split_and_reopen(code: str, line: dict) -> dict:
    """Split a community, save the new district as a project and carry every plan over.

    Each plan keeps its streets; the two new communities join the street the
    old one was in. Plans' undo history starts afresh on the new district.
    """
    from geo.hierarchy import split_community
    from geo.io import write_units

    d, _, path = district()
    new, info = split_community(d, code, line)
    key = district_key(new)
    new_path = home() / f"district-{key}.gpkg"
    if not new_path.exists():
        write_units(new.units, new_path, fmt="gpkg")
    old_store = store(path)
    old_base = _base(str(path), d)
    new_base = _base(str(new_path), new)
    new_store = store(new_path)
    for name in old_store.list_plans()["name"]:
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
    return info
