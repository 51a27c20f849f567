"""Growing streets anew: splitting, merging, seeding and growing street slots.

Used by least change when the street count must change, and by the search from
scratch, which grows every movable street from seeds; new slots are then matched to
the old streets they overlap most (Hungarian assignment).
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from geo.plan.model import Plan
from geo.propose.diagnose import (
    _Component,
)
from geo.propose.moves import (
    _anneal,
    _improve,
    _polish,
)
from geo.propose.state import (
    _ADDITIVE,
    Progress,
    _Band,
    _count_bounds,
    _count_cost,
    _log_progress,
    _Problem,
    _Random,
    _State,
    _Weights,
)

logger = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class _Space:
    """What every search of one district starts from.

    The problem arrays, each block's current street slot (``orig``), which slots
    are alive, the district's connected pieces, the street bands, the range of
    street counts allowed and how many streets with rules are locked.
    """

    prob: _Problem
    orig: list[int]
    alive: list[bool]
    comps: list[_Component]
    bands: tuple[_Band, ...]
    count_range: tuple[int, int]
    n_fixed: int


def _scratch(
    space: _Space,
    weights: _Weights,
    rnd: _Random,
    deadline: float,
    started: float,
    progress: Progress | None,
    *,
    polish: bool = True,
    max_tries: int | None = None,
) -> tuple[_State, str]:
    """Grow the streets anew (seeded, annealed for shape); return the best and why it stopped."""
    prob, orig, alive, comps, bands = (space.prob, space.orig, space.alive, space.comps,
                                       space.bands)
    n_fixed = space.n_fixed
    m0 = len(alive)
    lo_n, hi_n = space.count_range
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
