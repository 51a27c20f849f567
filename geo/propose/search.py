"""Propose a street plan in which every street meets the rulebook's bands.

:func:`propose_plan` takes a :class:`~geo.plan.model.Plan` and returns a
:class:`Proposal`: a **new** plan (the input is never modified), a summary and
findings. Communities (the plan's building blocks) are never split, every
street stays contiguous (rook adjacency), locked streets stay exactly as they
are (nothing leaves them, nothing enters them) and streets whose kind has no
rule in the rulebook (towns and townships by default) are left alone.

Two modes:

``least_change`` (default)
    Start from the current plan and move as little as possible. Plans are
    ranked by, in order: the number of streets outside a band, the summed
    band violation, residents moved, communities moved, compactness.
``scratch``
    Ignore the current assignment (except locked and rule-less streets):
    grow streets from seeds spread over the district to the average street's
    area and residents, then repair by local search. New regions take over
    the code of the old street they overlap most (by residents), so the
    summary's "moved" figures stay meaningful.

Method
------
Every step moves one border community from its street to a rook-adjacent
street. A move that would cut its street in two is refused (a breadth-first
search over the street's communities, from one of the community's
neighbours, must reach all the others). Totals are updated incrementally,
the perimeter of a street as the sum of its communities' perimeters less
twice the boundary they share, so compactness (Polsby-Popper, ``4πA/P²``) is
incremental too. The cost of a street is its band violation (each band's
excess in band widths), a fixed penalty for being outside at all, a small
weight on ``1 − compactness`` and ``compactness_weight`` per unit of compactness
below :data:`geo.settings.propose_compactness_floor` (0.45, so long wedges cost
more than a few moved communities, while a street out of band still costs
more); least change adds a cost per resident and
per community moved. The search repeats:

1. **descent**: apply the best improving moves until none is left;
2. **ejection chains**: from a street out of band, a move that may make a
   neighbour worse, then the best move repairing what the chain broke, up to
   six moves; the best chain that lowers the cost is kept;
3. **kick**: a short, low-temperature simulated annealing to leave a local
   optimum.

Least change first splits streets whose totals make two streets in band and
brings the count into range (split the fullest street by growing two halves
from far-apart communities, merge the emptiest into a neighbour). Once the
bands are met, **ruin and recreate** puts groups of moved communities back in
their streets and repairs, keeping whatever moves fewer residents. If moving
communities one by one gets stuck, the streets are grown anew as in scratch
mode, matched to the old streets they overlap most and brought back toward
the current plan the same way; splits and merges are tried last.

Scratch grows, in each connected area of movable communities, as many
streets as its totals fit best: seeds by weighted k-means, then the least
filled street takes the neighbour that keeps its density nearest the target
(so dense streets reach out for sparse land), then the repair loop above,
then annealing for compactness that never leaves the bands. All randomness
comes from one seeded :class:`numpy.random.Generator`, so a seed always gives
the same proposal unless the time limit is what stops the search.

The number of streets counts the streets that have rules (street offices by
default), locked ones included. By default it ranges over what the totals
allow, ``⌈total / band max⌉ … ⌊total / band min⌋`` for area and residents
(and households, when banded), intersected and widened by one on each side.

Emptied streets are **removed** from the proposal (listed in
``summary["streets_removed"]``), so its street table holds only streets with
communities; :meth:`geo.plan.model.Plan.compare` lists every move. New streets get
codes derived by :meth:`geo.plan.model.Plan.new_street` and names ``新街道1``,
``新街道2`` ...

Where the bands cannot all be met, the proposal is still the best plan found
and the findings say why, with places:

* ``propose.density_envelope``: a connected area of movable communities whose
  density lies outside the envelope in which a street can meet both bands
  (10,000–20,000 residents/km² by default), so at least one of its streets
  must break a band; and, after the search, a street still out of band whose
  density lies outside the envelope;
* ``propose.oversized_community``: a community larger (in area, residents or
  households) than a whole street may be;
* ``propose.island``: a connected area of movable communities (cut off by
  locked or rule-less streets, or by a gap) too small or too large to form
  whole streets in band; ``propose.totals`` when that area is the whole
  movable district;
* ``propose.street_count``: the number of streets asked for cannot put the
  average street in band;
* ``propose.locked``: a locked street outside a band;
* ``propose.not_found``: the search stopped without a feasible plan and none
  of the above explains it.

The street-level rule findings of the proposal (``street.area_km2`` ...) are
included too.

Examples
--------
>>> proposal = propose_plan(plan, rulebook)                  # doctest: +SKIP
>>> proposal.summary["feasible"], proposal.summary["residents_moved"]  # doctest: +SKIP
>>> PlanStore("project.gpkg").save_plan(proposal.plan)       # doctest: +SKIP
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyproj
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from geo import settings
from geo._format import approx as _approx
from geo.errors import InputError, PlanError, RulebookError
from geo.findings import Finding
from geo.plan.base import PlanBase, Street
from geo.plan.model import Plan
from geo.propose.bound import explain_moves, residents_moved_lower_bound
from geo.rules.bands import Band, tolerance
from geo.rules.rulebook import Rulebook, density_envelopes

logger = logging.getLogger(__name__)

MODES = ("least_change", "scratch", "compact")
"""Search modes of :func:`propose_plan`."""

DEFAULT_SEED = 20170419
"""Seed used when none is given (the street guideline paper's date)."""

NEW_STREET_NAME = "新街道"
"""Stem of the names given to new streets: ``新街道1``, ``新街道2`` ..."""

_MEASURES = {"area_km2": 0, "population": 1, "households": 2, "density_per_km2": 3}
_ADDITIVE = (0, 1, 2)
_MEASURE_NAMES = {v: k for k, v in _MEASURES.items()}
DEFAULT_COMPACTNESS_WEIGHT = 0.0
_EPS = 1e-9

Progress = Callable[[str, float], None]

# A band: (measure index, low, high, scale). Low/high are -inf/inf when open.
_Band = tuple[int, float, float, float]


# ------------------------------------------------------------------------ result


@dataclass(frozen=True)
class Proposal:
    """A proposed street plan with its summary and findings.

    Attributes
    ----------
    plan : Plan
        The proposal: a new plan named ``proposal-<mode>-<seed>`` (or the name
        given), without edit history.
    summary : dict
        JSON-ready figures: ``mode``, ``seed``, ``feasible``, ``stop_reason``,
        ``elapsed_s``, street counts and in-band streets before and after,
        communities and residents moved, mean compactness before and after,
        streets added and removed, and one row per street in ``streets``.
    findings : list of Finding
        Why bands cannot be met where they cannot (``propose.*``), and the
        proposal's own street-level findings.
    """

    plan: Plan
    summary: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether every street with rules meets all its bands."""
        return bool(self.summary.get("feasible"))

    def to_dict(self) -> dict[str, Any]:
        """Return the summary and the findings as one JSON-ready dictionary."""
        return {**self.summary, "findings": [f.to_dict() for f in self.findings]}


# ------------------------------------------------------------------------ bands


def _bands(rulebook: Rulebook, kind: str) -> tuple[_Band, ...]:
    """Return a kind's street bands as flat tuples for the hot loop (edges from geo.rules.bands)."""
    out: list[_Band] = []
    for rule in rulebook.for_level("street", kind):
        idx = _MEASURES.get(rule.measure)
        if idx is None:  # pragma: no cover - the loader refuses other measures
            continue
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            raise RulebookError(
                f"Rule {rule.id}: min ({rule.min:g}) is greater than max ({rule.max:g}). "
                "Swap them in the rulebook."
            )
        band = Band.of(rule)
        out.append((idx, band.low, band.high, band.scale))
    return tuple(out)


def _violation(bands: tuple[_Band, ...], a_km2: float, pop: float, hh: float) -> tuple[float, int]:
    """Return (violation in band widths, side bits: 1 below a band, 2 above one)."""
    v = 0.0
    side = 0
    for m, lo, hi, sc in bands:
        if m == 0:
            x = a_km2
        elif m == 1:
            x = pop
        elif m == 2:
            x = hh
        else:
            x = pop / a_km2 if a_km2 > 0 else 0.0
        # a hair (1e-7 band widths) inside the band, so that rounding in the running
        # totals never passes a street the street table would call outside
        if x < lo + 1e-7 * sc:
            v += max(lo - x, 0.0) / sc + _EPS
            side |= 1
        elif x > hi - 1e-7 * sc:
            v += max(x - hi, 0.0) / sc + _EPS
            side |= 2
    return v, side


def _edge_closeness(
    bands: tuple[_Band, ...], a_km2: float, pop: float, hh: float, margin: float
) -> float:
    """Return how far inside the margin from its band edges a street lies, in band widths.

    0 for a street at least ``margin`` (a share of the bound) inside every edge; the
    proposer pays a little for more, so next year's growth does not push it out.
    """
    out = 0.0
    for m, lo, hi, sc in bands:
        x = a_km2 if m == 0 else pop if m == 1 else hh if m == 2 else (
            pop / a_km2 if a_km2 > 0 else 0.0
        )
        if math.isfinite(lo):
            out += max(lo + margin * abs(lo) - x, 0.0) / sc
        if math.isfinite(hi):
            out += max(x - (hi - margin * abs(hi)), 0.0) / sc
    return out


def _count_bounds(bands: tuple[_Band, ...], totals: Sequence[float]) -> tuple[int, int]:
    """Return the street counts the additive bands allow for these totals (lo > hi: none)."""
    lo, hi = 1, 10**9
    for m, b_lo, b_hi, _ in bands:
        if m not in _ADDITIVE:
            continue
        t = float(totals[m])
        if math.isfinite(b_hi) and b_hi > 0:
            lo = max(lo, math.ceil(t / b_hi - 1e-9))
        if math.isfinite(b_lo) and b_lo > 0:
            hi = min(hi, math.floor(t / b_lo + 1e-9))
    return lo, hi


def _count_cost(bands: tuple[_Band, ...], totals: Sequence[float], k: int) -> float:
    """Return how far the average of ``k`` streets lies from the band centres."""
    avg = [float(t) / k for t in totals]
    cost = 0.0
    for m, lo, hi, sc in bands:
        if m not in _ADDITIVE:
            continue
        x = avg[m]
        if math.isfinite(lo) and math.isfinite(hi):
            cost += abs(x - (lo + hi) / 2) / sc
        elif x < lo:
            cost += (lo - x) / sc
        elif x > hi:
            cost += (x - hi) / sc
    return cost


# ------------------------------------------------------------------------ problem


@dataclass
class _Problem:
    """The district as plain Python lists, for the inner loops."""

    base: PlanBase
    n: int
    area_km2: list[float]
    pop: list[float]
    hh: list[float]
    perim: list[float]
    rook: list[list[int]]
    shared: list[list[tuple[int, float]]]
    x: np.ndarray
    y: np.ndarray
    street_bands: list[tuple[_Band, ...]]  # per street slot; grows with new streets
    movable: list[bool]  # per street slot
    new_bands: tuple[_Band, ...]  # bands of a new street (kind "street")

    @classmethod
    def build(cls, base: PlanBase, new_bands: tuple[_Band, ...]) -> _Problem:
        n = base.n_blocks
        rook: list[list[int]] = []
        shared: list[list[tuple[int, float]]] = []
        indptr, indices, sh, rk = base.indptr, base.indices, base.shared_m, base.rook
        for b in range(n):
            lo, hi = int(indptr[b]), int(indptr[b + 1])
            nb = indices[lo:hi].tolist()
            lens = sh[lo:hi].tolist()
            flags = rk[lo:hi].tolist()
            rook.append([j for j, f in zip(nb, flags, strict=True) if f])
            shared.append(list(zip(nb, lens, strict=True)))
        to_metric = pyproj.Transformer.from_crs(4326, base.metric_crs, always_xy=True)
        x, y = to_metric.transform(np.asarray(base.lon), np.asarray(base.lat))
        return cls(
            base=base,
            n=n,
            area_km2=(np.asarray(base.area_m2) / 1e6).tolist(),
            pop=np.asarray(base.population, dtype=float).tolist(),
            hh=np.asarray(base.households, dtype=float).tolist(),
            perim=np.asarray(base.perimeter_m, dtype=float).tolist(),
            rook=rook,
            shared=shared,
            x=np.asarray(x, dtype=float),
            y=np.asarray(y, dtype=float),
            street_bands=[],
            movable=[],
            new_bands=new_bands,
        )


@dataclass(frozen=True)
class _Weights:
    alpha: float  # per resident moved
    gamma: float  # per community moved
    beta: float  # per unit of (1 - compactness)
    kappa: float = 0.0  # per unit of compactness below c_min (compactness_weight)
    out: float = field(default_factory=lambda: settings.propose_outside_penalty)
    c_min: float = field(default_factory=lambda: settings.propose_compactness_floor)
    margin: float = 0.0  # wanted distance from band edges, as a share of the bound
    margin_weight: float = 0.0  # cost per band width of that distance not kept


# ------------------------------------------------------------------------ state


class _State:
    """An assignment of blocks to street slots with incremental totals and cost."""

    def __init__(
        self,
        prob: _Problem,
        assignment: Sequence[int],
        alive: Sequence[bool],
        orig: Sequence[int],
        weights: _Weights,
    ) -> None:
        self.prob = prob
        self.w = weights
        self.orig = list(orig)
        self.reset(list(assignment), list(alive))

    # -- bookkeeping -------------------------------------------------------

    def reset(self, assignment: list[int], alive: list[bool]) -> None:
        prob = self.prob
        m = len(alive)
        while len(prob.street_bands) < m:  # slots of new streets
            prob.street_bands.append(prob.new_bands)
            prob.movable.append(True)
        self.a = list(assignment)
        self.alive = list(alive)
        self.m = m
        self.cnt = [0] * m
        self.area = [0.0] * m
        self.pop = [0.0] * m
        self.hh = [0.0] * m
        self.per = [0.0] * m
        self.members: list[list[int]] = [[] for _ in range(m)]
        self.where = [0] * prob.n
        for b, k in enumerate(self.a):
            self.where[b] = len(self.members[k])
            self.members[k].append(b)
            self.cnt[k] += 1
            self.area[k] += prob.area_km2[b]
            self.pop[k] += prob.pop[b]
            self.hh[k] += prob.hh[b]
            self.per[k] += prob.perim[b]
            for j, s in prob.shared[b]:
                if self.a[j] == k:
                    self.per[k] -= s  # each shared edge is seen from both sides
        self.viol = [0.0] * m
        self.side = [0] * m
        self.cost = [0.0] * m
        for k in range(m):
            self._restreet(k)
        self.moved_pop = 0.0
        self.moved_cnt = 0
        for b, k in enumerate(self.a):
            if k != self.orig[b]:
                self.moved_pop += prob.pop[b]
                self.moved_cnt += 1
        self.movable_blocks = [
            b for b, k in enumerate(self.a) if self.prob.movable[k] and self.alive[k]
        ]

    def active(self, k: int) -> bool:
        return self.alive[k] and self.prob.movable[k]

    def _street_cost(self, k: int, area: float, pop: float, hh: float, per: float) -> tuple:
        bands = self.prob.street_bands[k]
        v, side = _violation(bands, area, pop, hh)
        comp = 4 * math.pi * area * 1e6 / (per * per) if per > 0 else 0.0
        c = (self.w.out if v > 0 else 0.0) + v + self.w.beta * (1.0 - min(comp, 1.0))
        if self.w.margin > 0 and v == 0:
            c += self.w.margin_weight * _edge_closeness(bands, area, pop, hh, self.w.margin)
        if comp < self.w.c_min:
            c += self.w.kappa * (self.w.c_min - comp)
        return c, v, side

    def _restreet(self, k: int) -> None:
        if not self.active(k) or self.cnt[k] == 0:
            self.cost[k], self.viol[k], self.side[k] = 0.0, 0.0, 0
            return
        self.cost[k], self.viol[k], self.side[k] = self._street_cost(
            k, self.area[k], self.pop[k], self.hh[k], self.per[k]
        )

    def total_cost(self) -> float:
        return sum(self.cost) + self.w.alpha * self.moved_pop + self.w.gamma * self.moved_cnt

    def key(self) -> tuple[int, float, float]:
        """Rank: streets out of band, summed violation, total cost (lower is better)."""
        bad = sum(1 for k in range(self.m) if self.viol[k] > 0)
        return bad, round(sum(self.viol), 9), round(self.total_cost(), 12)

    def n_streets(self) -> int:
        """Count the non-empty streets with rules (locked ones included)."""
        return sum(
            1
            for k in range(self.m)
            if self.alive[k] and self.cnt[k] > 0 and self.prob.street_bands[k]
        )

    # -- moves ---------------------------------------------------------------

    def delta(self, b: int, t: int) -> tuple[float, tuple, tuple, float]:
        """Return (Δcost, new s record, new t record, in-boundary terms) of moving b to t."""
        prob, a = self.prob, self.a
        s = a[b]
        in_s = in_t = 0.0
        for j, sh in prob.shared[b]:
            k = a[j]
            if k == s:
                in_s += sh
            elif k == t:
                in_t += sh
        ab, pb, hb, perb = prob.area_km2[b], prob.pop[b], prob.hh[b], prob.perim[b]
        rec_s = (
            self.area[s] - ab,
            self.pop[s] - pb,
            self.hh[s] - hb,
            self.per[s] - perb + 2.0 * in_s,
        )
        rec_t = (
            self.area[t] + ab,
            self.pop[t] + pb,
            self.hh[t] + hb,
            self.per[t] + perb - 2.0 * in_t,
        )
        d = 0.0
        cs = vs = ct = vt = 0.0
        if self.active(s):
            cs, vs, _ = self._street_cost(s, *rec_s)
            d += cs - self.cost[s]
        if self.active(t):
            ct, vt, _ = self._street_cost(t, *rec_t)
            d += ct - self.cost[t]
        o = self.orig[b]
        if o == s:
            d += self.w.alpha * pb + self.w.gamma
        elif o == t:
            d -= self.w.alpha * pb + self.w.gamma
        return d, rec_s, rec_t, vs + vt

    def apply(self, b: int, t: int, rec_s: tuple | None = None, rec_t: tuple | None = None) -> None:
        s = self.a[b]
        if s == t:
            return
        if rec_s is None or rec_t is None:
            _, rec_s, rec_t, _ = self.delta(b, t)
        assert rec_s is not None and rec_t is not None
        self.area[s], self.pop[s], self.hh[s], self.per[s] = rec_s
        self.area[t], self.pop[t], self.hh[t], self.per[t] = rec_t
        # members: swap-remove from s, append to t
        ms = self.members[s]
        i = self.where[b]
        last = ms[-1]
        ms[i] = last
        self.where[last] = i
        ms.pop()
        self.where[b] = len(self.members[t])
        self.members[t].append(b)
        self.cnt[s] -= 1
        self.cnt[t] += 1
        if self.cnt[s] == 0:
            self.area[s] = self.pop[s] = self.hh[s] = self.per[s] = 0.0
        self.a[b] = t
        o = self.orig[b]
        pb = self.prob.pop[b]
        if o == s:
            self.moved_pop += pb
            self.moved_cnt += 1
        elif o == t:
            self.moved_pop -= pb
            self.moved_cnt -= 1
        self._restreet(s)
        self._restreet(t)

    def can_leave(self, b: int) -> bool:
        """Whether block b can leave its street without cutting it in two (or emptying it)."""
        a, rook = self.a, self.prob.rook
        s = a[b]
        if self.cnt[s] <= 1:
            return False
        nbs = [j for j in rook[b] if a[j] == s]
        if len(nbs) <= 1:
            return True
        targets = set(nbs)
        # quick check: neighbours linked through each other
        start = nbs[0]
        seen = {b, start}
        queue = deque([start])
        found = 1
        need = len(targets)
        while queue:
            x = queue.popleft()
            for y in rook[x]:
                if y in seen or a[y] != s:
                    continue
                seen.add(y)
                if y in targets:
                    found += 1
                    if found == need:
                        return True
                queue.append(y)
        return False

    def neighbour_streets(self, b: int) -> list[int]:
        a, s = self.a, self.a[b]
        out: list[int] = []
        for j in self.prob.rook[b]:
            k = a[j]
            if k != s and k not in out and self.active(k):
                out.append(k)
        return out

    def add_street(self) -> int:
        self.alive.append(True)
        self.reset(self.a, self.alive)
        return self.m - 1


# ------------------------------------------------------------------------ annealing


class _Random:
    """Batched uniform draws from a numpy Generator (fast in Python loops)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.buf: list[float] = []

    def u(self) -> float:
        if not self.buf:
            self.buf = self.rng.random(4096).tolist()
        return self.buf.pop()

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[min(int(self.u() * len(seq)), len(seq) - 1)]


def _propose_move(st: _State, rnd: _Random, bad: list[int]) -> tuple[int, int] | None:
    """Return a candidate (block, target street) or None."""
    if bad and rnd.u() < settings.propose_bad_street_bias:
        k = rnd.pick(bad)
        side = st.side[k]
        if side == 3:
            out = rnd.u() < 0.5
        else:
            out = side == 2
        members = st.members[k]
        if not members:
            return None
        b0 = rnd.pick(members)
        if out:
            ts = st.neighbour_streets(b0)
            if not ts:
                return None
            return b0, rnd.pick(ts)
        cands = [j for j in st.prob.rook[b0] if st.a[j] != k and st.active(st.a[j])]
        if not cands:
            return None
        return rnd.pick(cands), k
    if not st.movable_blocks:
        return None
    b = rnd.pick(st.movable_blocks)
    if not st.active(st.a[b]):
        return None
    ts = st.neighbour_streets(b)
    if not ts:
        return None
    return b, rnd.pick(ts)


def _anneal(
    st: _State,
    rnd: _Random,
    *,
    iters: int,
    t0: float,
    t1: float,
    deadline: float,
    keep_feasible: bool = False,
    keep_best: bool = True,
) -> bool:
    """Anneal in place; return False when the deadline hit.

    Ends in the best state seen (by :meth:`_State.key`) unless ``keep_best`` is
    False, as for a kick meant to leave a local optimum.
    """
    best_key = st.key()
    best_a: list[int] | None = None
    at_best = True
    ratio = (t1 / t0) ** (1.0 / max(iters - 1, 1)) if t0 > 0 and t1 > 0 else 1.0
    temp = t0
    bad = [k for k in range(st.m) if st.viol[k] > 0]
    out_of_time = False
    for it in range(iters):
        if it & 255 == 0:
            if time.perf_counter() > deadline:
                out_of_time = True
                break
            bad = [k for k in range(st.m) if st.viol[k] > 0]
        temp *= ratio
        cand = _propose_move(st, rnd, bad)
        if cand is None:
            continue
        b, t = cand
        s = st.a[b]
        if s == t or not st.active(s) or not st.active(t):
            continue
        d, rec_s, rec_t, v_new = st.delta(b, t)
        if keep_feasible and v_new > st.viol[s] + st.viol[t] + 1e-12:
            continue
        if d > 0 and (temp <= 0 or rnd.u() >= math.exp(-d / temp)):
            continue
        if not st.can_leave(b):
            continue
        if at_best:
            best_a = list(st.a)  # the best state so far, before leaving it
        st.apply(b, t, rec_s, rec_t)
        if st.viol[t] > 0 and t not in bad:
            bad.append(t)
        key = st.key()
        if key < best_key:
            best_key = key
            at_best = True
        else:
            at_best = False
    if keep_best and not at_best and best_a is not None:
        st.reset(best_a, st.alive)
    return not out_of_time


# ------------------------------------------------------------------------ structure


def _far_pair(st: _State, blocks: list[int]) -> tuple[int, int]:
    x, y = st.prob.x, st.prob.y
    idx = np.asarray(blocks)
    cx, cy = x[idx].mean(), y[idx].mean()
    first = int(idx[np.argmax((x[idx] - cx) ** 2 + (y[idx] - cy) ** 2)])
    second = int(idx[np.argmax((x[idx] - x[first]) ** 2 + (y[idx] - y[first]) ** 2)])
    return first, second


def _grow(
    prob: _Problem,
    blocks: list[int],
    seeds: list[int],
    targets: tuple[float, float],
    *,
    lookahead: int = 6,
    mix: float = 1.0,
) -> dict[int, int]:
    """Grow one region per seed over ``blocks`` (each contiguous), the least-filled first.

    A region takes, among the ``lookahead`` unassigned neighbours nearest its
    seed, the one that best keeps its density (residents per km²) near the
    targets' ratio: distance (in units of a street's radius) plus ``mix`` ×
    the relative density error. Dense regions so reach out for sparse blocks
    and the other way round, as streets that must meet both an area and a
    residents band have to.
    """
    allowed = set(blocks)
    owner: dict[int, int] = {}
    heaps: list[list[tuple[float, int]]] = [[] for _ in seeds]
    fill = [0.0] * len(seeds)
    at, pt = targets
    target_density = pt / at if at > 0 else 0.0
    radius = math.sqrt(max(at, 1e-9) * 1e6 / math.pi)
    x, y = prob.x, prob.y
    sums = [[0.0, 0.0] for _ in seeds]

    def take(b: int, i: int) -> None:
        owner[b] = i
        sums[i][0] += prob.area_km2[b]
        sums[i][1] += prob.pop[b]
        fill[i] = max(sums[i][0] / at if at > 0 else 0.0, sums[i][1] / pt if pt > 0 else 0.0)
        sx, sy = float(x[seeds[i]]), float(y[seeds[i]])
        for j in prob.rook[b]:
            if j in allowed and j not in owner:
                d = math.hypot(float(x[j]) - sx, float(y[j]) - sy)
                heapq.heappush(heaps[i], (d, j))

    for i, sd in enumerate(seeds):
        take(sd, i)
    open_ = set(range(len(seeds)))
    while open_ and len(owner) < len(allowed):
        i = min(open_, key=lambda r: (fill[r], r))
        h = heaps[i]
        cands: list[tuple[float, int]] = []
        while h and len(cands) < lookahead:
            d, b = heapq.heappop(h)
            if b not in owner and all(b != c for _, c in cands):
                cands.append((d, b))
        if not cands:
            open_.discard(i)
            continue
        best = cands[0]
        if target_density > 0 and mix > 0 and len(cands) > 1:
            area, pop = sums[i]

            def score(c: tuple[float, int], area: float = area, pop: float = pop) -> float:
                d, b = c
                new_area = area + prob.area_km2[b]
                dens = (pop + prob.pop[b]) / new_area if new_area > 0 else 0.0
                return d / radius + mix * abs(dens - target_density) / target_density

            best = min(cands, key=score)
        for c in cands:
            if c is not best:
                heapq.heappush(h, c)
        take(best[1], i)
    return owner


def _split(st: _State, k: int) -> int | None:
    """Split street k in two from far-apart seeds; return the new street's slot."""
    blocks = list(st.members[k])
    if len(blocks) < 2:
        return None
    s1, s2 = _far_pair(st, blocks)
    if s1 == s2:
        return None
    owner = _grow(st.prob, blocks, [s1, s2], (st.area[k] / 2, st.pop[k] / 2))
    halves: list[list[int]] = [[], []]
    for b in blocks:
        halves[owner.get(b, 0)].append(b)
    if not halves[0] or not halves[1]:
        return None
    # keep in place the half holding more of the street's original residents
    stay = [sum(st.prob.pop[b] for b in h if st.orig[b] == k) for h in halves]
    go = halves[1] if stay[0] >= stay[1] else halves[0]
    new = st.add_street()
    a = list(st.a)
    for b in go:
        a[b] = new
    st.reset(a, st.alive)
    return new


def _merge(st: _State, k: int) -> int | None:
    """Merge street k whole into its best neighbour; return that neighbour's slot."""
    best: tuple[float, int] | None = None
    nbrs: dict[int, float] = {}
    for b in st.members[k]:
        for j, sh in st.prob.shared[b]:
            t = st.a[j]
            if t != k and st.active(t):
                nbrs[t] = nbrs.get(t, 0.0) + sh
    rook_nbrs = {st.a[j] for b in st.members[k] for j in st.prob.rook[b]} - {k}
    for t, sh in nbrs.items():
        if t not in rook_nbrs:
            continue
        c, _, _ = st._street_cost(
            t,
            st.area[t] + st.area[k],
            st.pop[t] + st.pop[k],
            st.hh[t] + st.hh[k],
            st.per[t] + st.per[k] - 2 * sh,
        )
        if best is None or (c - st.cost[t], t) < best:
            best = (c - st.cost[t], t)
    if best is None:
        return None
    t = best[1]
    a = list(st.a)
    for b in st.members[k]:
        a[b] = t
    alive = list(st.alive)
    alive[k] = False
    st.reset(a, alive)
    return t


def _fullness(st: _State, k: int) -> float:
    """How full street k is relative to its additive bands' centres (1 = centre)."""
    vals = [st.area[k], st.pop[k], st.hh[k]]
    out = []
    for m, lo, hi, _ in st.prob.street_bands[k]:
        if m in _ADDITIVE:
            mid = (
                (lo + hi) / 2
                if math.isfinite(lo) and math.isfinite(hi)
                else (hi if math.isfinite(hi) else lo)
            )
            if mid > 0:
                out.append(vals[m] / mid)
    return float(np.mean(out)) if out else 1.0


# ------------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class _Component:
    blocks: np.ndarray
    totals: tuple[float, float, float]  # area km², residents, households


def _components(base: PlanBase, movable_block: np.ndarray) -> list[_Component]:
    idx = np.flatnonzero(movable_block)
    if len(idx) == 0:
        return []
    sub = base.rook_graph[idx][:, idx]
    count, labels = connected_components(sub, directed=False)
    out = []
    for c in range(count):
        blocks = idx[labels == c]
        out.append(
            _Component(
                blocks=blocks,
                totals=(
                    float(base.area_m2[blocks].sum()) / 1e6,
                    float(base.population[blocks].sum()),
                    float(base.households[blocks].sum()),
                ),
            )
        )
    out.sort(key=lambda c: int(c.blocks.min()))
    return out


def _anchor(base: PlanBase, blocks: np.ndarray) -> int:
    """Return the block nearest the residents-weighted centre of a set of blocks."""
    w = base.population[blocks] + 1e-9
    cx = float(np.average(base.lon[blocks], weights=w))
    cy = float(np.average(base.lat[blocks], weights=w))
    return int(blocks[np.argmin((base.lon[blocks] - cx) ** 2 + (base.lat[blocks] - cy) ** 2)])


def _analyse(
    base: PlanBase,
    rulebook: Rulebook,
    bands: tuple[_Band, ...],
    comps: list[_Component],
    movable_block: np.ndarray,
) -> list[Finding]:
    """Return findings on why some streets cannot meet their bands, before any search."""
    out: list[Finding] = []
    envelope = next(
        (e for e in density_envelopes(rulebook) if e.level == "street" and e.kind == "street"),
        None,
    )
    noun, nouns = base.noun, base.nouns
    # (2) communities larger than a whole street may be
    names = {0: ("area", "km²"), 1: ("residents", "residents"), 2: ("households", "households")}
    values = (np.asarray(base.area_m2) / 1e6, base.population, base.households)
    for b in np.flatnonzero(movable_block):
        for m, _lo, hi, _ in bands:
            if m not in _ADDITIVE or not math.isfinite(hi):
                continue
            v = float(values[m][b])
            if v > hi:
                hi = hi - tolerance(_MEASURE_NAMES[m])  # the rulebook's figure, for the message
                what, unit = names[m]
                out.append(
                    Finding(
                        rule="propose.oversized_community",
                        level=base.level,
                        severity="error",
                        code=str(base.codes[b]),
                        name=str(base.names[b]) or None,
                        value=v,
                        maximum=hi,
                        deviation=v - hi,
                        deviation_pct=100 * (v - hi) / hi if hi else None,
                        unit=unit,
                        lon=float(base.lon[b]),
                        lat=float(base.lat[b]),
                        area_m2=float(base.area_m2[b]),
                        message=(
                            f"{noun} {base.names[b] or base.codes[b]} ({base.codes[b]}) alone has "
                            f"{_approx(v)} {unit} of {what}, more than a whole street may have "
                            f"({_approx(hi)}). Whatever street holds it breaks that band; "
                            f"split the {noun} first (it is never split here), "
                            "or accept the exception."
                        ),
                    )
                )
                break
    multi = len(comps) > 1
    for comp in comps:
        area, pop, hh = comp.totals
        lo, hi = _count_bounds(bands, comp.totals)
        blocks = comp.blocks
        spot = _anchor(base, blocks)
        where = (
            f"the {len(blocks)} {nouns} around {base.names[spot] or base.codes[spot]} "
            f"({base.codes[spot]}), cut off from the other movable {nouns} by locked streets, "
            "streets without rules or a gap,"
            if multi
            else f"the district's {len(blocks)} movable {nouns} together"
        )
        density = pop / area if area > 0 else 0.0
        if (
            envelope is not None
            and area > 0
            and not (envelope.min_density <= density <= envelope.max_density)
        ):
            side = "sparse" if density < envelope.min_density else "dense"
            bound = envelope.min_density if side == "sparse" else envelope.max_density
            out.append(
                Finding(
                    rule="propose.density_envelope",
                    level="district" if not multi else base.level,
                    severity="error",
                    code=str(base.codes[spot]),
                    name=str(base.names[spot]) or None,
                    value=density,
                    minimum=envelope.min_density,
                    maximum=envelope.max_density,
                    deviation=density - bound,
                    deviation_pct=100 * (density - bound) / bound if bound else None,
                    unit="residents/km²",
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    area_m2=area * 1e6,
                    related=tuple(str(c) for c in base.codes[blocks]),
                    source=f"{envelope.area_rule.source} (arithmetic on the two bands)",
                    status=envelope.area_rule.status,
                    message=(
                        f"{where[0].upper()}{where[1:]} have {_approx(density)} residents/km² "
                        f"({_approx(area)} km², {_approx(pop)} residents): too {side} for every "
                        f"street there to meet both {envelope.area_rule.band_text()} and "
                        f"{envelope.population_rule.band_text()} (possible only at "
                        f"{_approx(envelope.min_density)}–{_approx(envelope.max_density)} "
                        "residents/km²). At least one street there must break a band; the "
                        "proposal keeps the breaches as few and as small as it can."
                    ),
                )
            )
            continue
        if lo > hi:
            parts = []
            for m, b_lo, b_hi, _ in bands:
                if m not in _ADDITIVE:
                    continue
                t = comp.totals[m]
                what, unit = names[m]
                parts.append(
                    f"{_approx(t)} {unit} of {what} fits "
                    + (
                        f"{math.ceil(t / b_hi - 1e-9)}–{math.floor(t / b_lo + 1e-9)}"
                        if math.isfinite(b_hi) and math.isfinite(b_lo)
                        else "any number of"
                    )
                    + " streets"
                )
            if hi < 1:
                size = "too small to form even one street"
            else:
                size = f"too large for {hi} street{'s' if hi > 1 else ''} and too small for {lo}"
            out.append(
                Finding(
                    rule="propose.island" if multi else "propose.totals",
                    level=base.level if multi else "district",
                    severity="error",
                    code=str(base.codes[spot]),
                    name=str(base.names[spot]) or None,
                    value=float(len(blocks)),
                    unit=nouns,
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    area_m2=area * 1e6,
                    related=tuple(str(c) for c in base.codes[blocks]),
                    message=(
                        f"{where[0].upper()}{where[1:]} are {size}: {'; '.join(parts)}, and no "
                        "count fits all bands. At least one street there must break a band; "
                        "unlock a neighbouring street or adjust the bands."
                    ),
                )
            )
    return out


def _street_findings_after(
    plan: Plan,
    rulebook: Rulebook,
    table: pd.DataFrame,
    analysis: list[Finding],
) -> list[Finding]:
    """Return findings on the proposal: streets still out of band and why."""
    base = plan.base
    out: list[Finding] = []
    envelopes = {e.kind: e for e in density_envelopes(rulebook) if e.level == "street"}
    a = plan.assignment
    explained_blocks: set[str] = set()
    for f in analysis:
        explained_blocks.update(f.related)
        if f.rule == "propose.oversized_community" and f.code:
            explained_blocks.add(f.code)
    unexplained: list[dict[str, Any]] = []
    for k, row in enumerate(table.to_dict("records")):
        if row["status"] != "outside" or row["empty"]:
            continue
        members = np.flatnonzero(a == k)
        spot = int(members[np.argmax(base.area_m2[members])])
        if row["locked"]:
            out.append(
                Finding(
                    rule="propose.locked",
                    level="street",
                    severity="warning",
                    code=str(row["code"]),
                    name=str(row["name"]),
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    message=(
                        f"street {row['name']} ({row['code']}) is locked and breaks "
                        f"{row['broken'].replace(';', ', ')}; a locked street is left exactly "
                        "as it is. Unlock it to let the proposal change it."
                    ),
                )
            )
            continue
        env = envelopes.get(str(row["kind"]))
        d = float(row["density_per_km2"])
        if env is not None and math.isfinite(d) and not (env.min_density <= d <= env.max_density):
            side = "sparse" if d < env.min_density else "dense"
            dens = base.population[members] / (base.area_m2[members] / 1e6)
            beyond = members[dens < env.min_density if side == "sparse" else dens > env.max_density]
            bound = env.min_density if side == "sparse" else env.max_density
            out.append(
                Finding(
                    rule="propose.density_envelope",
                    level="street",
                    severity="warning",
                    code=str(row["code"]),
                    name=str(row["name"]),
                    value=d,
                    minimum=env.min_density,
                    maximum=env.max_density,
                    deviation=d - bound,
                    deviation_pct=100 * (d - bound) / bound if bound else None,
                    unit="residents/km²",
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    related=tuple(str(c) for c in base.codes[beyond]),
                    message=(
                        f"street {row['name']} ({row['code']}) has {_approx(d)} residents/km², too "
                        f"{side} to meet both {env.area_rule.band_text()} and "
                        f"{env.population_rule.band_text()}: {len(beyond)} of its "
                        f"{len(members)} {base.nouns} lie beyond "
                        f"{_approx(env.min_density if side == 'sparse' else env.max_density)} "
                        "residents/km²; the search found no way to mix in enough "
                        f"{'denser' if side == 'sparse' else 'sparser'} {base.nouns} without "
                        "breaking other streets' bands."
                    ),
                )
            )
            continue
        if not explained_blocks.intersection(str(c) for c in base.codes[members]):
            unexplained.append(row)
    if unexplained and not any(f.rule == "propose.street_count" for f in analysis):
        codes = ", ".join(f"{r['name']} ({r['code']})" for r in unexplained[:5])
        out.append(
            Finding(
                rule="propose.not_found",
                level="district",
                severity="warning",
                message=(
                    f"The search stopped without putting {codes} in band, though nothing "
                    "found here rules it out. Give it more time (--time-limit), another seed, "
                    "or try the other mode."
                ),
            )
        )
    return out


# ------------------------------------------------------------------------ the search


def street_count_range(plan: Plan, rulebook: Rulebook, *, widen: int = 1) -> tuple[int, int]:
    """Return the default range of the number of streets with rules.

    Parameters
    ----------
    plan : Plan
    rulebook : Rulebook
    widen : int
        Added on each side of what the totals allow.

    Returns
    -------
    (int, int)
        Fewest and most streets: ``⌈total / band max⌉ … ⌊total / band min⌋``
        for each banded total (area, residents, households) of the communities
        in streets with rules, intersected, then widened. Where no count fits
        every band, the two bounds are swapped before widening.
    """
    bands = _bands(rulebook, "street")
    ruled = np.array([bool(rulebook.for_level("street", s.kind)) for s in plan.streets])
    in_ruled = ruled[plan.assignment]
    base = plan.base
    totals = (
        float(base.area_m2[in_ruled].sum()) / 1e6,
        float(base.population[in_ruled].sum()),
        float(base.households[in_ruled].sum()),
    )
    lo, hi = _count_bounds(bands, totals)
    if hi >= 10**9:
        hi = max(lo, int(ruled.sum()))
    if lo > hi:
        lo, hi = hi, lo
    return max(1, lo - widen), max(1, hi + widen)


def _log_progress(progress: Progress | None, text: str, frac: float) -> None:
    logger.info("propose: %s", text)
    if progress is not None:
        progress(text, min(max(frac, 0.0), 1.0))


def _refuse_missing_figures(
    plan: Plan, kind_bands: dict[str, tuple[_Band, ...]], movable: Sequence[bool]
) -> None:
    """Refuse to plan with residents or households that are missing: they are not zero."""
    base = plan.base
    streets = plan.streets
    in_play = np.asarray(movable, dtype=bool)[plan.assignment]
    needs = {m for s in streets for (m, *_rest) in kind_bands.get(s.kind, ())}
    problems = []
    # residents are always needed: a proposal is judged by the residents it moves
    for what, idxs, missing in (
        ("residents (population)", {0, 1, 2, 3}, base.population_missing),
        ("households", {2}, base.households_missing),
    ):
        if not needs & idxs:
            continue
        lacking = np.flatnonzero(missing & in_play)
        if len(lacking):
            names = [str(base.names[b] or base.codes[b]) for b in lacking[:8]]
            more = f" and {len(lacking) - 8} more" if len(lacking) > 8 else ""
            problems.append(
                f"{what} of {len(lacking)} {base.nouns}: {', '.join(names)}{more}"
            )
    if problems:
        raise InputError(
            "Cannot propose a plan: figures it needs are missing — "
            + "; ".join(problems)
            + ". A missing figure is not zero: a plan built on it would move units for "
            "nothing and could not say how many residents it moves. Add the population "
            "column (CLI: --column population=COLUMN) or the figures for those units, or "
            "lock the streets that hold them."
        )


def propose_plan(
    plan: Plan,
    rulebook: Rulebook,
    *,
    mode: str = "least_change",
    n_streets: int | None = None,
    min_streets: int | None = None,
    max_streets: int | None = None,
    seed: int | None = DEFAULT_SEED,
    time_limit_s: float = 60.0,
    compactness_weight: float = DEFAULT_COMPACTNESS_WEIGHT,
    margin: float | None = None,
    name: str | None = None,
    progress: Progress | None = None,
    move_weight: float = 0.0,
    iterations: int | None = None,
    recombine_weight: float | None = None,
) -> Proposal:
    """Propose a street plan in which every street with rules meets the rulebook's bands.

    Parameters
    ----------
    plan : Plan
        The current plan; never modified. Its locked streets stay exactly as
        they are; streets whose kind has no rule are left alone.
    rulebook : Rulebook
        Bands per street kind (``level = "street"``).
    mode : {"least_change", "scratch", "compact"}
        Start from the current plan and move as little as possible, grow the streets
        anew (see the module notes), or draw round streets by design
        (:mod:`geo.propose.compact`). ``least-change`` is accepted.
    n_streets : int, optional
        Exact number of streets with rules (locked ones included).
    min_streets, max_streets : int, optional
        Range of that number; default what the totals allow, widened by one
        (:func:`street_count_range`). Ignored when ``n_streets`` is given.
    seed : int, optional
        Seed of the random search; default :data:`DEFAULT_SEED`.
    time_limit_s : float
        Wall-clock budget of the search in seconds.
    compactness_weight : float
        Cost per street of each unit of compactness (Polsby-Popper ``4πA/P²``)
        below :data:`geo.settings.propose_compactness_floor` (0.45), in band widths
        (a street out of band costs at least 1), so
        the bands still come first. Higher keeps streets rounder at the price of
        moving more residents; 0 leaves compactness a mere tie-breaker. Least
        change only (scratch anneals for compactness anyway).
        Default :data:`DEFAULT_COMPACTNESS_WEIGHT`.
    margin : float, optional
        Keep streets at least this share of each bound inside their bands where
        it costs little (0.02: 6–8 km² becomes a preference for 6.12–7.84);
        default :data:`geo.settings.propose_margin`; 0 switches it off.
    name : str, optional
        The proposal's plan name; default ``proposal-<mode>-<seed>``.
    progress : callable, optional
        Called as ``progress(text, fraction)`` while the search runs.
    move_weight : float
        Compact mode: the cost of moving every movable resident, in units of mean
        compactness (0: roundest streets whatever moves; 0.3: a balance).
    iterations : int, optional
        Compact mode: refinement iterations per start (a work limit, so the result does
        not depend on the machine's speed); default
        :data:`geo.settings.propose_compact_iterations`.
    recombine_weight : float, optional
        Least change: once every street is in band, recombine pairs of neighbouring
        streets for rounder ones (:mod:`geo.propose.recombine`), at this cost of moving
        every movable resident in units of mean compactness (0.3: a balance), within
        a further quarter of ``time_limit_s`` at most. None (default) keeps the
        least-change plan as found.

    Returns
    -------
    Proposal

    Raises
    ------
    PlanError
        If every street is locked or without rules (nothing can move), for an
        unknown mode, or an impossible street count.
    RulebookError
        If the rulebook has no band for street offices.
    """
    started = time.perf_counter()
    mode = mode.replace("-", "_")
    if mode not in MODES:
        raise PlanError(f"Unknown mode {mode!r}; use least_change, scratch or compact.")
    seed = DEFAULT_SEED if seed is None else int(seed)
    if time_limit_s <= 0:
        raise PlanError("time_limit_s must be positive, e.g. 60.")
    edge = settings.propose_margin if margin is None else float(margin)
    if not math.isfinite(edge) or not 0 <= edge < 0.5:
        raise PlanError(f"margin must be between 0 and 0.5 (a share of the bound), not {margin!r}.")
    kappa = float(compactness_weight)
    if not math.isfinite(kappa) or kappa < 0:
        raise PlanError(f"compactness_weight must be 0 or more, not {compactness_weight!r}.")
    street_bands = _bands(rulebook, "street")
    if not street_bands:
        raise RulebookError(
            f"The rulebook {rulebook.name!r} has no band for street offices, so there is "
            'nothing to propose against. Add a [[rules]] table with level = "street", '
            'kinds = ["street"] and measure = "area_km2" or "population".'
        )
    deadline = started + float(time_limit_s)
    base = plan.base
    streets = plan.streets
    m0 = len(streets)
    kind_bands = {s.kind: _bands(rulebook, s.kind) for s in streets}
    ruled = [bool(kind_bands[s.kind]) for s in streets]
    counts = np.bincount(plan.assignment, minlength=m0)
    if mode in ("scratch", "compact"):
        movable = [ruled[k] and not s.locked and s.kind == "street" for k, s in enumerate(streets)]
    else:
        movable = [ruled[k] and not s.locked for k, s in enumerate(streets)]
    if not any(movable[k] and counts[k] > 0 for k in range(m0)):
        raise PlanError(
            "nothing can move: unlock at least one street. Every street is locked or has no "
            "rule in the rulebook (towns and townships have none by default)."
        )
    _refuse_missing_figures(plan, kind_bands, movable)
    n_fixed = sum(1 for k in range(m0) if ruled[k] and not movable[k] and counts[k] > 0)
    if n_streets is not None:
        lo_n = hi_n = int(n_streets)
    else:
        d_lo, d_hi = street_count_range(plan, rulebook)
        lo_n = d_lo if min_streets is None else int(min_streets)
        hi_n = d_hi if max_streets is None else int(max_streets)
    if lo_n > hi_n:
        raise PlanError(
            f"min_streets ({lo_n}) is greater than max_streets ({hi_n}). Swap them, or give "
            "n_streets."
        )
    if hi_n <= n_fixed:
        raise PlanError(
            f"{n_fixed} streets with rules are locked, so at most {hi_n} streets leaves none "
            f"for the other {base.nouns}. Ask for at least {n_fixed + 1} streets, or unlock some."
        )
    lo_n = max(lo_n, n_fixed + 1)
    rng = np.random.default_rng(seed)
    rnd = _Random(rng)

    prob = _Problem.build(base, street_bands)
    prob.street_bands = [kind_bands[s.kind] for s in streets]
    prob.movable = list(movable)
    movable_block = np.asarray(movable, dtype=bool)[plan.assignment]
    comps = _components(base, movable_block)
    analysis = _analyse(base, rulebook, street_bands, comps, movable_block)
    mean_pop = float(base.population[movable_block].mean()) if movable_block.any() else 1.0
    mean_pop = max(mean_pop, 1.0)
    orig = plan.assignment.tolist()
    alive = [bool(counts[k] > 0) or not movable[k] for k in range(m0)]

    _log_progress(progress, "preparing", 0.02)
    if mode == "least_change":
        weights = _Weights(
            alpha=settings.propose_weight_residents / mean_pop,
            gamma=settings.propose_weight_communities,
            beta=settings.propose_weight_shape,
            kappa=kappa,
            margin=edge,
            margin_weight=settings.propose_margin_weight,
        )
        shape_only = _Weights(0.0, 0.0, settings.propose_weight_shape_scratch, kappa)

        def grow_anew(until: float) -> _State:
            grown, _ = _scratch(
                prob, orig, alive, shape_only, rnd, comps, street_bands,
                (lo_n, hi_n), n_fixed, until, started, progress, polish=False, max_tries=2,
            )  # fmt: skip
            return grown

        st, stop = _least_change(
            prob, orig, alive, weights, rnd, (lo_n, hi_n), n_fixed, deadline, started, progress,
            grow_anew,
        )  # fmt: skip
        if recombine_weight is not None and st.key()[0] == 0:
            # rounder least change: recombine pairs of streets, charging residents moved
            from geo.propose.compact import _kept_bands
            from geo.propose.recombine import recombine

            _log_progress(progress, "recombining pairs of streets", 0.95)
            recombine(
                st, rnd, bands=_kept_bands(st, edge),
                move_weight=float(recombine_weight),
                rounds=settings.propose_recombine_rounds,
                tries=settings.propose_recombine_tries,
                patience=settings.propose_recombine_patience,
                deadline=max(deadline, time.perf_counter() + 0.25 * time_limit_s),
            )  # fmt: skip
        slot_of_street = list(range(m0))
    elif mode == "compact":
        from geo.propose.compact import compact_search

        st, stop = compact_search(
            prob, orig, alive, rnd, comps, street_bands, (lo_n, hi_n), n_fixed, deadline,
            started, progress, margin=edge, move_weight=float(move_weight),
            starts=settings.propose_compact_starts,
            iterations=settings.propose_compact_iterations if iterations is None
            else int(iterations),
        )  # fmt: skip
        slot_of_street = list(range(m0))
    else:
        # scratch anneals for compactness
        weights = _Weights(
            alpha=0.0, gamma=0.0, beta=settings.propose_weight_shape_scratch, margin=edge,
            margin_weight=settings.propose_margin_weight,
        )
        st, stop = _scratch(
            prob, orig, alive, weights, rnd, comps, street_bands, (lo_n, hi_n), n_fixed,
            deadline, started, progress,
        )  # fmt: skip
        slot_of_street = _match_slots(st, plan, movable)
    _log_progress(progress, "writing the proposal", 0.98)
    proposal_name = name or f"proposal-{mode.replace('_', '-')}-{seed}"
    result, added, removed = _to_plan(plan, st, slot_of_street, proposal_name)
    elapsed = time.perf_counter() - started
    summary, after_table = _summarise(plan, result, rulebook, mode, seed, elapsed, stop)
    summary["street_count_range"] = [lo_n, hi_n]
    summary["compactness_weight"] = kappa
    summary["streets_added"] = added
    summary["streets_removed"] = removed
    summary["moves"] = explain_moves(plan, result, rulebook).to_dict(orient="records")
    if mode == "least_change":
        _log_progress(progress, "bounding the residents that must move", 0.99)
        n_movable = sum(1 for k in range(m0) if movable[k] and counts[k] > 0)
        bound = residents_moved_lower_bound(
            plan,
            rulebook,
            max_new_streets=max(hi_n - n_fixed - n_movable, 0),
            min_streets=max(lo_n - n_fixed, 1),
            max_streets=max(hi_n - n_fixed, 1),
            time_limit_s=min(10.0, max(float(time_limit_s) / 4, 1.0)),
        )
        summary["lower_bound"] = bound.to_dict(moved=summary["residents_moved"])
    findings = list(analysis)
    if n_streets is not None or min_streets is not None or max_streets is not None:
        findings.extend(_count_findings(street_bands, comps, (lo_n, hi_n), n_fixed, base))
    findings.extend(_street_findings_after(result, rulebook, after_table, list(findings)))
    findings.extend(f for f in result.findings(rulebook) if f.level == "street")
    if mode == "compact":
        from geo.propose.compact import explain_compactness

        findings.extend(
            explain_compactness(
                result, rulebook, summary["streets"],
                mean_target=settings.propose_target_mean_compactness,
                min_target=settings.propose_target_min_compactness,
                label="the compact plan",
            )
        )
    summary["n_findings"] = len(findings)
    _log_progress(progress, "done", 1.0)
    logger.info(
        "proposal %s: feasible %s, %d/%d streets in band, %s residents moved in %.1f s (%s)",
        proposal_name,
        summary["feasible"],
        summary["in_band_after"],
        summary["streets_after"],
        summary["residents_moved"],
        elapsed,
        stop,
    )
    return Proposal(plan=result, summary=summary, findings=findings)


def _count_findings(
    bands: tuple[_Band, ...],
    comps: list[_Component],
    rng_n: tuple[int, int],
    n_fixed: int,
    base: PlanBase,
) -> list[Finding]:
    totals = [sum(c.totals[i] for c in comps) for i in range(3)]
    lo, hi = _count_bounds(bands, totals)
    want_lo, want_hi = rng_n[0] - n_fixed, rng_n[1] - n_fixed
    if lo <= hi and (want_hi < lo or want_lo > hi):
        return [
            Finding(
                rule="propose.street_count",
                level="district",
                severity="error",
                value=float(rng_n[0]) if rng_n[0] == rng_n[1] else None,
                minimum=float(lo + n_fixed),
                maximum=float(hi + n_fixed),
                unit="streets",
                message=(
                    f"{rng_n[0]}–{rng_n[1]} streets were asked for, but the movable "
                    f"{base.nouns} ({_approx(totals[0])} km², {_approx(totals[1])} residents) make "
                    f"{lo + n_fixed}–{hi + n_fixed} streets in band (locked ones included). "
                    "With the count asked for, the average street breaks a band."
                ),
            )
        ]
    return []


def _moves_touching(st: _State, k: int) -> list[tuple[int, int]]:
    """Return the moves out of street k and into it: (block, target street)."""
    out: dict[tuple[int, int], None] = {}
    a, rook = st.a, st.prob.rook
    for b in st.members[k]:
        for j in rook[b]:
            u = a[j]
            if u != k and st.active(u):
                out[(b, u)] = None
                out[(j, k)] = None
    return list(out)


def _descent(st: _State, deadline: float) -> int:
    """Apply improving moves, best first, until none is left; return how many were applied.

    Each round evaluates the border moves touching a street changed in the
    previous round (every street in the first), then applies the improving ones
    in order of improvement as long as they touch streets not yet changed in
    that round (their deltas are then still exact). A move between two streets
    that did not change cannot have become improving.
    """
    applied = 0
    a = st.a
    dirty: list[int] = [k for k in range(st.m) if st.active(k) and st.cnt[k] > 0]
    while dirty and time.perf_counter() < deadline:
        seen: set[tuple[int, int]] = set()
        cands: list[tuple[float, int, int]] = []
        for k in dirty:
            for b, t in _moves_touching(st, k):
                if (b, t) in seen or st.cnt[a[b]] <= 1:
                    continue
                seen.add((b, t))
                d = st.delta(b, t)[0]
                if d < -1e-12:
                    cands.append((d, b, t))
        if not cands:
            break
        cands.sort()
        touched: set[int] = set()
        for _d, b, t in cands:
            s = a[b]
            if s in touched or t in touched or s == t:
                continue
            if not st.can_leave(b):
                continue
            st.apply(b, t)
            touched.update((s, t))
            applied += 1
        dirty = sorted(touched)
    return applied


def _chain(st: _State, deadline: float, *, depth: int = 6, width: int = 24) -> bool:
    """Find the best ejection chain that lowers the cost and apply it; return whether one was.

    A chain starts with a move touching a street out of band, even one that
    makes things worse (pushing residents into a full neighbour), and goes on
    with the best move touching a street the chain has made worse, up to
    ``depth`` moves. Every chain is undone after it is measured; the best one
    is replayed. Streets out of band are tried worst first, and the search
    stops at the first street that has an improving chain.
    """
    a = st.a
    bad = sorted(
        (k for k in range(st.m) if st.viol[k] > 0 and st.active(k)), key=lambda k: -st.viol[k]
    )
    best_gain = -1e-9
    best_moves: list[tuple[int, int]] | None = None
    for k in bad:
        if time.perf_counter() > deadline or best_moves is not None:
            break
        firsts = sorted(
            (st.delta(b, t)[0], b, t) for b, t in _moves_touching(st, k) if st.cnt[a[b]] > 1
        )
        tried = 0
        for d0, b0, t0 in firsts:
            if tried >= width:
                break
            if not st.can_leave(b0):
                continue
            tried += 1
            start_cost = list(st.cost)
            undo: list[tuple[int, int]] = [(b0, a[b0])]
            moves = [(b0, t0)]
            st.apply(b0, t0)
            moved = {b0}
            total = d0
            if total < best_gain:
                best_gain, best_moves = total, list(moves)
            for _ in range(depth - 1):
                worse = [u for u in range(st.m) if st.cost[u] > start_cost[u] + 1e-12]
                step: tuple[float, int, int] | None = None
                options = sorted(
                    (st.delta(b, t)[0], b, t)
                    for u in worse
                    for b, t in _moves_touching(st, u)
                    if b not in moved and st.cnt[a[b]] > 1
                )
                for d, b, t in options:
                    if st.can_leave(b):
                        step = (d, b, t)
                        break
                if step is None:
                    break
                d, b, t = step
                undo.append((b, a[b]))
                moves.append((b, t))
                st.apply(b, t)
                moved.add(b)
                total += d
                if total < best_gain:
                    best_gain, best_moves = total, list(moves)
            for b, s in reversed(undo):
                st.apply(b, s)
    if best_moves is None:
        return False
    for b, t in best_moves:
        st.apply(b, t)
    return True


def _improve(
    st: _State,
    rnd: _Random,
    *,
    deadline: float,
    t_kick: float,
    max_kicks: int = 40,
) -> str:
    """Descend, chain and kick (short low-temperature annealing) until feasible or stuck.

    Ends in the best state seen (by streets out of band, violation, cost).
    """
    best_a, best_key = list(st.a), st.key()
    kicks = 0
    reason = "converged"
    n_mov = max(len(st.movable_blocks), 1)
    while True:
        if time.perf_counter() > deadline:
            reason = "time limit"
            break
        _descent(st, deadline)
        key = st.key()
        if key < best_key:
            best_a, best_key = list(st.a), key
            kicks = 0
        if key[0] == 0:
            reason = "feasible"
            break
        if _chain(st, deadline):
            continue
        kicks += 1
        if kicks > max_kicks:
            break
        _anneal(
            st,
            rnd,
            iters=max(2_000, 10 * n_mov),
            t0=t_kick,
            t1=t_kick * 0.1,
            deadline=deadline,
            keep_best=False,
        )
    if st.key() > best_key:
        st.reset(best_a, st.alive)
    return reason


def _ruin_recreate(
    st: _State,
    rnd: _Random,
    *,
    deadline: float,
    t_kick: float,
    max_stale: int = 40,
    max_rounds: int = 400,
) -> int:
    """Least change: revert groups of moved blocks and repair, keeping what moves fewer residents.

    Each round puts a random moved block and the moved blocks nearest it back
    in their own streets (where contiguity allows), repairs the bands with
    :func:`_improve`, and keeps the result only if it ranks better (streets out
    of band, violation, then residents and communities moved). Returns the
    number of improvements.
    """
    prob = st.prob
    best_a, best_key = list(st.a), st.key()
    stale = improvements = 0
    for _ in range(max_rounds):
        if stale >= max_stale or time.perf_counter() > deadline:
            break
        moved = [
            b
            for b in range(prob.n)
            if st.a[b] != st.orig[b] and st.orig[b] < st.m and st.active(st.orig[b])
        ]
        if not moved:
            break
        centre = rnd.pick(moved)
        size = 1 + int(rnd.u() * max(1.0, min(0.4 * len(moved), 24.0)))
        d2 = (prob.x[moved] - prob.x[centre]) ** 2 + (prob.y[moved] - prob.y[centre]) ** 2
        group = [moved[i] for i in np.argsort(d2, kind="stable")[:size]]
        for _ in range(3):
            for b in group:
                o = st.orig[b]
                if st.a[b] == o or st.cnt[o] == 0:
                    continue
                if any(st.a[j] == o for j in prob.rook[b]) and st.can_leave(b):
                    st.apply(b, o)
        _improve(st, rnd, deadline=deadline, t_kick=t_kick, max_kicks=2)
        key = st.key()
        if key < best_key:
            best_a, best_key = list(st.a), key
            stale = 0
            improvements += 1
        else:
            st.reset(best_a, st.alive)
            stale += 1
    if st.key() > best_key:
        st.reset(best_a, st.alive)
    return improvements


def _polish(st: _State, rnd: _Random, *, deadline: float, t0: float) -> None:
    """Improve a feasible state's secondary terms without leaving the bands."""
    n_mov = max(len(st.movable_blocks), 1)
    _descent(st, deadline)
    if t0 > 0:
        _anneal(
            st,
            rnd,
            iters=max(20_000, 100 * n_mov),
            t0=t0,
            t1=t0 * 1e-3,
            deadline=deadline,
            keep_feasible=True,
        )
    _descent(st, deadline)


def _repair_pieces(st: _State) -> int:
    """Hand the smaller pieces of non-contiguous movable streets to a neighbour."""
    base = st.prob.base
    moved = 0
    for k in range(st.m):
        if not st.active(k) or st.cnt[k] <= 1:
            continue
        members = np.asarray(st.members[k])
        sub = base.rook_graph[members][:, members]
        count, labels = connected_components(sub, directed=False)
        if count <= 1:
            continue
        sizes = np.bincount(labels, weights=base.population[members] + 1e-6, minlength=count)
        keep = int(np.argmax(sizes))
        for c in np.argsort(sizes):
            if int(c) == keep:
                continue
            piece = members[labels == c].tolist()
            inside = set(piece)
            shared: dict[int, float] = {}
            for b in piece:
                for j, sh in st.prob.shared[b]:
                    t = st.a[j]
                    if j not in inside and t != k and st.active(t) and j in st.prob.rook[b]:
                        shared[t] = shared.get(t, 0.0) + sh
            if not shared:
                continue
            t = max(shared, key=lambda q: (shared[q], -q))
            for b in piece:
                st.apply(b, t)
                moved += 1
    return moved


def _least_change(
    prob: _Problem,
    orig: list[int],
    alive: list[bool],
    weights: _Weights,
    rnd: _Random,
    rng_n: tuple[int, int],
    n_fixed: int,
    deadline: float,
    started: float,
    progress: Progress | None,
    grow_anew: Callable[[float], _State] | None = None,
) -> tuple[_State, str]:
    st = _State(prob, orig, alive, orig, weights)
    repaired = _repair_pieces(st)
    lo_n, hi_n = rng_n
    if st.key()[0] == 0 and lo_n <= st.n_streets() <= hi_n and not repaired:
        return st, "already feasible: nothing to move"
    # bring the street count into range first
    while st.n_streets() > hi_n:
        k = _pick_merge(st)
        if k is None or _merge(st, k) is None:
            break
    while st.n_streets() < lo_n:
        k = _pick_split(st)
        if k is None or _split(st, k) is None:
            break
    # split streets whose totals make two or more streets in band, while the count allows
    while st.n_streets() < hi_n:
        over = []
        for k in range(st.m):
            if st.active(k) and st.cnt[k] >= 2:
                lo, hi = _count_bounds(prob.street_bands[k], (st.area[k], st.pop[k], st.hh[k]))
                if 2 <= lo <= hi:
                    over.append(k)
        if not over:
            break
        k = max(over, key=lambda q: (_fullness(st, q), -q))
        if _split(st, k) is None:
            break
    t_kick = 0.5 * weights.alpha * float(np.mean(prob.pop)) if prob.pop else 0.01

    budget = max(deadline - started, 1e-9)

    def run(state: _State, phase_deadline: float, kicks: int = 40) -> str:
        _log_progress(
            progress,
            f"searching ({state.n_streets()} streets)",
            (time.perf_counter() - started) / budget,
        )
        reason = _improve(
            state, rnd, deadline=min(phase_deadline, deadline), t_kick=t_kick, max_kicks=kicks
        )
        if state.key()[0] == 0:
            _polish(state, rnd, deadline=deadline, t0=0.0)
            _ruin_recreate(state, rnd, deadline=deadline, t_kick=t_kick)
        return reason

    first_phase = started + settings.propose_first_phase_share * budget
    stop = run(st, first_phase, kicks=12 if grow_anew is not None else 40)
    if st.key()[0] > 0 and grow_anew is not None and time.perf_counter() < deadline:
        # moving communities one by one got stuck: grow the streets anew, give each old
        # street the new one it overlaps most, then move communities back where the
        # bands allow; keep it if it ranks better
        _log_progress(progress, "growing streets anew", (time.perf_counter() - started) / budget)
        grown = grow_anew(started + settings.propose_regrow_share * budget)
        if grown.key()[:2] < st.key()[:2]:
            adopted = _adopt(grown, orig, alive, weights)
            _polish(adopted, rnd, deadline=deadline, t0=0.0)
            _ruin_recreate(
                adopted,
                rnd,
                deadline=deadline,
                t_kick=t_kick,
                max_rounds=400 if adopted.key()[0] == 0 else 60,
            )
            if adopted.key() < st.key():
                st, stop = adopted, "grown anew, then moved back toward the current plan"

    # structural moves while infeasible: split an over-full street, merge an under-full one
    tried: set[tuple[str, int, int]] = set()
    improved = True
    while st.key()[0] > 0 and improved and time.perf_counter() < deadline:
        improved = False
        options: list[tuple[str, int]] = []
        n_now = st.n_streets()
        if n_now < hi_n:
            k = _pick_split(st)
            if k is not None:
                options.append(("split", k))
        if n_now > lo_n:
            k = _pick_merge(st)
            if k is not None:
                options.append(("merge", k))
        best = st
        for op, k in options:
            sig = (op, k, n_now)
            if sig in tried:
                continue
            tried.add(sig)
            trial = _State(prob, st.a, st.alive, orig, weights)
            done = _split(trial, k) if op == "split" else _merge(trial, k)
            if done is None:
                continue
            run(trial, deadline)
            if trial.key() < best.key():
                best, stop = trial, f"after a {op}"
                improved = True
            if time.perf_counter() > deadline:
                stop = "time limit"
                break
        st = best
    if st.key()[0] == 0:
        return st, "feasible plan found" + ("" if stop == "feasible" else f" ({stop})")
    if time.perf_counter() > deadline:
        return st, "time limit reached without a feasible plan"
    return st, "search converged without a feasible plan"


def _pick_split(st: _State) -> int | None:
    cands = [k for k in range(st.m) if st.active(k) and st.cnt[k] >= 2]
    if not cands:
        return None
    return max(cands, key=lambda k: (_fullness(st, k), -k))


def _pick_merge(st: _State) -> int | None:
    cands = [k for k in range(st.m) if st.active(k) and st.cnt[k] > 0]
    if len(cands) < 2:
        return None
    return min(cands, key=lambda k: (_fullness(st, k), k))


def _ideal_count(bands: tuple[_Band, ...], totals: Sequence[float]) -> int:
    """Return the street count whose average street lies nearest the band centres."""
    lo, hi = _count_bounds(bands, totals)
    lo, hi = max(min(lo, hi), 1), max(lo, hi, 1)
    hi = min(hi, lo + 1000)
    return min(range(lo, hi + 1), key=lambda k: (_count_cost(bands, totals, k), k))


def _allocate(comps: list[_Component], bands: tuple[_Band, ...], total: int) -> list[int]:
    """Split ``total`` streets over the components, each at least one, nearest the band centres."""
    ks = [_ideal_count(bands, c.totals) for c in comps]
    while sum(ks) != total:
        grow = sum(ks) < total
        options = []
        for i, c in enumerate(comps):
            k = ks[i] + (1 if grow else -1)
            if k < 1 or k > len(c.blocks):
                continue
            extra = _count_cost(bands, c.totals, k) - _count_cost(bands, c.totals, ks[i])
            options.append((extra, i))
        if not options:
            break
        ks[min(options)[1]] += 1 if grow else -1
    return ks


def _seeds(prob: _Problem, blocks: np.ndarray, k: int, rng: np.random.Generator) -> list[int]:
    """Weighted k-means (k-means++ start) over block points; the block nearest each centre."""
    pts = np.column_stack([prob.x[blocks], prob.y[blocks]])
    area = np.asarray(prob.area_km2)[blocks]
    pop = np.asarray(prob.pop)[blocks]
    w = area / max(area.sum(), 1e-12) + pop / max(pop.sum(), 1e-12) + 1e-12
    centres = [pts[rng.choice(len(pts), p=w / w.sum())]]
    for _ in range(1, k):
        d2 = np.min([((pts - c) ** 2).sum(axis=1) for c in centres], axis=0) * w
        centres.append(pts[rng.choice(len(pts), p=d2 / d2.sum())] if d2.sum() > 0 else pts[0])
    cen = np.array(centres)
    for _ in range(20):
        labels = np.argmin(((pts[:, None, :] - cen[None, :, :]) ** 2).sum(axis=2), axis=1)
        for j in range(k):
            sel = labels == j
            if sel.any():
                cen[j] = np.average(pts[sel], axis=0, weights=w[sel])
    seeds: list[int] = []
    for j in range(k):
        order = np.argsort(((pts - cen[j]) ** 2).sum(axis=1))
        for i in order:
            if int(blocks[i]) not in seeds:
                seeds.append(int(blocks[i]))
                break
    return seeds


def _scratch(
    prob: _Problem,
    orig: list[int],
    alive: list[bool],
    weights: _Weights,
    rnd: _Random,
    comps: list[_Component],
    bands: tuple[_Band, ...],
    rng_n: tuple[int, int],
    n_fixed: int,
    deadline: float,
    started: float,
    progress: Progress | None,
    *,
    polish: bool = True,
    max_tries: int | None = None,
) -> tuple[_State, str]:
    m0 = len(alive)
    lo_n, hi_n = rng_n
    lo_k, hi_k = max(lo_n - n_fixed, len(comps)), max(hi_n - n_fixed, len(comps))
    ideal = sum(_ideal_count(bands, c.totals) for c in comps)
    ideal = min(max(ideal, lo_k), hi_k)
    candidates = [ideal]
    for step in range(1, hi_k - lo_k + 1):
        for k in (ideal + step, ideal - step):
            if lo_k <= k <= hi_k:
                candidates.append(k)
    if max_tries is not None:
        candidates = candidates[:max_tries]
    movable_slots = [k for k in range(m0) if prob.movable[k]]
    best: _State | None = None
    for total in candidates:
        if best is not None and time.perf_counter() > deadline:
            break
        _log_progress(
            progress,
            f"growing {total + n_fixed} streets",
            (time.perf_counter() - started) / max(deadline - started, 1e-9),
        )
        ks = _allocate(comps, bands, total)
        a = list(orig)
        alive_t = [alive[k] and not prob.movable[k] for k in range(m0)]
        slot = m0
        for comp, kc in zip(comps, ks, strict=True):
            targets = (comp.totals[0] / kc, comp.totals[1] / kc)
            blocks = comp.blocks.tolist()
            seeds = _seeds(prob, comp.blocks, kc, rnd.rng) if kc > 1 else [blocks[0]]
            owner = _grow(prob, blocks, seeds, targets)
            for b in blocks:
                a[b] = slot + owner.get(b, 0)
            slot += kc
        alive_t.extend([True] * (slot - m0))
        # movable slots of the old plan hold nothing now
        for k in movable_slots:
            alive_t[k] = False
        st = _State(prob, a, alive_t, orig, weights)
        _improve(st, rnd, deadline=deadline, t_kick=0.02)
        if st.key()[0] > 0 and time.perf_counter() < deadline:
            # mix harder: a hot anneal, then repair again
            n_mov = max(len(st.movable_blocks), 1)
            _anneal(st, rnd, iters=max(50_000, 200 * n_mov), t0=0.3, t1=1e-3, deadline=deadline)
            _improve(st, rnd, deadline=deadline, t_kick=0.05)
        if st.key()[0] == 0 and polish:
            _polish(st, rnd, deadline=deadline, t0=0.002)
        if best is None or st.key() < best.key():
            best = st
        if best.key()[0] == 0:
            break
    assert best is not None
    if best.key()[0] == 0:
        return best, "feasible plan found"
    if time.perf_counter() > deadline:
        return best, "time limit reached without a feasible plan"
    return best, "search converged without a feasible plan"


def _overlap_match(
    a: Sequence[int], orig: Sequence[int], old: list[int], new: list[int], prob: _Problem
) -> dict[int, int]:
    """Return new slot → old slot, pairing them to share the most residents (Hungarian)."""
    if not old or not new:
        return {}
    weight = np.asarray(prob.pop) + np.asarray(prob.area_km2) * 1e-3
    oi = {k: i for i, k in enumerate(old)}
    nj = {k: j for j, k in enumerate(new)}
    overlap = np.zeros((len(old), len(new)))
    for b in range(prob.n):
        i, j = oi.get(orig[b]), nj.get(a[b])
        if i is not None and j is not None:
            overlap[i, j] += weight[b]
    rows, cols = linear_sum_assignment(-overlap)
    return {new[j]: old[i] for i, j in zip(rows, cols, strict=True) if overlap[i, j] > 0}


def _match_slots(st: _State, plan: Plan, movable: list[bool]) -> list[int]:
    """Scratch mode: give each old movable street the slot of the region it overlaps most."""
    m0 = len(plan.streets)
    old = [k for k in range(m0) if movable[k]]
    new = [k for k in range(m0, st.m) if st.alive[k] and st.cnt[k] > 0]
    mapping = list(range(m0))
    for region, k in _overlap_match(st.a, plan.assignment.tolist(), old, new, st.prob).items():
        mapping[k] = region
    return mapping


def _adopt(grown: _State, orig: list[int], alive: list[bool], weights: _Weights) -> _State:
    """Least change: relabel grown streets as the old streets they overlap most."""
    prob = grown.prob
    m0 = len(alive)
    old = [k for k in range(m0) if prob.movable[k] and prob.street_bands[k] == prob.new_bands]
    new = [k for k in range(m0, grown.m) if grown.alive[k] and grown.cnt[k] > 0]
    to_old = _overlap_match(grown.a, orig, old, new, prob)
    label: dict[int, int] = {}
    next_slot = m0
    for r in new:
        if r in to_old:
            label[r] = to_old[r]
        else:
            label[r] = next_slot
            next_slot += 1
    a = [label.get(k, k) for k in grown.a]
    kept = set(to_old.values())
    new_alive = [alive[k] and (not prob.movable[k] or k in kept) for k in range(m0)]
    new_alive.extend([True] * (next_slot - m0))
    return _State(prob, a, new_alive, orig, weights)


# ------------------------------------------------------------------------ output


def _to_plan(
    plan: Plan, st: _State, slot_of_street: list[int], name: str
) -> tuple[Plan, list[str], list[str]]:
    """Turn the search state into a new Plan: kept streets, then new ones; emptied ones removed."""
    streets = plan.streets
    final: list[Street] = []
    pos_of_slot: dict[int, int] = {}
    removed: list[str] = []
    for k, s in enumerate(streets):
        slot = slot_of_street[k]
        if not st.prob.movable[k] or st.cnt[slot] > 0:  # locked and rule-less streets stay
            pos_of_slot[slot] = len(final)
            final.append(s)
        else:
            removed.append(s.code)
    work = plan.copy(name=f"{name}-work")
    names = {s.name for s in streets}
    added: list[str] = []
    counter = 0
    for slot in range(st.m):
        if slot in pos_of_slot or st.cnt[slot] == 0:
            continue
        counter += 1
        while f"{NEW_STREET_NAME}{counter}" in names:
            counter += 1
        try:
            new = work.new_street(name=f"{NEW_STREET_NAME}{counter}")
        except PlanError:  # no 12-digit codes to derive from
            code = f"NEW{counter:03d}"
            while code in {s.code for s in work.streets}:
                code += "x"
            new = work.new_street(name=f"{NEW_STREET_NAME}{counter}", code=code)
        names.add(new.name)
        pos_of_slot[slot] = len(final)
        final.append(new)
        added.append(new.code)
    assignment = np.array([pos_of_slot[k] for k in st.a], dtype=np.int64)
    return Plan(plan.base, name=name, streets=final, assignment=assignment), added, removed


def _table_rows(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(r["code"]): {
            "name": str(r["name"]),
            "kind": str(r["kind"]),
            "locked": bool(r["locked"]),
            "blocks": int(r["blocks"]),
            "area_km2": round(float(r["area_km2"]), 4),
            "population": float(r["population"]),
            "households": float(r["households"]),
            "density_per_km2": float(r["density_per_km2"]),
            "status": str(r["status"]),
            "broken": str(r["broken"]),
            "compactness": None
            if not math.isfinite(float(r["compactness"]))
            else round(float(r["compactness"]), 4),
        }
        for _, r in table.iterrows()
    }


def _street_margin(rulebook: Rulebook, row: dict[str, Any]) -> float | None:
    """Return the smallest share of a bound a street keeps inside its bands (None outside)."""
    margins = []
    for rule in rulebook.for_level("street", row["kind"]):
        m = Band.of(rule).edge_margin(row.get(rule.measure))
        if m is None:
            return None
        margins.append(m)
    return round(min(margins), 4) if margins else None


def _elongated(before: float | None, after: float | None) -> bool:
    """Whether the bands were met with stretched streets.

    That is, mean compactness fell below :data:`geo.settings.elongated_compactness_ratio`
    of what it was.
    """
    return bool(before and after is not None
                and after < settings.elongated_compactness_ratio * before)


def _summarise(
    before: Plan,
    after: Plan,
    rulebook: Rulebook,
    mode: str,
    seed: int,
    elapsed: float,
    stop: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    t0 = before.street_table(rulebook)
    t1 = after.street_table(rulebook)
    ruled0 = t0[(t0["status"] != "no rule") & ~t0["empty"]]
    ruled1 = t1[t1["status"] != "no rule"]
    ok0 = [str(c) for c in ruled0.loc[ruled0["status"] == "ok", "code"]]
    ok1 = [str(c) for c in ruled1.loc[ruled1["status"] == "ok", "code"]]
    moved, _ = before.compare(after, rulebook=rulebook)
    rows0, rows1 = _table_rows(t0), _table_rows(t1)
    rows = []
    for code in dict.fromkeys([*rows0, *rows1]):
        r0, r1 = rows0.get(code), rows1.get(code)
        ref = r1 or r0
        assert ref is not None
        rows.append(
            {
                "code": code,
                "name": ref["name"],
                "kind": ref["kind"],
                "locked": ref["locked"],
                "area_km2_before": r0["area_km2"] if r0 else None,
                "area_km2_after": r1["area_km2"] if r1 else None,
                "population_before": r0["population"] if r0 else None,
                "population_after": r1["population"] if r1 else None,
                "status_before": r0["status"] if r0 else None,
                "status_after": r1["status"] if r1 else None,
                "broken_after": r1["broken"] if r1 else "",
                "compactness_after": r1["compactness"] if r1 else None,
                "margin_after": _street_margin(rulebook, r1) if r1 else None,
            }
        )

    def mean_comp(t: pd.DataFrame) -> float | None:
        vals = t["compactness"].astype(float)
        vals = vals[np.isfinite(vals)]
        return round(float(vals.mean()), 4) if len(vals) else None

    feasible = bool(len(ruled1) > 0 and (ruled1["status"] == "ok").all())
    summary: dict[str, Any] = {
        "plan": after.name,
        "mode": mode,
        "seed": seed,
        "feasible": feasible,
        "stop_reason": stop,
        "elapsed_s": round(elapsed, 3),
        "streets_before": len(ruled0),
        "streets_after": len(ruled1),
        "in_band_before": len(ok0),
        "in_band_after": len(ok1),
        "in_band_before_codes": ok0,
        "in_band_after_codes": ok1,
        "out_of_band_after_codes": [str(c) for c in ruled1.loc[ruled1["status"] != "ok", "code"]],
        "communities_moved": len(moved),
        "residents_moved": float(moved["population"].sum()) if len(moved) else 0.0,
        "moved_codes": [str(c) for c in moved["code"]],
        "block_level": before.base.level,
        "compactness_mean_before": mean_comp(ruled0),
        "compactness_mean_after": mean_comp(ruled1),
        "elongated": _elongated(mean_comp(ruled0), mean_comp(ruled1)),
        "max_pieces_after": int(t1["pieces"].max()) if len(t1) else 0,
        "streets": rows,
    }
    return summary, t1


__all__ = [
    "DEFAULT_COMPACTNESS_WEIGHT",
    "DEFAULT_SEED",
    "MODES",
    "Proposal",
    "propose_plan",
    "street_count_range",
]
