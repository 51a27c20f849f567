"""How good a street proposal is: a lower bound on residents moved, and why each move.

The bound
---------
Any plan that puts every street with rules inside its bands must move at least as many
residents as the optimum of an integer programme that keeps only the bands and drops
contiguity and compactness (a relaxation, so its optimum can only be lower)::

    minimise    Σ_b pop_b · (1 − x[b, current street of b])
    subject to  Σ_s x[b, s] = 1                       every community in one street
                low_m · y_s ≤ Σ_b v[b, m] · x[b, s] ≤ high_m · y_s   every band m of slot s
                x[b, s] ≤ y_s,   lo_n ≤ Σ_s y_s ≤ hi_n             streets used, their count

over the communities of movable streets and the movable streets plus as many empty slots
as new streets the count allows. HiGHS (through :func:`scipy.optimize.milp`) solves it,
within a time limit; when it stops early its dual bound is still a valid lower bound. If
the programme has no solution, no plan at all can put every street in band — not even
one with streets in pieces — and the result says so.

Written here: the peers (max-p regions, ReCom chains) report no such bound.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix, vstack

from geo import settings
from geo.plan.model import Plan
from geo.rules.bands import Band
from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

_VALUES = ("area_km2", "population", "households")


@dataclass(frozen=True)
class MoveBound:
    """A lower bound on the residents a plan with every street in band must move.

    Attributes
    ----------
    status : {"bound", "optimal", "infeasible", "skipped"}
        ``optimal``: the relaxation was solved to optimality (``lower_bound`` is
        its optimum); ``bound``: stopped at the time limit with a valid dual
        bound; ``infeasible``: no assignment meets every band; ``skipped``:
        nothing to bound (say why in ``reason``).
    lower_bound : float or None
        Residents that must move at least.
    relaxed_optimum : float or None
        The best assignment the relaxation found (ignoring contiguity).
    reason : str
        Why it was skipped or infeasible, in words.
    """

    status: str
    lower_bound: float | None
    relaxed_optimum: float | None
    reason: str = ""

    def gap(self, moved: float | None) -> float | None:
        """Return how far ``moved`` lies above the bound, as a share of ``moved``.

        Never clipped: a negative gap would mean the bound is wrong, and shows.
        """
        if self.lower_bound is None or moved is None or not moved > 0:
            return None
        return (moved - self.lower_bound) / moved

    def to_dict(self, moved: float | None = None) -> dict[str, Any]:
        """Return the bound as JSON-ready data (with the gap to ``moved`` when given)."""
        out: dict[str, Any] = {
            "status": self.status,
            "lower_bound": self.lower_bound,
            "relaxed_optimum": self.relaxed_optimum,
            "reason": self.reason,
        }
        if moved is not None:
            out["gap"] = self.gap(moved)
        return out


def residents_moved_lower_bound(
    plan: Plan,
    rulebook: Rulebook,
    *,
    max_new_streets: int = 2,
    min_streets: int | None = None,
    max_streets: int | None = None,
    time_limit_s: float = 10.0,
) -> MoveBound:
    """Return a lower bound on the residents any in-band plan must move (see the module).

    Parameters
    ----------
    plan : Plan
        The plan a proposal starts from; locked streets and streets without
        rules stay as they are.
    rulebook : Rulebook
        The street bands.
    max_new_streets : int
        Empty slots offered for new streets (the proposer adds at most as many
        as its street count range allows).
    min_streets, max_streets : int, optional
        Range of the number of movable streets with rules used.
    time_limit_s : float
        Budget for HiGHS; past it the dual bound is returned.
    """
    base = plan.base
    streets = plan.streets
    rules_of = {s.kind: rulebook.for_level("street", s.kind) for s in streets}
    movable = [bool(rules_of[s.kind]) and not s.locked for s in streets]
    slots = [k for k, m in enumerate(movable) if m]
    if not slots:
        return MoveBound("skipped", None, None, "no street with rules can change")
    blocks = np.flatnonzero(np.asarray(movable)[plan.assignment])
    pop = base.population[blocks]
    if (base.population_missing[blocks]).any():
        return MoveBound("skipped", None, None, "residents are missing for some communities")
    # each slot keeps its own street's bands (a town's differ from a street office's);
    # slots for new streets take the street office's
    new_rules = rulebook.for_level("street", "street")
    n_slots = len(slots) + max(int(max_new_streets), 0)
    slot_bands = [
        [Band.of(r) for r in (rules_of[streets[k].kind] if s < len(slots) else new_rules)
         if r.measure in _VALUES]
        for s, k in enumerate([*slots, *([slots[0]] * (n_slots - len(slots)))])
    ]
    if not any(slot_bands):
        return MoveBound("skipped", None, None, "no additive band (area, residents, households)")
    values = {
        "area_km2": base.area_m2[blocks] / 1e6,
        "population": pop,
        "households": base.households[blocks],
    }
    nb = len(blocks)
    n_x = nb * n_slots
    n_var = n_x + n_slots
    if n_var > settings.propose_bound_max_variables:
        return MoveBound(
            "skipped", None, None,
            f"the district is too large for the bound: {nb:,} communities × {n_slots} "
            f"street slots = {n_var:,} variables, more than the "
            f"{settings.propose_bound_max_variables:,} of settings.propose_bound_max_variables "
            "(memory); propose on one part of the city at a time to get one",
        )
    slot_pos = {k: i for i, k in enumerate(slots)}
    current = np.array([slot_pos[int(plan.assignment[b])] for b in blocks])
    cost = np.zeros(n_var)
    cost[:n_x] = np.repeat(pop, n_slots)
    cost[np.arange(nb) * n_slots + current] = 0.0  # staying costs nothing
    rows: list[Any] = []
    lo: list[float] = []
    hi: list[float] = []
    # every block in exactly one slot
    r = np.repeat(np.arange(nb), n_slots)
    rows.append(coo_matrix((np.ones(n_x), (r, np.arange(n_x))), shape=(nb, n_var)))
    lo += [1.0] * nb
    hi += [1.0] * nb
    # bands on every slot, switched by y_s
    for s in range(n_slots):
        cols = np.arange(nb) * n_slots + s
        for band in slot_bands[s]:
            v = values[band.measure]
            for bound, sign in ((band.low, 1.0), (band.high, -1.0)):
                if not math.isfinite(bound):
                    continue
                # sign·(Σ v x − bound·y) ≥ 0
                data = np.r_[sign * v, -sign * bound]
                idx = np.r_[cols, n_x + s]
                rows.append(coo_matrix((data, (np.zeros(len(idx)), idx)), shape=(1, n_var)))
                lo.append(0.0)
                hi.append(np.inf)
    # x ≤ y
    r = np.arange(n_x)
    y_of = n_x + (np.arange(n_x) % n_slots)
    rows.append(
        coo_matrix(
            (np.r_[np.ones(n_x), -np.ones(n_x)], (np.r_[r, r], np.r_[np.arange(n_x), y_of])),
            shape=(n_x, n_var),
        )
    )
    lo += [-np.inf] * n_x
    hi += [0.0] * n_x
    # how many streets
    lo_n = 1 if min_streets is None else int(min_streets)
    hi_n = n_slots if max_streets is None else int(max_streets)
    rows.append(
        coo_matrix((np.ones(n_slots), (np.zeros(n_slots), n_x + np.arange(n_slots))),
                   shape=(1, n_var))
    )
    lo.append(float(lo_n))
    hi.append(float(hi_n))
    a = vstack(rows).tocsr()
    res = milp(
        cost,
        constraints=LinearConstraint(a, np.array(lo), np.array(hi)),
        integrality=np.ones(n_var),
        bounds=Bounds(0, 1),
        options={"time_limit": float(time_limit_s), "disp": False, "mip_rel_gap": 0.0},
    )
    if res.status == 2:
        return MoveBound(
            "infeasible", None, None,
            "no assignment of these communities to streets meets every band, even with "
            "streets allowed in pieces",
        )
    dual = getattr(res, "mip_dual_bound", None)
    found = float(res.fun) if res.x is not None else None
    if res.status == 0 and found is not None:
        # solved to a zero gap; the dual bound, where given, is the safe figure still
        safe = float(dual) if dual is not None and np.isfinite(dual) else found
        return MoveBound("optimal", max(min(safe, found), 0.0), found)
    if dual is not None and np.isfinite(dual):
        return MoveBound("bound", max(float(dual), 0.0), found)
    return MoveBound("skipped", None, found, f"HiGHS stopped without a bound ({res.message})")


def explain_moves(before: Plan, after: Plan, rulebook: Rulebook) -> pd.DataFrame:
    """Return one row per moved community: from where, to where, what it carries and why.

    Columns ``code``, ``name``, ``from``, ``from_name``, ``to``, ``to_name``,
    ``population``, ``area_km2``, ``reason`` (in words) and ``reasons`` (the same as
    data: ``effect`` down/up/new/chain, ``street``, ``band``, for other languages): which
    band of which street the
    move works on, judged from the two streets' states before the proposal
    (a street above a band gives, a street below one takes); a move between two
    streets both in band is part of a chain (it makes room for another move).
    """
    moved, _ = before.compare(after, rulebook=rulebook)
    if len(moved) == 0:
        return moved.assign(reason=pd.Series(dtype=object))
    t0 = before.street_table(rulebook).set_index("code")
    states = {
        code: {
            "area": row["area_status"],
            "residents": row["population_status"],
            "households": row["households_status"],
        }
        for code, row in t0.iterrows()
    }

    def why(src: str, dst: str, src_name: str, dst_name: str) -> list[dict[str, str]]:
        parts = [
            {"effect": "down", "street": src_name, "band": what}
            for what, st in states.get(src, {}).items()
            if st == "above"
        ]
        parts += [
            {"effect": "up", "street": dst_name, "band": what}
            for what, st in states.get(dst, {}).items()
            if st == "below"
        ]
        if dst not in states:
            parts.append({"effect": "new", "street": dst_name, "band": ""})
        return parts or [{"effect": "chain", "street": "", "band": ""}]

    def sentence(parts: list[dict[str, str]]) -> str:
        words = {
            "down": "brings {street} down towards its {band} band",
            "up": "brings {street} up towards its {band} band",
            "new": "forms the new street {street}",
            "chain": "part of a chain: makes room for another move",
        }
        return "; ".join(words[p["effect"]].format(**p) for p in parts)

    moved = moved.copy()
    moved["reasons"] = [
        why(str(f), str(t), str(fn), str(tn))
        for f, t, fn, tn in zip(
            moved["from"], moved["to"], moved["from_name"], moved["to_name"], strict=True
        )
    ]
    moved["reason"] = moved["reasons"].map(sentence)
    cols = ["code", "name", "from", "from_name", "to", "to_name", "population", "area_km2",
            "reason", "reasons"]
    return moved[cols].reset_index(drop=True)
