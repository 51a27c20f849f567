"""The lower bound on residents moved, and the reasons given for each move.

Tiny district (conftest): two streets of 4 km², each of two 2 km² communities with
4,000 residents::

    +---------+---------+
    |   C1    |   C3    |     S1 = C1 + C2, S2 = C3 + C4
    +---------+---------+
    |   C2    |   C4    |
    +---------+---------+
"""

from __future__ import annotations

import pytest

from geo.district.hierarchy import build_district
from geo.plan.model import Plan
from geo.propose.bound import explain_moves, residents_moved_lower_bound
from geo.propose.search import propose_plan
from geo.rules.rulebook import rulebook_from_dict


def _rb(lo: float, hi: float):
    return rulebook_from_dict({"name": "area only", "rules": [
        {"id": "street.area_km2", "level": "street", "measure": "area_km2", "min": lo,
         "max": hi, "kinds": ["street"], "title": "area", "source": "test",
         "status": "confirmed"},
    ]})


@pytest.fixture()
def plan(tiny):
    frames = {lv: f for lv, f in tiny.items() if lv != "grid"}
    frames["community"] = frames["community"].assign(population=4000)
    return Plan.from_district(build_district(frames))


def test_bound_is_zero_when_the_plan_already_fits(plan):
    b = residents_moved_lower_bound(plan, _rb(3.5, 4.5))
    assert b.status == "optimal" and b.lower_bound == pytest.approx(0)


def test_bound_counts_the_communities_that_must_leave(plan):
    # streets of one community each: two communities must go to two new streets
    b = residents_moved_lower_bound(plan, _rb(1.5, 2.5), max_new_streets=2)
    assert b.status == "optimal" and b.lower_bound == pytest.approx(8000)
    assert b.gap(8000) == 0 and b.gap(16000) == pytest.approx(0.5)


def test_a_district_too_large_for_the_bound_is_said_to_be(plan, monkeypatch):
    from geo import settings

    # 4 communities × (2 streets + 2 new) slots + 4 slot variables = 20
    monkeypatch.setattr(settings, "propose_bound_max_variables", 19)
    b = residents_moved_lower_bound(plan, _rb(1.5, 2.5), max_new_streets=2)
    assert b.status == "skipped" and b.lower_bound is None
    assert "4 communities × 4 street slots = 20 variables" in b.reason
    monkeypatch.setattr(settings, "propose_bound_max_variables", 20)
    assert residents_moved_lower_bound(plan, _rb(1.5, 2.5), max_new_streets=2).status == "optimal"


def test_no_plan_can_meet_an_impossible_band(plan):
    # 8 km² cannot be cut into streets of 5–7 km² from 2 km² communities
    b = residents_moved_lower_bound(plan, _rb(5, 7), max_new_streets=2)
    assert b.status == "infeasible" and "every band" in b.reason


def test_propose_reports_the_bound_and_explains_each_move(plan):
    rb = _rb(1.5, 2.5)
    proposal = propose_plan(plan, rb, time_limit_s=5, seed=3)
    s = proposal.summary
    assert s["lower_bound"]["lower_bound"] is not None
    assert s["lower_bound"]["lower_bound"] <= s["residents_moved"] + 1e-6
    moves = explain_moves(plan, proposal.plan, rb)
    assert len(moves) == s["communities_moved"] == len(s["moves"])
    assert all(isinstance(r, str) and r for r in moves["reason"])
    assert any("down towards its area band" in r for r in moves["reason"])


def test_margin_costs_streets_near_the_edges_only():
    from geo.propose.state import _edge_closeness

    bands = ((0, 6.0, 8.0, 2.0),)
    assert _edge_closeness(bands, 7.0, 0, 0, 0.02) == 0.0  # well inside
    assert _edge_closeness(bands, 6.06, 0, 0, 0.02) == pytest.approx((6.12 - 6.06) / 2)
    assert _edge_closeness(bands, 7.9, 0, 0, 0.02) == pytest.approx((7.9 - 7.84) / 2)
    assert _edge_closeness(bands, 6.06, 0, 0, 0.0) == 0.0


def test_proposal_rows_show_each_streets_margin(plan):
    proposal = propose_plan(plan, _rb(1.5, 2.5), time_limit_s=5, seed=3, margin=0.1)
    rows = [r for r in proposal.summary["streets"] if r["status_after"] == "ok"]
    assert rows and all(r["margin_after"] is not None for r in rows)
    # 2 km² in 1.5–2.5: 0.5 / 2.5 = 20 % of the upper bound to spare
    assert all(r["margin_after"] == pytest.approx(0.2, abs=0.01) for r in rows)
    with pytest.raises(Exception, match="margin must be between"):
        propose_plan(plan, _rb(1.5, 2.5), margin=0.7)


def test_three_alternatives_along_the_trade_off(plan):
    from geo.propose.alternatives import compare_alternatives, propose_alternatives

    alts = propose_alternatives(plan, _rb(1.5, 2.5), seed=5, time_limit_s=5, name="x")
    keys = [a.key for a in alts]
    assert keys[0] == "fewest" and (len(keys) == 1 or keys[-1] == "roundest")
    assert [a.proposal.plan.name for a in alts] == [f"x-{k}" for k in keys]
    rows = compare_alternatives(alts)
    assert all(r["feasible"] for r in rows)
    assert rows[0]["moved_vs_fewest"] == pytest.approx(1.0)
    assert all(r["compactness_mean"] is not None and r["margin_min"] is not None for r in rows)
    # along the front: more residents moved buys rounder streets (mean and worst street
    # weighed together), never the other way
    from geo.propose.alternatives import roundness

    moved = [r["residents_moved"] for r in rows]
    assert moved == sorted(moved)
    shapes = [roundness(a.proposal)[1:] for a in alts]  # (mean, worst street)
    for i, (mi, si) in enumerate(zip(moved, shapes, strict=True)):
        for j, (mj, sj) in enumerate(zip(moved, shapes, strict=True)):
            beaten = mj <= mi and all(b >= a for a, b in zip(si, sj, strict=True))
            assert i == j or not (beaten and (mj, sj) != (mi, si)), (i, j)  # none dominated


def test_pareto_front_drops_dominated_and_infeasible_plans():
    from types import SimpleNamespace

    from geo.propose.alternatives import pareto_front

    def p(moved, comp, feasible=True, low=None):
        return SimpleNamespace(
            feasible=feasible,
            summary={"residents_moved": moved, "compactness_mean_after": comp,
                     "compactness_min_after": comp if low is None else low},
        )

    props = [p(100, 0.25), p(150, 0.30), p(200, 0.23), p(120, 0.45, feasible=False),
             p(180, 0.35)]
    # 200/0.23 is beaten by 100/0.25; the infeasible one does not count
    assert pareto_front(props) == [0, 1, 4]
    assert pareto_front([p(1, 0.1, False), p(2, 0.2, False)]) == [0, 1]


def test_roundest_weighs_the_worst_street():
    """A good mean with one sliver street is not the roundest plan."""
    from types import SimpleNamespace

    from geo.propose.alternatives import _three, pareto_front

    def p(moved, mean, low):
        return SimpleNamespace(feasible=True, summary={
            "residents_moved": moved, "compactness_mean_after": mean,
            "compactness_min_after": low})

    # fewest; a sliver (mean 0.33, worst 0.10); balanced; round all through (0.31, 0.19)
    props = [p(100, 0.25, 0.12), p(200, 0.33, 0.10), p(130, 0.29, 0.15), p(180, 0.31, 0.19)]
    front = pareto_front(props)
    assert front == [0, 2, 3, 1]  # the sliver plan is on the front: its mean is the best
    assert _three(front, props) == [0, 2, 3]
    # on the mean alone the sliver would have been called roundest
    assert max(front, key=lambda i: props[i].summary["compactness_mean_after"]) == 1
    # the shortfalls from both targets (mean 0.40, worst street 0.20) are weighed together
    props = [p(100, 0.25, 0.12), p(150, 0.31, 0.22), p(160, 0.34, 0.17)]
    assert _three(pareto_front(props), props)[-1] == 1  # short 0.225 against 0.30
    props = [p(100, 0.25, 0.20), p(150, 0.38, 0.19)]
    assert _three(pareto_front(props), props) == [0, 1]  # a good worst street is not enough


def test_cli_alternatives_saves_three_plans(tiny, tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from geo.cli import app

    monkeypatch.setenv("WANGGE_HOME", str(tmp_path / "home"))
    frames = {lv: f for lv, f in tiny.items() if lv != "grid"}
    frames["community"] = frames["community"].assign(population=90_000)
    for lv, f in frames.items():
        f.to_file(tmp_path / f"{lv}.geojson")
    r = CliRunner().invoke(app, [
        "propose", str(tmp_path / "street.geojson"), str(tmp_path / "community.geojson"),
        "--alternatives", "--time-limit", "1", "--format", "json",
    ])
    assert r.exit_code in (0, 1), r.output
    doc = json.loads(r.stdout)  # notes go to stderr
    keys = [a["key"] for a in doc["alternatives"]]
    assert keys and keys[0] == "fewest" and set(doc["proposals"]) == set(keys)


def test_bound_uses_each_streets_own_bands(sample_built):
    """Towns have bands of their own: a plan already in band needs no move at all."""
    d = sample_built
    rb = rulebook_from_dict({"name": "by kind", "rules": [
        {"id": "street.area_km2", "level": "street", "measure": "area_km2", "min": 4,
         "max": 11, "kinds": ["street"], "title": "area", "source": "test",
         "status": "confirmed"},
        {"id": "town.area_km2", "level": "street", "measure": "area_km2", "min": 10,
         "max": 20, "kinds": ["town"], "title": "area", "source": "test",
         "status": "confirmed"},
    ]})
    plan = Plan.from_district(d)
    assert set(plan.street_table(rb)["status"]) == {"ok"}
    b = residents_moved_lower_bound(plan, rb)
    assert b.status == "optimal" and b.lower_bound == pytest.approx(0)


def test_move_reasons_read_in_chinese(plan):
    import re
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import ui

    rb = _rb(1.5, 2.5)
    proposal = propose_plan(plan, rb, time_limit_s=5, seed=3)
    reasons = [m["reasons"] for m in proposal.summary["moves"]]
    assert reasons
    old = ui._last_lang[0]
    try:
        ui._last_lang[0] = "zh"
        for parts in reasons:
            text = ui.move_reason(parts)
            assert text and not re.search(r"[A-Za-z]{3,}", text), text
    finally:
        ui._last_lang[0] = old
