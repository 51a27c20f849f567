"""The whole app through AppTest: links carry the plan, every page in hostile states, no traceback.

Hostile states: a district with streets only, with grids only (no streets), a
district without population, a plan with an empty street, a plan just split,
the read-only original plan, a mode label stored in another language.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("views/boundaries.py", "views/compare.py", "views/overview.py", "views/export.py",
         "views/data.py")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def app(**params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def links(at: AppTest) -> list[dict[str, list[str]]]:
    return [parse_qs(el.proto.query_string) for el in at.get("page_link")]


def qp(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value if isinstance(value, str) else value[0]


def assert_clean(at: AppTest, where: str) -> None:
    assert not at.exception, (where, [e.value for e in at.exception])
    for e in at.error:
        assert "Traceback" not in e.value and "Error:" not in e.value, (where, e.value)


def move_first_block(at: AppTest) -> tuple[str, str]:
    """Select the plan's first block, move it to another street with the move box; return
    (block, street)."""
    plan = at.session_state["plan"]
    code = str(plan.base.codes[0])
    target = next(s.code for s in plan.streets if s.code != plan.street_of(code))
    at.session_state["selection"] = [code]
    at.run()
    at.selectbox(key="move_target").set_value(target)
    at.button(key="move_button").click().run()
    assert_clean(at, "move")
    return code, target


def project_of(home: Path, frames: dict) -> str:
    """Save a district as a project file the app can open; return its key."""
    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint

    d = build_district(frames)
    key = district_fingerprint(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    return key


def test_every_link_carries_project_plan_and_language(home):
    at = app(plan="Plan B", lang="en").run()
    assert_clean(at, "boundaries")
    found = links(at)
    assert len(found) == 6
    for q in found:
        assert q["plan"] == ["Plan B"] and q["lang"] == ["en"], q
    # the sidebar's plan picker names the same plan, the original first
    picker = at.sidebar.selectbox(key="plan_picker")
    assert picker.value == "Plan B"
    assert picker.options[0] == "original (as loaded, read-only)"


def test_export_and_check_show_the_plan_saved_under_a_new_name(home):
    at = app(plan="current", lang="en").run()
    at.text_input(key="save_as_name").set_value("Plan B")
    next(b for b in at.sidebar.button if b.label == "Save as a new plan").click().run()
    assert qp(at, "plan") == "Plan B"
    code, target = move_first_block(at)
    assert all(q["plan"] == ["Plan B"] for q in links(at))
    for page, title in (("views/export.py", "Export · Plan B"), ("views/overview.py",
                                                                 "Check · Plan B")):
        at.switch_page(page).run()
        assert_clean(at, page)
        assert at.title[0].value == title
        assert at.session_state["plan"].street_of(code) == target
    # picking another plan in the sidebar shows that one
    at.sidebar.selectbox(key="plan_picker").set_value("current").run()
    assert at.title[0].value == "Check · current"
    assert at.session_state["plan"].street_of(code) != target


def test_original_plan_is_read_only_and_compare_starts_from_it(home):
    at = app(plan="original", lang="en").run()
    assert_clean(at, "original")
    assert any("kept as it was loaded" in i.value for i in at.info)
    assert at.button(key="move_button").disabled
    assert at.button(key="lock_button").disabled
    at.query_params["plan"] = "current"
    at.run()
    at.switch_page("views/compare.py").run()
    assert_clean(at, "compare")
    assert at.selectbox(key="cmp_before").value == "original"
    assert at.selectbox(key="cmp_after").value == "current"


def test_a_mode_label_in_any_language_is_read_as_the_mode():
    import ui

    for value, mode in (("least change", "least_change"), ("最小调整", "least_change"),
                        ("from scratch", "scratch"), ("重新划分", "scratch"),
                        ("scratch", "scratch"), (None, "least_change")):
        assert ui.proposal_mode(value) == mode


@pytest.mark.slow
def test_switching_language_then_propose(home):
    at = app(plan="current", lang="en").run()
    at.session_state["propose_time"] = 5
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert_clean(at, "switch")
    assert qp(at, "lang") == "zh" and all(q["lang"] == ["zh"] for q in links(at))
    at.radio(key="propose_mode").set_value("scratch").run()
    at.sidebar.radio(key="lang").set_value("en").run()
    at.button(key="propose_button").click().run()
    assert_clean(at, "propose")
    assert not any("Unknown mode" in e.value for e in at.error)
    assert qp(at, "plan").startswith("proposal")


@pytest.mark.parametrize("level", ["street", "grid"])
def test_single_level_districts_view_check_and_export(home, level):
    from geo.sample.build import sample_district

    frame = sample_district()[level]
    if level == "grid":  # one street's grids (~130 of ~1,200): a grids-only district all the same
        frame = frame[frame["code"].str[:9] == frame["code"].iloc[0][:9]]
    key = project_of(home, {level: frame})
    at = app(project=key, lang="en").run()
    assert_clean(at, "boundaries")
    assert any("Data page" in i.value for i in at.info)  # says what it needs
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, page)
        assert all(q["project"] == [key] for q in links(at))
    at.switch_page("views/compare.py").run()  # no plans to compare: said, not an error box
    assert not at.error and any("Data page" in i.value for i in at.info)
    at.switch_page("views/overview.py").run()
    counts = at.metric[3].value  # units per level, e.g. "streets 10"
    assert f"{len(frame):,}" in counts
    at.switch_page("views/export.py").run()
    assert len(at.get("download_button")) >= 4


def test_streets_and_grids_without_communities_are_edited_grid_by_grid(home):
    """A city with street offices and grids but no community layer (two of the sample's
    streets): the grids are the blocks, a grid moves, every page reads in Chinese."""
    from geo.sample.build import sample_district

    frames = sample_district()
    streets = frames["street"].iloc[:2]
    grids = frames["grid"].copy()
    grids["parent_code"] = grids["code"].str[:9] + "000"  # the street column of a real file
    grids = grids[grids["parent_code"].isin(streets["code"])]
    key = project_of(home, {"street": streets, "grid": grids})
    at = app(project=key, plan="current", lang="zh").run()
    assert_clean(at, "boundaries")
    plan = at.session_state["plan"]
    assert plan.base.level == "grid" and plan.base.n_blocks == len(grids)
    code, target = move_first_block(at)
    assert at.session_state["plan"].street_of(code) == target
    assert any("网格" in c.value for c in at.caption)  # "moved 1 grid", in Chinese
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, page)


def test_no_population_and_an_empty_street_on_every_page(home):
    from geo.sample.build import sample_district

    frames = sample_district()
    frames = {lv: f.drop(columns=[c for c in ("population", "households") if c in f.columns])
              for lv, f in frames.items()}
    key = project_of(home, frames)
    at = app(project=key, plan="current", lang="zh").run()
    assert_clean(at, "boundaries")
    at.text_input(key="new_street_name").set_value("空街道")
    next(b for b in at.button if b.label == "新建街道").click().run()
    assert_clean(at, "new street")
    assert any(s.name == "空街道" for s in at.session_state["plan"].streets)
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, page)
    at.switch_page("views/overview.py").run()
    assert "Infinity" not in str(at.dataframe[0].value) and "None" not in str(
        at.dataframe[0].value.to_dict())


def test_a_plan_just_split_stays_open_on_every_page(home, split_in_app):
    at = app(plan="my plan", lang="en").run()
    plan = split_in_app(at)
    assert_clean(at, "split")
    key = qp(at, "project")
    assert key != "sample"
    assert at.session_state["plan"].name == "my plan"
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, page)
        assert all(q["project"] == [key] and q["plan"] == ["my plan"] for q in links(at)), page
        assert at.session_state["plan"].base.n_blocks == plan.base.n_blocks + 1


def test_an_unexpected_error_is_one_line_and_logged(home, monkeypatch, caplog):
    import geo.plan.model

    def broken(self, rulebook=None):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(geo.plan.model.Plan, "street_table", broken)
    at = app(plan="current", lang="zh").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "此处出现问题，已记入日志。请刷新页面或返回上一步；方案每一步都已保存。"]
    assert len(links(at)) == 6  # the sidebar still works
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)
