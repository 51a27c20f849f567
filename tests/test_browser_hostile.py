"""Every page of the app in Debian's Chromium, in the states that used to break it.

One Streamlit server; the states are set up in its project folder and opened
by URL (``?project=KEY&plan=NAME&lang=..``), never clicked through:

- a project with streets only (no communities: nothing to edit);
- a district without population (no figures anywhere);
- a plan with an empty street (created, nothing moved into it);
- a plan just split (a community of the sample split in two).

On every page (Boundaries, Compare, Check, Coverage, Export, Data) no
exception element and no traceback may show, nor the catch-all "something
went wrong" line (it means an error slipped through); where the state
matters, the page says so in the chosen language.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import line_across, streamlit_server

from geo.i18n import text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"
PAGES = ("", "compare", "check", "coverage", "export", "data")
CATCH_ALL = ("Something went wrong here and it has been logged. Reload the page or go back one "
             "step; your plan is saved after every step.")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _project(home: Path, frames: dict) -> str:
    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint

    d = build_district(frames)
    key = district_fingerprint(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    return key


def _split_sample(home: Path, d) -> str:
    """Split a community of the sample ``d`` as the app does; return the new project's key."""
    from geo.district.edit import split_community
    from geo.io import write_units
    from geo.plan.base import PlanBase
    from geo.plan.model import Plan
    from geo.plan.splits import carry_plans
    from geo.plan.store import PlanStore
    from geo.project import district_fingerprint

    base = PlanBase.from_district(d)
    old = PlanStore(home / "sample.gpkg")
    old.save_plan(Plan(base, name="split"))
    code = d.units["community"]["code"].iloc[5]
    new, info = split_community(d, code, line_across(d, code))
    key = district_fingerprint(new)
    path = home / f"district-{key}.gpkg"
    write_units(new.units, path, fmt="gpkg")
    carry_plans(old, base, PlanStore(path), PlanBase.from_district(new), old_key="sample",
                new_key=key, code=code, new_codes=info["new"])
    return key


def _empty_street(home: Path, d) -> None:
    """Store a plan ``empty`` of the sample ``d`` with a new street and nothing in it."""
    from geo.plan.base import PlanBase
    from geo.plan.model import Plan
    from geo.plan.store import PlanStore

    store = PlanStore(home / "sample.gpkg")
    plan = Plan(PlanBase.from_district(d), name="empty")
    store.save_plan(plan)
    plan.new_street(name="Empty street")
    store.record(plan, plan.last_edit)


@pytest.fixture(scope="module")
def states(tmp_path_factory, sample_layers, sample_built):
    """Set up the hostile states in one project folder; yield the server's URL and the states."""
    from geo.district.hierarchy import build_district

    home = tmp_path_factory.mktemp("wangge-home-hostile")
    frames = sample_layers
    streets_only = _project(home, {"street": frames["street"]})
    no_population = _project(home, {lv: f.drop(columns=[c for c in ("population", "households")
                                                         if c in f.columns])
                                    for lv, f in frames.items()})
    _empty_street(home, sample_built)
    split = _split_sample(home, sample_built)
    import ui  # the app's own messages; outside a script run ui speaks the last run's language

    saved, ui._last_lang[0] = ui._last_lang[0], "zh"  # another test may have left English
    try:
        cannot_edit = ui.edit_problem(build_district({"street": frames["street"]}))
    finally:
        ui._last_lang[0] = saved
    missing = text("— figure missing", "zh")
    found = {
        # state: (query, {page: texts the page must show})
        "streets only": (f"project={streets_only}&lang=zh", {
            page: [cannot_edit] for page in ("", "compare", "check", "export")}),
        "no population": (f"project={no_population}&plan=current&lang=zh", {
            "": [missing], "check": [missing]}),
        "empty street": ("project=sample&plan=empty&lang=en", {
            "": ["Last step: new street Empty street"]}),
        "just split": (f"project={split}&plan=split&lang=zh", {
            "": ["上一步：将社区"], "coverage": ["社区卫生服务站"]}),
    }
    with streamlit_server(ROOT / "app.py", log_dir=home, env={"WANGGE_HOME": str(home)}) as url:
        yield url, found


def _settled(page, timeout_s: float = 240.0) -> None:
    """Wait until the script has run and stayed idle for 0.6 s (it reruns after widgets)."""
    app = page.locator("[data-testid='stApp']")
    main = page.locator("[data-testid='stMain'] [data-testid='stElementContainer']")
    deadline = time.monotonic() + timeout_s
    idle_since = None
    while time.monotonic() < deadline:
        idle = app.get_attribute("data-test-script-state") == "notRunning" and main.count() > 0
        if not idle:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= 0.6:
            return
        time.sleep(0.2)
    raise AssertionError(f"{page.url} still running after {timeout_s:.0f} s")


def _shows(page, words: str) -> bool:
    """Whether the page holds ``words`` (tables are drawn on a canvas and mirrored into a
    hidden table Streamlit fills after the run, so wait for them a little)."""
    try:
        page.get_by_text(words, exact=False).first.wait_for(state="attached", timeout=20_000)
    except Exception:  # noqa: BLE001 - reported by the caller
        return False
    return True


def test_every_page_in_every_hostile_state(states, browser):
    url, found = states
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    timings: list[str] = []
    problems: list[str] = []
    for state, (query, wanted) in found.items():
        for path in PAGES:
            t0 = time.perf_counter()
            page.goto(f"{url}{path}?{query}")
            _settled(page)
            timings.append(f"{state}/{path or 'boundaries'} {time.perf_counter() - t0:.1f} s")
            body = page.locator("body").inner_text()
            where = f"{state}, page {path or 'boundaries'}"
            if page.locator("[data-testid='stException']").count():
                problems.append(f"{where}: exception element")
            if "Traceback" in body or "Error:" in body:
                problems.append(f"{where}: traceback text")
            if CATCH_ALL in body or text(CATCH_ALL, "zh") in body:
                problems.append(f"{where}: an error reached the catch-all")
            problems += [f"{where}: {w!r} not shown" for w in wanted.get(path, [])
                         if not _shows(page, w)]
            if problems and problems[-1].startswith(where):
                page.screenshot(path=str(OUT / f"hostile-{state}-{path or 'boundaries'}.png"),
                                full_page=True)
    print("\n" + "\n".join(timings))
    page.close()
    assert problems == [], "\n".join(problems)
