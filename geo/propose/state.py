"""The proposer's working state: bands as arrays, the problem, the live plan, the weights.

:class:`_State` holds one assignment of communities (blocks) to street slots with its
totals, band violations and costs, updated move by move; :class:`_Problem` the fixed
arrays of a district; :class:`_Weights` what a move costs. The searches in
:mod:`geo.propose.moves`, :mod:`geo.propose.grow` and :mod:`geo.propose.search` work on it.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyproj

from geo import settings
from geo._progress import Progress, report
from geo.errors import RulebookError
from geo.i18n import N_
from geo.plan.base import PlanBase
from geo.rules.bands import Band
from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

MODES = ("least_change", "scratch", "compact")
"""Search modes of :func:`~geo.propose.search.propose_plan`."""

DEFAULT_SEED = 20170419
"""Seed used when none is given (the street guideline paper's date)."""

NEW_STREET_NAME = "新街道"
"""Stem of the names given to new streets: ``新街道1``, ``新街道2`` ..."""

_MEASURES = {"area_km2": 0, "population": 1, "households": 2, "density_per_km2": 3}
_ADDITIVE = (0, 1, 2)
_MEASURE_NAMES = {v: k for k, v in _MEASURES.items()}
DEFAULT_COMPACTNESS_WEIGHT = 0.0
_EPS = 1e-9


# A band: (measure index, low, high, scale). Low/high are -inf/inf when open.
_Band = tuple[int, float, float, float]


# ------------------------------------------------------------------------ bands


def _bands(rulebook: Rulebook, kind: str) -> tuple[_Band, ...]:
    """Return a kind's street bands as flat tuples for the hot loop (edges from geo.rules.bands)."""
    out: list[_Band] = []
    for rule in rulebook.for_level("street", kind):
        idx = _MEASURES.get(rule.measure)
        if idx is None:  # pragma: no cover - the loader refuses other measures
            continue
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            raise RulebookError.worded(
                N_("Rule {rule}: min ({min:g}) is greater than max ({max:g}). Swap them in the "
                   "rulebook."),
                rule=rule.id, min=rule.min, max=rule.max,
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


def _log_progress(progress: Progress | None, text: str, frac: float) -> None:
    """Log a stage of the search and pass it to ``progress``."""
    logger.info("propose: %s", text)
    report(progress, text, frac)
