"""Partial reruns and caches that follow the plan (AppTest, no browser; no timings asserted).

The Boundaries page draws its map and panel in a fragment, and keeps the street
table, findings and map layers per plan revision; the Check, Export and
Coverage pages cache their heavy results under the plan's state. These tests
check that clicking and moving still work, that a click reuses what a move
recomputes, and that no cache serves another state (rename, undo, rename).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.plan.store import PlanStore

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def editor(plan: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["plan"] = plan
    at.query_params["lang"] = "en"
    return at


def click(at: AppTest, k: int) -> None:
    base = at.session_state["plan"].base
    at.session_state["edit_map"] = {"last_object_clicked": {"lat": float(base.lat[k]),
                                                            "lng": float(base.lon[k])}}
    at.run()


def cached(at: AppTest, name: str):
    return at.session_state["_per_revision"][name][1]


@pytest.mark.parametrize("fragments", ["1", "0"])
def test_click_then_move_updates_selection_table_and_map(home, monkeypatch, fragments):
    """With the editor in a fragment (and with fragments turned off) a click selects, a move
    moves; a click reuses the plan's table and layers, a move makes new ones."""
    monkeypatch.setenv("WANGGE_FRAGMENTS", fragments)
    at = editor(f"speed-{fragments}").run()
    assert not at.exception
    plan = at.session_state["plan"]
    view, layers = cached(at, "editor_view"), cached(at, "editor_layers")
    code = str(plan.base.codes[40])
    click(at, 40)
    assert at.session_state["selection"] == [code]
    assert any("Selected: 1" in md.value for md in at.markdown)
    # a click changes no plan state: the street table and map layers are the same objects
    assert cached(at, "editor_view") is view and cached(at, "editor_layers") is layers
    source = plan.street_of(code)
    target = next(s.code for s in plan.streets if s.code != source)
    before = view["table"].set_index("code")["population"]
    at.selectbox(key="move_target").set_value(target)
    at.button(key="move_button").click().run()
    assert not at.exception
    assert plan.street_of(code) == target and at.session_state["selection"] == []
    after = cached(at, "editor_view")["table"].set_index("code")["population"]
    moved = float(plan.base.population[40])
    assert after[target] == pytest.approx(before[target] + moved)
    assert after[source] == pytest.approx(before[source] - moved)
    # the map's blocks layer now fills the community with its new street's colour
    new_layers = cached(at, "editor_layers")
    assert new_layers is not layers
    fill = cached(at, "editor_view")["colour"][target]
    assert json.loads(new_layers["paint"])["f"][40] == fill
    # the shapes are the district's, the same text whatever the revision
    assert new_layers["blocks"] is layers["blocks"]
    assert at.session_state["map_payload_bytes"] > 0


def _check_names(at: AppTest) -> set[str]:
    return set(at.dataframe[0].value["name"])


def _page(name: str, plan: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=120)
    at.query_params["plan"] = plan
    at.query_params["lang"] = "en"
    return at


def _exported_street_names(at: AppTest) -> set[str]:
    streets = json.loads(at.session_state["export_files"]["streets.geojson"])
    return {f["properties"]["name"] for f in streets["features"]}


def test_check_and_export_follow_rename_undo_rename(home):
    """Rename a street → Check and Export show the new name; undo → the old; rename again to
    another name → that one (no cache serves an earlier state)."""
    import ui

    check, export = _page("overview.py", "renames").run(), _page("export.py", "renames")
    assert not check.exception
    plan = check.session_state["plan"]
    store = PlanStore(home / "sample.gpkg")
    street = plan.streets[0]
    original = street.name
    states = [ui.plan_state(plan)]
    steps = [(lambda: plan.rename_street(street.code, "Renamed A"), "Renamed A"),
             (plan.undo, original),
             (lambda: plan.rename_street(street.code, "Renamed B"), "Renamed B"),
             (plan.undo, original),
             (lambda: plan.rename_street(street.code, "Renamed A"), "Renamed A")]
    for step, shown in steps:
        store.record(plan, step())
        states.append(ui.plan_state(plan))
        check.run()
        assert not check.exception
        names = _check_names(check)
        assert shown in names
        assert not ({original, "Renamed A", "Renamed B"} - {shown}) & names
        export.run()  # a second session: it reads the plan from the project file
        assert not export.exception
        assert shown in _exported_street_names(export)
        assert not ({original, "Renamed A", "Renamed B"} - {shown}) & \
            _exported_street_names(export)
    # the key follows what the plan holds: equal states share it, others never do
    assert states[0] == states[2] == states[4] and states[1] == states[5]
    assert len({states[0], states[1], states[3]}) == 3


def test_plan_state_is_never_shared_between_states(home):
    """The key the pages cache under differs for every content and repeats for the same."""
    import ui

    at = editor("keys").run()
    plan = at.session_state["plan"]
    a = ui.plan_state(plan)
    code = plan.streets[0].code
    plan.set_locked(code, True)
    b = ui.plan_state(plan)
    plan.undo()
    assert ui.plan_state(plan) == a and b != a
    r0 = plan.revision
    plan.redo()
    assert plan.revision != r0 and ui.plan_state(plan) == b


def test_coverage_recolouring_keeps_the_shapes_and_sends_new_paint(home):
    """A new colouring on Coverage keeps the audit, the base map and the units' shapes (the
    browser holds them) and hands over new fills, tooltips, service areas and legend."""
    at = _page("coverage.py", "recolour").run()
    assert not at.exception

    def held() -> tuple[str, dict]:
        comp = [c for c in at.get("component_instance")
                if c.proto.component_name.endswith("st_folium")][0]
        files = at.session_state["_browser_files"]
        return json.loads(comp.proto.json_args)["key"], {
            name: files[name] for name in ("coverage-units", "coverage-paint", "coverage-area")}

    result = at.session_state["coverage_result"]
    script, before = held()
    types = list(result.type_table["type"])
    at.selectbox(key="map_type").set_value(types[1]).run()
    assert not at.exception
    script2, after = held()
    assert at.session_state["coverage_result"] is result  # the audit is kept
    assert script2 == script  # the same map's key: st_folium keeps it mounted
    assert after["coverage-units"] == before["coverage-units"]
    assert after["coverage-paint"][0] != before["coverage-paint"][0]
    assert after["coverage-area"][0] != before["coverage-area"][0]
    paint = json.loads(after["coverage-paint"][1])
    assert len(paint["f"]) == len(json.loads(after["coverage-units"][1])["features"])
