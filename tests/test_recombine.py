r"""Recombination of pairs of streets, and the exact pick of the best mix.

UNIFORM (cells 0.9 km wide, 1 km tall: 0.9 km² each; 8 × 4 cells, 12,000 residents each)::

    y 3 | a | a | a | a | a | a | a | a |
    y 2 | b | b | b | b | b | b | b | b |
    y 1 | c | c | c | c | c | c | c | c |
    y 0 | d | d | d | d | d | d | d | d |
          x 0   1   2   3   4   5   6   7

Four strips of 8 cells: 7.2 km² and 96,000 residents each, in both bands, but thin
(Polsby-Popper 0.34). Four 2 × 4 blocks are in band too and twice as round (0.67), so
recombining neighbouring strips finds them; with a high cost per resident moved it keeps
the strips.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import connected_components
from test_redistrict import NO_LIMIT, RULES, district_of, strip_frames

from geo.plan.model import Plan
from geo.propose.search import propose_plan

STRIPS = ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"]


def _uniform() -> Plan:
    return Plan.from_district(district_of(strip_frames(STRIPS, default_pop=12_000)))


def _figures(proposal) -> tuple[float, float]:
    vals = [r["compactness_after"] for r in proposal.summary["streets"]]
    return float(np.mean(vals)), float(min(vals))


def _connected(plan: Plan) -> bool:
    base = plan.base
    for k in np.unique(plan.assignment):
        members = np.flatnonzero(plan.assignment == k)
        count, _ = connected_components(base.rook_graph[members][:, members], directed=False)
        if count != 1:
            return False
    return True


def test_recombining_strips_finds_round_blocks_in_band_and_connected():
    plan = _uniform()
    before = plan.street_table(RULES)
    assert (before["status"] == "ok").all() and before["compactness"].max() < 0.40
    proposal = propose_plan(
        plan, RULES, seed=7, time_limit_s=NO_LIMIT, margin=0.0, recombine_weight=0.0
    )
    s = proposal.summary
    assert proposal.feasible and s["in_band_after"] == s["streets_after"] == 4
    assert s["residents_moved"] > 0
    mean, low = _figures(proposal)
    assert mean > 0.6 and low > 0.6  # 2 × 4 blocks, not strips
    assert _connected(proposal.plan)
    assert int(proposal.plan.base.population.sum()) == 32 * 12_000


def test_a_high_cost_per_resident_moved_keeps_the_plan_and_none_means_no_recombination():
    plan = _uniform()
    for weight in (100.0, None):
        proposal = propose_plan(
            plan, RULES, seed=7, time_limit_s=NO_LIMIT, margin=0.0, recombine_weight=weight
        )
        assert proposal.feasible and proposal.summary["residents_moved"] == 0
        assert _figures(proposal)[0] < 0.40
