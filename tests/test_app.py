"""The Streamlit pages through AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def run_page(page: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / page), default_timeout=120)
    at.query_params["lang"] = lang
    return at.run()


def test_overview_page_shows_streets_and_status():
    at = run_page("overview.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    in_band, judged = metrics["Units within their bands (streets)"].split(" / ")
    assert 0 < int(in_band) < int(judged)
    table = at.dataframe[0].value
    assert {"code", "name", "area km²", "residents", "status"} <= set(table.columns)
    assert {"✅ within both bands", "❌ outside a band"} <= set(table["status"])


@pytest.mark.slow
def test_coverage_page_shows_types_and_tables():
    at = run_page("coverage.py")
    assert not at.exception
    assert len(at.metric) >= 4
    assert all(m.value.endswith("%") for m in at.metric)
    assert at.radio[0].value == "community"
    at.selectbox(key="table_type").set_value("health_station").run()
    assert not at.exception
    shown = at.session_state["coverage_rows"]
    assert set(shown["type"]) == {"health_station"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def boundaries(plan: str = "apptest") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["plan"] = plan
    return at


def _street_rows(at: AppTest):
    return at.session_state["street_rows"].set_index("code")


def test_click_select_move_undo_through_session_state(home, sample_built):
    from geo.plan.base import PlanBase

    base = PlanBase.from_district(sample_built)
    k = 40
    code, lon, lat = str(base.codes[k]), float(base.lon[k]), float(base.lat[k])
    at = boundaries().run()
    assert not at.exception
    before = _street_rows(at)
    at.session_state["edit_map"] = {"last_object_clicked": {"lat": lat, "lng": lon}}
    at.run()
    assert at.session_state["selection"] == [code]
    source = next(c for c in before.index if at.session_state["plan"].street_of(code) == c)
    target = next(c for c in before.index if c != source)
    at.selectbox(key="move_target").set_value(target)
    at.button(key="move_button").click().run()
    assert not at.exception
    after = _street_rows(at)
    moved_pop = float(base.population[k])
    assert after.loc[target, "population"] == pytest.approx(before.loc[target, "population"]
                                                            + moved_pop)
    assert after.loc[source, "population"] == pytest.approx(before.loc[source, "population"]
                                                            - moved_pop)
    assert at.session_state["selection"] == []
    # the edit is in the project file already
    import sqlite3

    con = sqlite3.connect(home / "sample.gpkg")
    assert con.execute("SELECT COUNT(*) FROM wangge_edits WHERE plan='apptest'").fetchone()[0] == 1
    at.button(key="undo_button").click().run()
    assert _street_rows(at).loc[target, "population"] == before.loc[target, "population"]
    # a new session (a reload) finds the plan as it was left: undone, redo possible
    again = boundaries().run()
    assert not again.exception
    assert _street_rows(again).loc[target, "population"] == before.loc[target, "population"]
    assert again.session_state["plan"].can_redo


def test_drawn_rectangle_selects_the_communities_inside(home):
    at = boundaries("draw").run()
    base = at.session_state["plan"].base
    lon0, lat0 = float(base.lon.min()), float(base.lat.min())
    rect = {"type": "Polygon", "coordinates": [[[lon0 - 1e-4, lat0 - 1e-4],
                                                [lon0 + 0.02, lat0 - 1e-4],
                                                [lon0 + 0.02, lat0 + 0.02],
                                                [lon0 - 1e-4, lat0 + 0.02],
                                                [lon0 - 1e-4, lat0 - 1e-4]]]}
    at.session_state["edit_map"] = {"last_active_drawing": {"type": "Feature",
                                                            "geometry": rect}}
    at.run()
    inside = [str(c) for c, x, y in zip(base.codes, base.lon, base.lat, strict=True)
              if lon0 - 1e-4 <= x <= lon0 + 0.02 and lat0 - 1e-4 <= y <= lat0 + 0.02]
    assert inside and sorted(at.session_state["selection"]) == sorted(inside)


def test_locked_street_refuses_a_move_with_a_message(home):
    at = boundaries("locks").run()
    plan = at.session_state["plan"]
    base = plan.base
    code = str(base.codes[0])
    source = plan.street_of(code)
    target = next(s.code for s in plan.streets if s.code != source)
    plan.set_locked(target, True)
    at.session_state["selection"] = [code]
    at.run()
    at.selectbox(key="move_target").set_value(target)
    at.button(key="move_button").click().run()
    assert any("已锁定" in e.value for e in at.error)  # in the interface language (Chinese)
    assert plan.street_of(code) == source


def test_export_page_offers_every_format(home):
    at = AppTest.from_file(str(ROOT / "views" / "export.py"), default_timeout=120)
    at.query_params["plan"] = "current"
    at.run()
    assert not at.exception


def test_compare_page_lists_moved_communities(home, sample_built):
    from geo.plan.model import Plan
    from geo.plan.store import PlanStore
    from geo.project import project_path

    d = sample_built
    store = PlanStore(project_path(d, sample=True))
    a = Plan.from_district(d, name="current")
    store.save_plan(a)
    b = a.copy(name="option B")
    code = str(b.base.codes[0])
    target = next(s.code for s in b.streets if s.code != b.street_of(code))
    b.move([code], target)
    store.save_plan(b)
    at = AppTest.from_file(str(ROOT / "views" / "compare.py"), default_timeout=120)
    at.query_params["plan"] = "option B"
    at.run()
    assert not at.exception
    at.selectbox(key="cmp_before").set_value("current")
    at.selectbox(key="cmp_after").set_value("option B").run()
    moved = at.session_state["compare_moved"]
    assert list(moved["code"]) == [code]


def test_split_a_community_along_a_drawn_line(home, split_in_app):
    at = boundaries("current").run()
    plan = split_in_app(at)
    assert not at.exception
    assert any("所有方案均已转到新辖区" in s.value for s in at.success)
    new_plan = at.session_state["plan"]
    assert new_plan.base.n_blocks == plan.base.n_blocks + 1
    assert at.query_params["project"][0] != "sample"


@pytest.mark.slow
def test_coverage_page_proposes_sites():
    at = run_page("coverage.py", lang="zh")
    at.selectbox(key="site_type").set_value("community_service_centre")
    at.button(key="propose_sites").click().run()
    assert not at.exception
    assert any("覆盖居民" in s.value for s in at.success)
    sites = at.session_state["siting"].sites
    assert len(sites) == 3 and (sites["newly_covered"] > 0).all()


@pytest.mark.slow
def test_propose_button_saves_a_new_plan_and_opens_it(home):
    at = boundaries("current").run()
    at.session_state["propose_time"] = 3  # what is checked holds whatever the search time
    at.radio(key="propose_mode").set_value("least_change")
    at.button(key="propose_button").click().run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("→" in s.value for s in at.success)
    from geo.plan.store import PlanStore

    names = list(PlanStore(home / "sample.gpkg").list_plans()["name"])
    assert "current" in names  # never written over the current plan
    assert any(n.startswith("proposal") for n in names)


def test_find_selects_and_zooms_to_a_community_or_street(home):
    at = boundaries("current").run()
    assert not at.exception
    plan = at.session_state["plan"]
    name = str(plan.base.names[5])
    at.text_input(key="find_text").set_value(name[:3])
    at.button(key="find_button").click().run()
    assert not at.exception
    chosen = at.session_state["selection"]
    assert str(plan.base.codes[5]) in chosen
    assert all(name[:3] in str(plan.base.names[plan.base.index[c]]) for c in chosen)
    # a street's name selects its communities
    street = plan.streets[0]
    at.text_input(key="find_text").set_value(street.name)
    at.button(key="find_button").click().run()
    assert set(at.session_state["selection"]) == set(plan.blocks_of(street.code))
    at.text_input(key="find_text").set_value("没有这个地方")
    at.button(key="find_button").click().run()
    assert not at.exception and at.error
