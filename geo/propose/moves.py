"""Local search on a :class:`~geo.propose.state._State`: moving communities one by one.

Annealing, steepest descent, chains of moves, ruin-and-recreate and the final polish;
and repairing streets left in pieces.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from scipy.sparse.csgraph import connected_components

from geo import settings
from geo.propose.state import (
    _Random,
    _State,
)

logger = logging.getLogger(__name__)

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
