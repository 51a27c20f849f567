"""Recombination: redraw pairs of neighbouring streets, then pick the best mix exactly.

A single community moved at a time changes a street's compactness by 0.03–0.08 on a
district of about a dozen communities per street, and seldom keeps two tight streets in
band, so annealing stalls. :func:`recombine` works one level up:

1. for every pair (and chain of three) of neighbouring streets, it redraws their union
   as two (three) connected streets many ways (seeded, randomised growth from one
   community, steered towards round shapes and towards the union's own density so
   that every part can meet the bands), keeping the parts in band — each is a
   *column*: a set of communities with a street slot, its Polsby-Popper compactness
   and the residents it moves;
2. a **set-partitioning** programme (scipy's ``milp``, HiGHS) then picks one column
   per street slot covering every community exactly once, maximising the mean PP less
   ``move_weight · residents moved / residents movable``, solved again over rounder
   columns only while that raises ``mean PP + MIN_WEIGHT · min PP − …`` — so
   improvements found in different pairs combine, and every street it returns is
   connected and in band;
3. rounds repeat from the new plan, each with a fresh pool, while they gain.

Every street of the start is a column, so the result is never worse than the start
(up to the solver's tolerance).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from geo.propose.state import _Band, _Problem, _Random, _State, _violation

logger = logging.getLogger(__name__)

MIN_WEIGHT = 0.5
"""Weight of the least compact street's Polsby-Popper beside the mean, in the refinement
(:func:`geo.propose.compact.refine`) and the recombination alike."""

_Column = tuple[frozenset[int], int]


def _pp(area_km2: float, per_m: float) -> float:
    return 4 * math.pi * area_km2 * 1e6 / (per_m * per_m) if per_m > 0 else 0.0


def _perimeter(prob: _Problem, blocks: set[int] | frozenset[int]) -> float:
    """Return the perimeter (m) of a union of blocks: theirs less the edges they share."""
    return float(sum(prob.perim[b] for b in blocks) - sum(
        sh for b in blocks for j, sh in prob.shared[b] if j in blocks
    ))


class _Columns:
    """Candidate streets (communities, slot) with their figures, on one state's district."""

    def __init__(self, st: _State, bands: list[tuple[_Band, ...]]) -> None:
        self.st = st
        self.bands = bands
        self.figs: dict[_Column, tuple[float, float]] = {}  # (pp, residents moved)

    def totals(self, blocks: frozenset[int]) -> tuple[float, float, float, float]:
        prob = self.st.prob
        area = sum(prob.area_km2[b] for b in blocks)
        pop = sum(prob.pop[b] for b in blocks)
        hh = sum(prob.hh[b] for b in blocks)
        return area, pop, hh, _perimeter(prob, blocks)

    def add(self, blocks: frozenset[int], slot: int, *, force: bool = False) -> bool:
        """Add a column when its street is in band for ``slot`` (or ``force``)."""
        key = (blocks, slot)
        if key in self.figs:
            return True
        area, pop, hh, per = self.totals(blocks)
        if not force and _violation(self.bands[slot], area, pop, hh)[0] > 0:
            return False
        orig, prob = self.st.orig, self.st.prob
        moved = sum(prob.pop[b] for b in blocks if orig[b] != slot)
        self.figs[key] = (_pp(area, per), moved)
        return True


def _connected(blocks: set[int], rook: list[list[int]]) -> bool:
    start = next(iter(blocks))
    seen = {start}
    todo = [start]
    while todo:
        x = todo.pop()
        for y in rook[x]:
            if y in blocks and y not in seen:
                seen.add(y)
                todo.append(y)
    return len(seen) == len(blocks)


def _split(
    cols: _Columns, union: set[int], slots: tuple[int, ...], rnd: _Random, tries: int
) -> int:
    """Add in-band splits of ``union`` into ``len(slots)`` (2 or 3) connected streets.

    Grows one street from a random community at a time (round, at the union's density,
    with seeded noise); where it fits a slot and leaves the rest connected, the rest is
    one street (of two) or split again (of three). Returns the splits found.
    """
    prob = cols.st.prob
    area_u = sum(prob.area_km2[b] for b in union)
    rho_u = sum(prob.pop[b] for b in union) / max(area_u, 1e-9)
    members = sorted(union)
    found = 0
    for _ in range(tries):
        seed = rnd.pick(members)
        noise = 0.3 * rnd.u()
        steer = 4.0 * rnd.u()
        region = {seed}
        area, pop, per = prob.area_km2[seed], prob.pop[seed], prob.perim[seed]
        hh = prob.hh[seed]
        frontier = {j for j in prob.rook[seed] if j in union}
        while len(region) < len(members) - 1:
            best: tuple[float, int, float] | None = None
            for f in frontier:
                inner = sum(sh for j, sh in prob.shared[f] if j in region)
                new_per = per + prob.perim[f] - 2 * inner
                a2 = area + prob.area_km2[f]
                score = (
                    -_pp(a2, new_per)
                    + steer * abs((pop + prob.pop[f]) / a2 - rho_u) / max(rho_u, 1e-9)
                    + noise * (rnd.u() - 0.5)
                )
                if best is None or score < best[0]:
                    best = (score, f, new_per)
            if best is None:
                break
            _, f, per = best
            region.add(f)
            frontier.discard(f)
            frontier.update(j for j in prob.rook[f] if j in union and j not in region)
            area += prob.area_km2[f]
            pop += prob.pop[f]
            hh += prob.hh[f]
            fits = [_violation(cols.bands[s], area, pop, hh) for s in slots]
            if all(v > 0 for v, _ in fits):
                if all(side & 2 for _, side in fits):
                    break  # too big already for any slot
                continue
            fit = [s for (v, _), s in zip(fits, slots, strict=True) if v == 0]
            rest = union - region
            if not _connected(rest, prob.rook):
                continue
            for s in fit:  # only whole splits: a part alone seldom combines with others
                others = tuple(o for o in slots if o != s)
                whole = (
                    cols.add(frozenset(rest), others[0]) if len(others) == 1
                    else _split(cols, rest, others, rnd, 2) > 0
                )
                if whole:
                    cols.add(frozenset(region), s, force=True)
                    found += 1
    return found


def _solve(
    cols: _Columns, act: list[int], blocks: list[int], move_weight: float, floor: float,
    time_limit_s: float,
) -> list[_Column] | None:
    """Return the columns with the highest mean compactness less the cost of moves, or None.

    One column per slot, every block in exactly one, none less compact than ``floor``.
    """
    keys = [k for k, (pp, _) in cols.figs.items() if pp >= floor - 1e-9 and k[1] in act]
    if not keys:
        return None
    prob = cols.st.prob
    total_pop = max(sum(prob.pop[b] for b in blocks), 1.0)
    row_of = {b: i for i, b in enumerate(blocks)}
    slot_row = {k: len(blocks) + i for i, k in enumerate(act)}
    n_rows = len(blocks) + len(act)
    rows: list[int] = []
    cc: list[int] = []
    for j, (members, slot) in enumerate(keys):
        rows.extend(row_of[b] for b in members)
        cc.extend([j] * len(members))
        rows.append(slot_row[slot])
        cc.append(j)
    n = len(keys)
    part = coo_matrix((np.ones(len(rows)), (rows, cc)), shape=(n_rows, n)).tocsr()
    pp = np.array([cols.figs[k][0] for k in keys])
    moved = np.array([cols.figs[k][1] for k in keys])
    res = milp(
        -(pp / len(act) - move_weight * moved / total_pop),
        constraints=LinearConstraint(part, np.ones(n_rows), np.ones(n_rows)),
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        options={"time_limit": max(time_limit_s, 0.5)},
    )
    if res.x is None:
        logger.debug("recombine: no pick (%s)", res.message)
        return None
    return [keys[j] for j in np.flatnonzero(np.asarray(res.x) > 0.5)]


def _pick(
    cols: _Columns, act: list[int], blocks: list[int], move_weight: float, floor: float,
    total_pop: float, deadline: float,
) -> list[_Column] | None:
    """Return the best pick by :func:`_score`: set partitioning at rising floors.

    The least compactness is not linear, so the programme maximises the mean (less the
    cost of moves) over columns no less round than a floor, and the floor is raised above
    each pick's least compact street until no pick is left or none scores better.
    """
    best: list[_Column] | None = None
    best_score = -math.inf
    for _ in range(4):
        left = deadline - time.perf_counter()
        chosen = _solve(cols, act, blocks, move_weight, floor, min(max(left, 1.0), 5.0))
        if chosen is None:
            break
        score = _score(cols, chosen, total_pop, move_weight)
        if score > best_score:
            best, best_score = chosen, score
        floor = min(cols.figs[k][0] for k in chosen) + 1e-6
    return best


def _score(cols: _Columns, chosen: list[_Column], total_pop: float, move_weight: float) -> float:
    pps = [cols.figs[k][0] for k in chosen]
    moved = sum(cols.figs[k][1] for k in chosen)
    return sum(pps) / len(pps) + MIN_WEIGHT * min(pps) - move_weight * moved / total_pop


def recombine(
    st: _State,
    rnd: _Random,
    *,
    bands: list[tuple[_Band, ...]],
    move_weight: float = 0.0,
    rounds: int = 6,
    tries: int = 60,
    patience: int = 2,
    deadline: float = math.inf,
) -> int:
    """Improve an in-band state by pair recombination and set partitioning; return rounds run.

    Parameters
    ----------
    st : _State
        A state whose active streets are connected and inside ``bands``; changed in place.
    rnd : _Random
        The search's seeded draws.
    bands : list of band tuples
        Per street slot, the bands every street must keep (the margin-shrunk ones
        where the state keeps them).
    move_weight : float
        Cost of moving every movable resident, in units of mean compactness.
    rounds, tries : int
        Rounds of recombination; splits tried per pair and round (work limits).
    patience : int
        Rounds without gain after which it stops.
    deadline : float
        ``time.perf_counter()`` after which no new round starts.
    """
    act = [k for k in range(st.m) if st.active(k) and st.cnt[k] > 0]
    if len(act) < 2:
        return 0
    if any(_violation(bands[k], st.area[k], st.pop[k], st.hh[k])[0] > 0 for k in act):
        return 0
    cols = _Columns(st, bands)
    blocks = [b for k in act for b in st.members[k]]
    total_pop = max(sum(st.prob.pop[b] for b in blocks), 1.0)
    current = [(frozenset(st.members[k]), k) for k in act]
    for key in current:
        cols.add(key[0], key[1], force=True)
    floor = min(cols.figs[k][0] for k in current)
    best = _score(cols, current, total_pop, move_weight)
    done = stale = 0
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        done += 1
        # a fresh pool each round (the plan's streets and this round's splits): the
        # programme stays small enough to solve in a second or two
        cols.figs = {k: cols.figs[k] for k in current}
        by_slot = dict((k, set(m)) for m, k in current)
        rook = st.prob.rook
        touch = {
            (k1, k2) for k1 in act for k2 in act
            if k1 < k2 and any(j in by_slot[k2] for b in by_slot[k1] for j in rook[b])
        }
        for k1, k2 in sorted(touch):
            _split(cols, by_slot[k1] | by_slot[k2], (k1, k2), rnd, tries)
        for k1, k2 in sorted(touch):  # chains of three: k2 touches k1 and k3
            for k3 in act:
                if k3 > k1 and k3 != k2 and ((min(k2, k3), max(k2, k3)) in touch):
                    if time.perf_counter() > deadline:
                        break
                    union = by_slot[k1] | by_slot[k2] | by_slot[k3]
                    _split(cols, union, (k1, k2, k3), rnd, tries // 3)
        chosen = _pick(cols, act, blocks, move_weight, floor, total_pop, deadline)
        if chosen is None:
            break
        score = _score(cols, chosen, total_pop, move_weight)
        logger.debug("recombine: %d columns, score %.4f (was %.4f)", len(cols.figs), score, best)
        if score <= best + 1e-9:
            stale += 1
            if stale >= patience:
                break
            continue
        stale = 0
        best, current = score, chosen
    a = list(st.a)
    for members, slot in current:
        for b in members:
            a[b] = slot
    if a != st.a:
        st.reset(a, st.alive)
    return done
