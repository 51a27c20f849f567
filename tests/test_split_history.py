"""A split keeps the history: undo past it restores the plan before it, redo comes back.

Geo level (:mod:`geo.plan.splits`) and through the app (AppTest): moves before and
after a split, undo across it, redo across it, and the sample's facilities
still on the Coverage page after a split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import line_across
from streamlit.testing.v1 import AppTest

from geo.district.edit import split_community
from geo.district.hierarchy import build_district
from geo.plan.base import PlanBase
from geo.plan.model import Plan
from geo.plan.splits import carry_plans, origin_of, plan_state, split_link
from geo.plan.store import PlanStore

ROOT = Path(__file__).resolve().parent.parent


def test_carry_plans_keeps_each_plan_and_links_both_projects(tmp_path, sample_layers):
    d = build_district(sample_layers)
    base = PlanBase.from_district(d)
    old_store = PlanStore(tmp_path / "sample.gpkg")
    plan = Plan(base, name="B")
    comm = list(base.codes)
    target = plan.street_of(comm[0])
    other = next(s.code for s in plan.streets if s.code != target)
    plan.move([comm[0]], other)
    old_store.save_plan(plan)
    code = comm[5]
    new, info = split_community(d, code, line_across(d, code))
    new_base = PlanBase.from_district(new)
    new_store = PlanStore(tmp_path / "district-new.gpkg")
    carried = carry_plans(old_store, base, new_store, new_base, old_key="sample", new_key="new",
                          code=code, new_codes=info["new"])
    assert carried == ["B"]
    after = new_store.load_plan("B", new_base)
    # the moved community is still moved; both halves sit in the street the whole one was in
    assert after.street_of(comm[0]) == other
    assert {after.street_of(c) for c in info["new"]} == {plan.street_of(code)}
    assert np.isclose(after.totals()["population"].sum(), plan.totals()["population"].sum())
    back = split_link(new_store, "B", "from")
    forward = split_link(old_store, "B", "to")
    assert back.project == "sample" and forward.project == "new"
    assert back.code == code and forward.new_codes == tuple(info["new"])
    # the plan before the split is untouched, with its history, and matches the link
    before = old_store.load_plan("B", base)
    assert before.can_undo and plan_state(before) == forward.state
    assert origin_of(new_store) == "sample" and origin_of(old_store) is None
    assert split_link(new_store, "nobody", "from") is None


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def _qp(at, key):
    value = at.query_params[key]
    return value if isinstance(value, str) else value[0]


def test_undo_and_redo_across_a_split_in_the_app(home, split_in_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["plan"] = "history"
    at.query_params["lang"] = "en"
    at.run()
    plan = at.session_state["plan"]
    moved = str(plan.base.codes[40])
    target = next(s.code for s in plan.streets if s.code != plan.street_of(moved))
    at.session_state["selection"] = [moved]
    at.selectbox(key="move_target").set_value(target).run()
    at.button(key="move_button").click().run()
    assert at.session_state["plan"].street_of(moved) == target
    before = at.session_state["plan"]
    n_blocks = before.base.n_blocks
    split_in_app(at)
    assert not at.exception and _qp(at, "project") != "sample"
    split_key = _qp(at, "project")
    after = at.session_state["plan"]
    assert after.base.n_blocks == n_blocks + 1 and after.street_of(moved) == target
    assert not after.can_undo
    assert not at.button(key="undo_button").disabled  # the split itself can be undone
    assert any("split community" in c.value for c in at.caption)
    # undo: the district before the split, the plan as it was (the move still in place)
    at.button(key="undo_button").click().run()
    assert not at.exception
    assert _qp(at, "project") == "sample" and _qp(at, "plan") == "history"
    back = at.session_state["plan"]
    assert back.base.n_blocks == n_blocks and back.street_of(moved) == target
    assert any("Split undone" in s.value for s in at.success)
    # undo again: the move before the split is taken back
    at.button(key="undo_button").click().run()
    assert at.session_state["plan"].street_of(moved) == before.base.streets[
        before.base.initial[before.base.index[moved]]].code
    # redo the move, then redo the split: forward into the split project again
    at.button(key="redo_button").click().run()
    assert at.session_state["plan"].street_of(moved) == target
    at.button(key="redo_button").click().run()
    assert not at.exception
    assert _qp(at, "project") == split_key
    assert at.session_state["plan"].base.n_blocks == n_blocks + 1
    assert any("Split redone" in s.value for s in at.success)


def test_a_split_sample_keeps_its_facilities_on_coverage(home, split_in_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params["plan"] = "cov"
    at.query_params["lang"] = "en"
    at.run()
    split_in_app(at)
    assert _qp(at, "project") != "sample"
    at.switch_page("views/coverage.py").run()
    assert not at.exception
    assert not at.error
    assert len(at.metric) >= 6  # one figure per facility type of the sample
    assert at.session_state["coverage_result"].type_table["facilities"].sum() > 100
    assert not any("Upload the facilities" in c.value for c in at.caption)
