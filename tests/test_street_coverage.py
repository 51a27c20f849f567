"""Coverage per street in the editor: summed from coverage per community over the plan.

Geo level: :func:`geo.access.street_coverage.street_reach` on a hand-made reach table
(missing stays missing, an empty street has no share); app level: the street
table's column follows a move exactly as the per-community figures say, in
the chosen language.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.access.street_coverage import street_reach
from geo.district.hierarchy import build_district
from geo.plan.base import PlanBase
from geo.plan.model import Plan

ROOT = Path(__file__).resolve().parent.parent


def test_street_reach_sums_blocks_and_keeps_missing_missing(tiny):
    r"""Tiny district: S1 = {C1, C2}, S2 = {C3, C4}; C4's residents unknown.

    C1 1000 residents, 500 within reach; C2 3000, 0; C3 2000, 2000; C4 unknown.
    """
    plan = Plan(PlanBase.from_district(build_district(tiny)))
    codes = [str(c) for c in plan.base.codes]
    reach = pd.DataFrame({"residents": [1000.0, 3000.0, 2000.0, np.nan],
                          "covered": [500.0, 0.0, 2000.0, np.nan]}, index=codes)
    s1, s2 = (s.code for s in plan.streets)
    out = street_reach(plan, reach)
    assert out.loc[s1, "share"] == pytest.approx(500 / 4000)
    assert np.isnan(out.loc[s2, "share"]) and np.isnan(out.loc[s2, "residents"])  # never 2000/2000
    plan.move([codes[3]], s1)  # the community without figures moves: now S1 has no share
    out = street_reach(plan, reach)
    assert np.isnan(out.loc[s1, "share"])
    assert out.loc[s2, "share"] == pytest.approx(1.0)
    street = plan.new_street(name="空街道")
    assert np.isnan(street_reach(plan, reach).loc[street.code, "share"])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def _column(at, header: str) -> dict[str, str]:
    frame = at.dataframe[0].value
    return dict(zip(frame["代码"], frame[header], strict=True))


def test_the_street_table_follows_a_move_as_the_community_figures_say(home):
    from geo.access.audit import run_audit
    from geo.rules.rulebook import load_rulebook
    from geo.sample.build import sample_district

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params["plan"] = "reach"
    at.query_params["lang"] = "zh"
    at.run()
    assert at.selectbox(key="reach_type").value is None  # none chosen by default
    at.selectbox(key="reach_type").set_value("health_station").run()
    assert not at.exception
    header = "社区卫生服务站可达占比"
    assert header in at.dataframe[0].value.columns
    # the per-community figures, from an audit of the district run here independently
    rb = load_rulebook()
    d = build_district(sample_district(), household_size=rb.household_size)
    table = run_audit(d, rb, sample=True, types=["health_station"]).unit_tables["community"]
    per = table.set_index("code")[["residents", "covered"]]
    plan = at.session_state["plan"]
    block = str(per["covered"].idxmax())  # the community with most residents within reach
    source = plan.street_of(block)
    target = next(s.code for s in plan.streets if s.code != source)

    def expected(p, street):
        members = [str(c) for c in p.blocks_of(street)]
        share = per.loc[members, "covered"].sum() / per.loc[members, "residents"].sum()
        return f"{100 * share:.0f}%"

    before = _column(at, header)
    assert before[source] == expected(plan, source) and before[target] == expected(plan, target)
    at.session_state["selection"] = [block]
    at.selectbox(key="move_target").set_value(target).run()
    at.button(key="move_button").click().run()
    assert not at.exception
    plan = at.session_state["plan"]
    assert plan.street_of(block) == target
    after = _column(at, header)
    assert after[source] == expected(plan, source) and after[target] == expected(plan, target)
    assert (after[source], after[target]) != (before[source], before[target])
    # the same column in English
    at.sidebar.radio(key="lang").set_value("en").run()
    assert "Community health service station within reach" in at.dataframe[0].value.columns
