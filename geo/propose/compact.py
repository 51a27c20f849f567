"""Compact street plans by design: capacitated growth from spread centres, then refinement.

The least-change search of :mod:`geo.propose.search` meets the bands by moving few
communities, and so draws long, thin streets. :func:`compact_search` instead

1. picks well-spread centres (weighted k-means from a seeded k-means++ start; or the
   current streets' centres when moving residents costs something), then
2. assigns every community to a centre by a **capacitated assignment**: a linear
   programme (scipy's ``milp`` relaxed, HiGHS: a transportation problem, so all but a
   few communities come out whole, and those go to their largest share) minimising the
   area-weighted squared distance of communities to their centre (the streets' moment
   of inertia: round streets have the least) plus, optionally, a cost per resident
   moved, with each street's area and residents inside the bands (pulled in by the
   margin where that is still feasible). Centres move to the centroid of what they got
   and the programme is solved again, a few rounds (capacitated Lloyd);
3. hands stray pieces to a neighbour and repairs any band that broke (the local search
   of :mod:`geo.propose.search`), then
4. **refines**: simulated annealing over border communities that never leaves the bands
   (nor the margin, when the plan keeps it; a move that breaks one is followed by the
   best second move mending it), never cuts a street in two, and raises the mean and
   the minimum Polsby-Popper compactness (``4πA/P²``) together, less a cost per
   resident moved; then
5. **recombines** the best start's pairs and chains of three neighbouring streets and
   picks the best mix exactly (:mod:`geo.propose.recombine`): single moves change a street's
   compactness by several hundredths on a district of a dozen communities per street,
   so redrawing two or three streets at once gets further than annealing alone.

Every random choice comes from the caller's seeded generator and the annealing runs
a fixed number of iterations, so a seed gives the same plan on any machine unless the
time limit stops the search first (the summary's ``stop_reason`` says so).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo import settings
from geo.findings import Finding
from geo.plan.base import PlanBase
from geo.plan.model import Plan
from geo.propose.diagnose import _Component
from geo.propose.grow import _adopt, _allocate, _ideal_count, _seeds, _Space
from geo.propose.moves import _improve, _moves_touching, _repair_pieces
from geo.propose.recombine import MIN_WEIGHT, _pp, recombine
from geo.propose.state import (
    _ADDITIVE,
    Progress,
    _Band,
    _log_progress,
    _Problem,
    _Random,
    _State,
    _violation,
    _Weights,
)
from geo.rules.rulebook import Rulebook, density_envelopes

logger = logging.getLogger(__name__)


LLOYD_ROUNDS = 4
"""Rounds of assignment and centre update per start."""

def _shrunk(bands: tuple[_Band, ...], margin: float) -> tuple[_Band, ...]:
    """Return the bands pulled in by ``margin`` (a share of each bound) on each side."""
    out = []
    for m, lo, hi, sc in bands:
        lo2 = lo + margin * abs(lo) if math.isfinite(lo) else lo
        hi2 = hi - margin * abs(hi) if math.isfinite(hi) else hi
        if lo2 > hi2:
            lo2 = hi2 = (lo + hi) / 2
        out.append((m, lo2, hi2, sc))
    return tuple(out)


def _assign(
    prob: _Problem,
    blocks: np.ndarray,
    centres: np.ndarray,
    bands: tuple[_Band, ...],
    move_cost: np.ndarray | None,
    time_limit_s: float,
) -> np.ndarray | None:
    """Return each block's centre (0..K-1) from the capacitated assignment, or None.

    Minimises the area-weighted squared distance to the centres (in km² · km²) plus
    ``move_cost`` (blocks × K), each centre's additive totals inside ``bands``.
    """
    n, k = len(blocks), len(centres)
    x = prob.x[blocks] / 1000.0
    y = prob.y[blocks] / 1000.0
    area = np.asarray(prob.area_km2)[blocks]
    cx, cy = centres[:, 0] / 1000.0, centres[:, 1] / 1000.0
    d2 = (x[:, None] - cx[None, :]) ** 2 + (y[:, None] - cy[None, :]) ** 2
    cost = area[:, None] * d2
    if move_cost is not None:
        cost = cost + move_cost
    c = cost.ravel()  # variable i*k + j
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo_c: list[float] = []
    hi_c: list[float] = []
    # each block to exactly one centre
    for i in range(n):
        rows.extend([i] * k)
        cols.extend(range(i * k, i * k + k))
        vals.extend([1.0] * k)
        lo_c.append(1.0)
        hi_c.append(1.0)
    r = n
    values = (
        area,
        np.asarray(prob.pop)[blocks],
        np.asarray(prob.hh)[blocks],
    )
    for m, lo, hi, _sc in bands:
        if m not in _ADDITIVE:
            continue
        v = values[m]
        for j in range(k):
            rows.extend([r] * n)
            cols.extend(range(j, n * k, k))
            vals.extend(v.tolist())
            lo_c.append(lo if math.isfinite(lo) else -np.inf)
            hi_c.append(hi if math.isfinite(hi) else np.inf)
            r += 1
    a = coo_matrix((vals, (rows, cols)), shape=(r, n * k)).tocsr()
    res = milp(
        c,
        constraints=LinearConstraint(a, np.asarray(lo_c), np.asarray(hi_c)),
        integrality=np.zeros(n * k),
        bounds=Bounds(0, 1),
        options={"time_limit": max(time_limit_s, 0.5)},
    )
    if res.x is None:
        return None
    # the relaxation is a transportation problem: all but a few blocks come out whole;
    # the few split ones go to their largest share, and the repair mends the bands
    return np.asarray(res.x).reshape(n, k).argmax(axis=1)


def _grow_compact(
    prob: _Problem,
    comp: _Component,
    k: int,
    bands: tuple[_Band, ...],
    margin: float,
    rng: np.random.Generator,
    *,
    home: Sequence[int] | None,
    orig: Sequence[int],
    move_weight: float,
    deadline: float,
) -> np.ndarray | None:
    """Return one start's centre per block of a component (0..k-1), or None when none fits."""
    blocks = comp.blocks
    pts = np.column_stack([prob.x[blocks], prob.y[blocks]])
    area = np.asarray(prob.area_km2)[blocks]
    if home is not None:
        centres = np.array(
            [
                np.average(pts[np.asarray(orig)[blocks] == h], axis=0,
                           weights=area[np.asarray(orig)[blocks] == h])
                if (np.asarray(orig)[blocks] == h).any() else pts[int(rng.integers(len(pts)))]
                for h in home
            ]
        )
    else:
        seeds = _seeds(prob, blocks, k, rng)
        centres = np.column_stack([prob.x[seeds], prob.y[seeds]])
    move_cost = None
    if home is not None and move_weight > 0:
        # residents moved, as a share of the component's residents, against the moment
        # of inertia per km² of a round street of average size (~A²/2π per street)
        pop = np.asarray(prob.pop)[blocks]
        avg_area = comp.totals[0] / k
        scale = move_weight * k * avg_area * avg_area / (2 * math.pi) / max(comp.totals[1], 1.0)
        origin = np.asarray(orig)[blocks]
        move_cost = (origin[:, None] != np.asarray(home)[None, :]) * (pop[:, None] * scale)
    tight = [_shrunk(bands, margin), bands] if margin > 0 else [bands]
    labels: np.ndarray | None = None
    for limits in tight:
        labels = None
        for _ in range(LLOYD_ROUNDS):
            left = deadline - time.perf_counter()
            if left <= 0 and labels is not None:
                break
            got = _assign(prob, blocks, centres, limits, move_cost, min(max(left, 0.5), 20.0))
            if got is None:
                break
            if labels is not None and np.array_equal(got, labels):
                break
            labels = got
            for j in range(k):
                sel = labels == j
                if sel.any():
                    centres[j] = np.average(pts[sel], axis=0, weights=area[sel])
        if labels is not None:
            return labels
    return None


def refine(
    st: _State,
    rnd: _Random,
    *,
    iterations: int,
    bands: list[tuple[_Band, ...]],
    move_weight: float = 0.0,
    deadline: float = math.inf,
    t0: float = 0.002,
    t1: float = 1e-5,
) -> tuple[int, bool]:
    """Anneal border moves for round streets, never leaving the bands; end in the best seen.

    The score (higher is better) is ``mean PP + MIN_WEIGHT · min PP − move_weight ·
    residents moved / residents movable``. A single move seldom keeps two tight streets
    in band, so a move that takes a street out of its band (``bands[k]``, per slot) is
    followed by the best second move touching that street that brings every street back
    in (an ejection chain of two); the pair is judged as one step. No move cuts a street
    in two or empties one. Returns (iterations run, whether they all ran in time).
    """
    act = [k for k in range(st.m) if st.active(k) and st.cnt[k] > 0]
    if len(act) < 2 or not st.movable_blocks:
        return 0, True
    prob, a = st.prob, st.a
    total_pop = max(sum(prob.pop[b] for b in st.movable_blocks), 1.0)
    n_act = len(act)
    alpha = move_weight / total_pop

    def out(k: int) -> bool:
        return _violation(bands[k], st.area[k], st.pop[k], st.hh[k])[0] > 0

    def score() -> float:
        vals = [_pp(st.area[k], st.per[k]) for k in act]
        return sum(vals) / n_act + MIN_WEIGHT * min(vals) - alpha * st.moved_pop

    if any(out(k) for k in act):
        return 0, True
    cur = best = score()
    best_a = list(st.a)
    ratio = (t1 / t0) ** (1.0 / max(iterations - 1, 1))
    temp = t0
    blocks = st.movable_blocks
    done = 0
    for it in range(iterations):
        if it & 255 == 0 and time.perf_counter() > deadline:
            break
        done += 1
        temp *= ratio
        b = rnd.pick(blocks)
        s = a[b]
        nbs = prob.rook[b]
        if s not in act or not nbs:
            continue
        t = a[rnd.pick(nbs)]
        if t == s or t not in act or st.cnt[s] <= 1 or not st.can_leave(b):
            continue
        st.apply(b, t)
        undo = [(b, s)]
        broken = [k for k in (s, t) if out(k)]
        if broken:
            best2: tuple[float, int, int] | None = None
            for b2, u in {m for k in broken for m in _moves_touching(st, k)}:
                if b2 == b or u not in act:
                    continue
                w = a[b2]
                if st.cnt[w] <= 1 or not st.can_leave(b2):
                    continue
                st.apply(b2, u)
                if not any(out(k) for k in (s, t, w, u)):
                    val = score()
                    if best2 is None or val > best2[0]:
                        best2 = (val, b2, u)
                st.apply(b2, w)
            if best2 is None:
                st.apply(b, s)
                continue
            _, b2, u = best2
            undo.insert(0, (b2, a[b2]))
            st.apply(b2, u)
        val = score()
        d = cur - val
        if d > 0 and rnd.u() >= math.exp(-d / temp):
            for blk, k in undo:
                st.apply(blk, k)
            continue
        cur = val
        if cur > best + 1e-12:
            best, best_a = cur, list(st.a)
    logger.debug("refine: %d iterations, end score %.4f, best %.4f", done, cur, best)
    if list(st.a) != best_a:
        st.reset(best_a, st.alive)
    return done, done == iterations


def compact_search(
    space: _Space,
    rnd: _Random,
    deadline: float,
    started: float,
    progress: Progress | None,
    *,
    margin: float,
    move_weight: float = 0.0,
    starts: int = 4,
    iterations: int = 40_000,
) -> tuple[_State, str]:
    """Return the roundest in-band plan found over ``starts`` seeded starts, and why it stopped.

    ``move_weight`` > 0 starts from the current streets' centres and charges residents
    moved (in units of mean compactness for moving every movable resident). The state
    is in the plan's own street slots (new streets after them), as least change gives.
    """
    prob, orig, alive, comps, bands = (space.prob, space.orig, space.alive, space.comps,
                                       space.bands)
    n_fixed = space.n_fixed
    m0 = len(alive)
    lo_n, hi_n = space.count_range
    movable_slots = [k for k in range(m0) if prob.movable[k] and alive[k]]
    shape = _Weights(0.0, 0.0, 0.05)
    best: _State | None = None
    best_rank: tuple = ()
    stop = "iteration limit"
    budget = max(deadline - started, 1e-9)
    ideal = sum(_ideal_count(bands, c.totals) for c in comps)
    total = min(max(ideal, lo_n - n_fixed, len(comps)), max(hi_n - n_fixed, len(comps)))
    counts = [
        min(max(k, 1), len(c.blocks))
        for c, k in zip(comps, _allocate(comps, bands, total), strict=True)
    ]
    for start in range(max(starts, 1)):
        if best is not None and time.perf_counter() > deadline:
            stop = "time limit"
            break
        _log_progress(
            progress, f"compact start {start + 1}/{starts}",
            (time.perf_counter() - started) / budget,
        )
        a = list(orig)
        slot = m0
        ok = True
        for comp, k in zip(comps, counts, strict=True):
            home = None
            if move_weight > 0:
                own = [h for h in movable_slots if np.any(np.asarray(orig)[comp.blocks] == h)]
                if len(own) == k:
                    home = own
            labels = _grow_compact(
                prob, comp, k, bands, margin, rnd.rng, home=home, orig=orig,
                move_weight=move_weight, deadline=deadline,
            )
            if labels is None:
                ok = False
                break
            for b, lab in zip(comp.blocks.tolist(), labels.tolist(), strict=True):
                a[b] = slot + int(lab)
            slot += k
        if not ok:
            stop = "no capacitated assignment meets the bands"
            break
        alive_t = [alive[k] and not prob.movable[k] for k in range(m0)] + [True] * (slot - m0)
        grown = _State(prob, a, alive_t, orig, shape)
        logger.debug("start %d: grown %s %s", start, grown.key()[:2], _rank(grown, 0.0))
        _repair_pieces(grown)
        logger.debug("start %d: pieces %s %s", start, grown.key()[:2], _rank(grown, 0.0))
        if grown.key()[0] > 0:
            _improve(grown, rnd, deadline=deadline, t_kick=0.02, max_kicks=20)
        logger.debug("start %d: repaired %s %s", start, grown.key()[:2], _rank(grown, 0.0))
        weights = _Weights(0.0, 0.0, 0.05)
        st = _adopt(grown, orig, alive, weights)
        hard = _kept_bands(st, margin)
        _, finished = refine(
            st, rnd, iterations=iterations, bands=hard, move_weight=move_weight,
            deadline=deadline,
        )
        if not finished:
            stop = "time limit"
        logger.debug("start %d: refined %s %s", start, st.key()[:2], _rank(st, 0.0))
        rank = _rank(st, move_weight)
        if best is None or rank < best_rank:
            best, best_rank = st, rank
    assert best is not None or stop == "no capacitated assignment meets the bands"
    if best is None:
        return _State(prob, orig, alive, orig, shape), stop
    if best.key()[0] == 0:
        _log_progress(
            progress, "recombining pairs of streets", (time.perf_counter() - started) / budget
        )
        recombine(
            best, rnd, bands=_kept_bands(best, margin), move_weight=move_weight,
            rounds=settings.propose_recombine_rounds, tries=settings.propose_recombine_tries,
            patience=settings.propose_recombine_patience,
            deadline=deadline,
        )  # fmt: skip
        return best, f"compact plan found ({stop})"
    return best, f"no compact plan in band ({stop})"


def _kept_bands(st: _State, margin: float) -> list[tuple[_Band, ...]]:
    """Return each slot's bands, pulled in by ``margin`` where the street already keeps it."""
    prob = st.prob
    out = []
    for k in range(st.m):
        shrunk = _shrunk(prob.street_bands[k], margin)
        keeps = margin > 0 and _violation(shrunk, st.area[k], st.pop[k], st.hh[k])[0] == 0
        out.append(shrunk if keeps else prob.street_bands[k])
    return out


def _rank(st: _State, move_weight: float) -> tuple:
    """Rank states: fewest streets out of band, then highest refinement score."""
    act = [k for k in range(st.m) if st.active(k) and st.cnt[k] > 0]
    pps = [_pp(st.area[k], st.per[k]) for k in act] or [0.0]
    total_pop = max(sum(st.prob.pop[b] for b in st.movable_blocks), 1.0)
    val = sum(pps) / len(pps) + MIN_WEIGHT * min(pps) - move_weight * st.moved_pop / total_pop
    return st.key()[0], round(st.key()[1], 9), -val


def _names(base: PlanBase, blocks: Sequence[int], limit: int = 6) -> str:
    shown = [str(base.names[b]) for b in blocks[:limit]]
    more = len(blocks) - len(shown)
    return "、".join(shown) + ("…" if more > 0 else "")  # the messages give the count


def explain_compactness(
    proposal_plan: Plan,
    rulebook: Rulebook,
    streets: list[dict[str, Any]],
    *,
    mean_target: float,
    min_target: float,
    label: str = "the roundest plan found",
) -> list[Finding]:
    """Return why a plan misses the compactness targets, with the places; empty when it meets them.

    Parameters
    ----------
    proposal_plan : Plan
        The plan judged (the roundest alternative).
    rulebook : Rulebook
        Its bands, for the density envelope.
    streets : list of dict
        The proposal's street rows (``summary["streets"]``: ``code``, ``name``,
        ``status_after``, ``compactness_after``).
    mean_target, min_target : float
        The mean and the least compactness (Polsby-Popper) wanted.
    label : str
        How the messages name the plan.

    Returns
    -------
    list of Finding
        ``propose.compactness_target`` (the district: the figures against the targets),
        one ``propose.dense_core`` per connected area of communities denser than any
        street in band may be that a street short of the targets holds (its communities,
        residents, area and the streets sharing it: only wedges from the core outward can
        dilute it), and ``propose.compactness_search`` for short streets no core explains.
    """
    rows = [
        r for r in streets
        if r.get("status_after") not in (None, "no rule") and r.get("compactness_after") is not None
    ]
    if not rows:
        return []
    comps = {str(r["code"]): float(r["compactness_after"]) for r in rows}
    names = {str(r["code"]): str(r["name"]) for r in rows}
    mean = sum(comps.values()) / len(comps)
    short = sorted((c for c, v in comps.items() if v < min_target), key=comps.__getitem__)
    if mean >= mean_target and not short:
        return []
    if mean < mean_target:
        # streets pulling the mean down: those below the target mean, least compact first
        short = sorted(
            {*short, *(c for c, v in comps.items() if v < mean_target)}, key=comps.__getitem__
        )
    base = proposal_plan.base
    env = next(
        (e for e in density_envelopes(rulebook) if e.level == "street" and e.kind == "street"),
        None,
    )
    out = [
        Finding(
            rule="propose.compactness_target",
            level="district",
            severity="warning",
            value=round(mean, 4),
            minimum=mean_target,
            message=(
                f"{label} has mean compactness (Polsby-Popper) {mean:.2f} against the target "
                f"{mean_target:.2f}, and its least compact street "
                f"{names[min(comps, key=comps.__getitem__)]} has "
                f"{min(comps.values()):.2f} against {min_target:.2f}. Streets short of the "
                f"targets: {', '.join(f'{names[c]} ({comps[c]:.2f})' for c in short)}."
            ),
        )
    ]
    codes = [s.code for s in proposal_plan.streets]
    street_of = np.asarray([codes[k] for k in proposal_plan.assignment], dtype=object)
    density = np.asarray(base.population, float) / np.maximum(
        np.asarray(base.area_m2, float) / 1e6, 1e-9
    )
    explained: set[str] = set()
    if env is not None and math.isfinite(env.max_density):
        in_ruled = np.isin(street_of, list(comps))
        dense = np.flatnonzero(in_ruled & (density > env.max_density))
        if len(dense):
            sub = base.rook_graph[dense][:, dense]
            count, labels = connected_components(sub, directed=False)
            for c in range(count):
                blocks = dense[labels == c]
                held = sorted({str(street_of[b]) for b in blocks}, key=comps.__getitem__)
                hit = [h for h in held if h in short]
                if not hit:
                    continue
                explained.update(hit)
                pop = float(np.asarray(base.population)[blocks].sum())
                area = float(np.asarray(base.area_m2)[blocks].sum()) / 1e6
                order = blocks[np.argsort(-density[blocks])].tolist()
                spot = order[0]
                out.append(
                    Finding(
                        rule="propose.dense_core",
                        level="district",
                        severity="warning",
                        value=round(pop / area),
                        maximum=env.max_density,
                        unit="residents/km2",
                        lon=float(base.lon[spot]),
                        lat=float(base.lat[spot]),
                        name=_names(base, order),
                        related=tuple(str(base.codes[b]) for b in order),
                        message=(
                            f"a dense core of {len(blocks)} communities ({_names(base, order)}) "
                            f"holds {pop:,.0f} residents on {area:.2f} km² "
                            f"({pop / area:,.0f}/km²), denser than any street meeting both "
                            f"bands may be ({env.max_density:,.0f}/km² at most). The "
                            f"{len(held)} streets sharing it "
                            f"({', '.join(f'{names[h]} {comps[h]:.2f}' for h in held)}) must "
                            "each reach out to sparser land to dilute it, drawn out from the "
                            "core like wedges, which costs them roundness (the searches here "
                            "found none rounder). To get rounder streets, widen the bands for "
                            "this district (a rulebook of your own), or accept these wedges."
                        ),
                    )
                )
    rest = [c for c in short if c not in explained]
    if rest:
        out.append(
            Finding(
                rule="propose.compactness_search",
                level="district",
                severity="info",
                related=tuple(rest),
                message=(
                    f"no dense core explains why {', '.join(names[c] for c in rest)} "
                    "fall short of the compactness targets: they hold no community denser than "
                    "a street may be. The search stopped at its work limit; more refinement "
                    "iterations or another seed may find rounder streets."
                ),
            )
        )
    return out
