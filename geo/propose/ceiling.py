"""How round can a district's streets be? An estimate by column generation.

When the roundest alternative misses the mean compactness target, a planner needs to
know whether a longer search would help or the district does not allow it.
:func:`estimate_ceiling` answers with column generation over candidate streets
(connected sets of communities inside the bands):

1. the pool starts with the given plans' streets and streets grown from every
   community, several times, towards round shapes at the district's density;
2. the linear relaxation of the set-partitioning programme (every community in one
   street, as many streets as the bands allow, maximising their mean Polsby-Popper
   compactness; HiGHS through scipy's ``linprog``) prices every community: its dual says
   how hard the community is to give a round street;
3. streets are grown and polished against those prices (greedy growth, then single
   additions and removals while compactness less the prices rises) and the relaxation is
   solved again, round after round.

The relaxation mixes streets in fractions, so no whole plan made of the candidates is
rounder than its value; the plans given are among the candidates, so the value is never
below their mean. The pricing is
heuristic, though: a street no growth found could raise it, so the value is an
**estimate** of the ceiling, not a bound on every plan, and the messages say so.
Written here: no library offers column generation for districting; the programmes are
solved by HiGHS through scipy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix, hstack, identity, vstack

from geo.plan.model import Plan
from geo.propose.compact import _shrunk
from geo.propose.grow import _Space
from geo.propose.recombine import _connected, _perimeter, _pp
from geo.propose.search import _Request, _Task
from geo.propose.state import _ADDITIVE, _Band, _count_bounds, _Problem, _violation
from geo.rules.rulebook import Rulebook

UNCOVERED = 10.0
"""Cost of a community no street covers in the relaxation (a street's compactness is
under 1)."""

START_GROWTHS = 5
"""Streets grown from every community before the first pricing."""

GROWTHS_PER_ROUND = 150
"""Streets grown against the prices in each round."""

POLISH_STEPS = 40
"""Single additions or removals tried, at most, when polishing a street."""

SETTLED_ROUNDS = 10
SETTLED_GAIN = 0.005
"""The estimate has settled when the last ``SETTLED_ROUNDS`` rounds raised it by less than
``SETTLED_GAIN`` (mean Polsby-Popper): on the sample it then rises by about 0.002 per ten
rounds, 0.005 in the hundred rounds after."""


@dataclass(frozen=True)
class Ceiling:
    """The relaxation's mean compactness, over how many streets, after how many rounds.

    ``settled`` is whether the last rounds barely raised it (:data:`SETTLED_GAIN`): an
    estimate stopped early by its deadline says little about the district.
    """

    mean: float
    streets_tried: int
    rounds: int
    settled: bool


class _Pool:
    """Candidate streets of the movable communities with their compactness."""

    def __init__(
        self, prob: _Problem, blocks: Sequence[int], bands: tuple[_Band, ...],
        counts: tuple[int, int],
    ) -> None:
        self.prob, self.blocks, self.bands, self.counts = prob, list(blocks), bands, counts
        self.free = set(blocks)
        self.row = {b: i for i, b in enumerate(self.blocks)}
        pop = sum(prob.pop[b] for b in blocks)
        self.density = pop / max(sum(prob.area_km2[b] for b in blocks), 1e-9)
        self.pp: dict[frozenset[int], float] = {}

    def past(self, area: float, pop: float, hh: float) -> bool:
        """Whether an area, residents or households total is above its band."""
        totals = (area, pop, hh)
        return any(m in _ADDITIVE and totals[m] > hi for m, _, hi, _ in self.bands)

    def add(self, members: frozenset[int], area: float, per: float) -> None:
        if members not in self.pp:
            self.pp[members] = _pp(area, per)

    def relax(self) -> tuple[float, np.ndarray, list[frozenset[int]]]:
        """Return the relaxation's mean compactness, each community's price, its streets.

        The mean is -inf while some community is left uncovered. The street count is
        free within ``self.counts``: with shares ``y = x / count`` and ``t = 1 / count``
        (Charnes and Cooper), the mean ``Σ pp·x / Σ x`` is the linear ``Σ pp·y`` under
        ``Σ y = 1``, every community covered ``t`` times and ``lo·t ≤ 1 ≤ hi·t``; a whole
        plan of any count in range is one solution, so none is rounder than the value.
        """
        keys = list(self.pp)
        rows: list[int] = []
        cols: list[int] = []
        for j, members in enumerate(keys):
            rows.extend(self.row[b] for b in members)
            cols.extend([j] * len(members))
        n, m = len(self.blocks), len(keys)
        part = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, m)).tocsr()
        pp = np.array([self.pp[k] for k in keys])
        cover = hstack([part, identity(n), csr_matrix(-np.ones((n, 1)))])
        shares = csr_matrix(np.concatenate([np.ones(m), np.zeros(n + 1)])[None, :])
        lo, hi = self.counts
        count = csr_matrix(np.array([[0.0] * (m + n) + [lo], [0.0] * (m + n) + [-hi]]))
        # no upper bound on a share: the cover rows imply it, and a bound would take the
        # duals of whole streets away from their communities' prices
        res = linprog(
            np.concatenate([-pp, np.full(n, UNCOVERED), [0.0]]),
            A_eq=vstack([cover, shares]).tocsr(), b_eq=np.concatenate([np.zeros(n), [1.0]]),
            A_ub=count, b_ub=[1.0, -1.0], bounds=(0, None), method="highs",
        )  # fmt: skip
        prices = np.zeros(self.prob.n)
        if res.status != 0:
            return -math.inf, prices, []
        prices[self.blocks] = -np.asarray(res.eqlin.marginals[:n])
        x = np.asarray(res.x)
        used = [keys[j] for j in np.flatnonzero(x[:m] > 1e-9)]
        covered = x[m: m + n].sum() < 1e-9
        return (float(pp @ x[:m]) if covered else -math.inf), prices, used

    def grow(self, seed: int, prices: np.ndarray, rng: np.random.Generator) -> None:
        """Grow a street from ``seed``, round, cheap and near the district's density."""
        prob = self.prob
        steer, noise = rng.uniform(0, 4), rng.uniform(0, 0.05)
        target = self.density * rng.uniform(0.8, 1.2)
        region = {seed}
        area, pop, hh, per = prob.area_km2[seed], prob.pop[seed], prob.hh[seed], prob.perim[seed]
        if _violation(self.bands, area, pop, hh)[0] == 0:
            self.add(frozenset(region), area, per)
        frontier = {j for j in prob.rook[seed] if j in self.free}
        while frontier:
            best: tuple[float, int, float] | None = None
            for f in frontier:
                inner = sum(sh for j, sh in prob.shared[f] if j in region)
                p2 = per + prob.perim[f] - 2 * inner
                a2 = area + prob.area_km2[f]
                score = (-_pp(a2, p2) + prices[f]
                         + steer * abs((pop + prob.pop[f]) / a2 - target) / target
                         + noise * rng.standard_normal())  # fmt: skip
                if best is None or score < best[0]:
                    best = (score, f, p2)
            assert best is not None
            _, f, per = best
            region.add(f)
            frontier.discard(f)
            frontier.update(j for j in prob.rook[f] if j in self.free and j not in region)
            area, pop, hh = area + prob.area_km2[f], pop + prob.pop[f], hh + prob.hh[f]
            if _violation(self.bands, area, pop, hh)[0] == 0:
                self.add(frozenset(region), area, per)
            elif self.past(area, pop, hh):
                break  # more communities only take it further

    def polish(self, members: frozenset[int], prices: np.ndarray) -> None:
        """Add or drop single communities while compactness less prices rises."""
        prob = self.prob
        region = set(members)

        def worth(s: set[int]) -> tuple[float, float, float]:
            area = sum(prob.area_km2[b] for b in s)
            per = _perimeter(prob, s)
            return _pp(area, per) - sum(prices[b] for b in s), area, per

        cur = worth(region)[0]
        for _ in range(POLISH_STEPS):
            border = {j for b in region for j in prob.rook[b] if j in self.free} - region
            best: tuple[float, set[int], float, float] | None = None
            for trial in [region | {j} for j in border] + [region - {b} for b in region]:
                if not trial or _violation(
                    self.bands, sum(prob.area_km2[b] for b in trial),
                    sum(prob.pop[b] for b in trial), sum(prob.hh[b] for b in trial),
                )[0]:
                    continue
                val, area, per = worth(trial)
                if val > cur + 1e-9 and (best is None or val > best[0]) and (
                    len(trial) > len(region) or _connected(trial, prob.rook)
                ):
                    best = (val, trial, area, per)
            if best is None:
                break
            cur, region = best[0], best[1]
            self.add(frozenset(region), best[2], best[3])


def ceiling_inputs(
    plan: Plan, rulebook: Rulebook, *, margin: float = 0.0, seed: int | None = None,
    n_streets: int | None = None, min_streets: int | None = None,
    max_streets: int | None = None,
) -> tuple[_Space, list[int], tuple[_Band, ...], tuple[int, int]]:
    """Return what :func:`estimate_ceiling` needs for a plan, as compact mode sees it.

    The district's search space, the communities compact mode redraws, their bands
    (pulled in by ``margin``) and the street counts both those bands and the caller's
    ``n_streets`` / ``min_streets`` / ``max_streets`` allow.
    """
    req = _Request.checked(
        mode="compact", seed=seed, time_limit_s=1.0, compactness_weight=0.0, margin=margin,
        n_streets=n_streets, min_streets=min_streets, max_streets=max_streets, name=None,
        move_weight=0.0, iterations=None, recombine_weight=None,
    )  # fmt: skip
    task = _Task.of(plan, rulebook, req)
    space = task.space
    blocks = [b for b in range(space.prob.n) if task.movable[space.orig[b]]]
    bands = _shrunk(space.bands, margin)
    prob = space.prob
    lo, hi = _count_bounds(bands, [sum(prob.area_km2[b] for b in blocks),
                                   sum(prob.pop[b] for b in blocks),
                                   sum(prob.hh[b] for b in blocks)])
    return space, blocks, bands, (max(lo, space.count_range[0]), min(hi, space.count_range[1]))


def streets_of(
    assignment: Sequence[int] | np.ndarray, blocks: Sequence[int]
) -> list[frozenset[int]]:
    """Return a plan's streets as sets of ``blocks``, from each block's street."""
    streets: dict[int, set[int]] = {}
    for b in blocks:
        streets.setdefault(int(assignment[b]), set()).add(b)
    return [frozenset(m) for m in streets.values()]


def estimate_ceiling(
    prob: _Problem,
    blocks: Sequence[int],
    bands: tuple[_Band, ...],
    counts: tuple[int, int],
    plans: Sequence[Sequence[frozenset[int]]],
    *,
    seed: int,
    rounds: int,
    deadline: float = math.inf,
) -> Ceiling | None:
    """Return the relaxation's mean compactness over candidate streets, or None.

    Parameters
    ----------
    prob : _Problem
        The district's arrays.
    blocks : sequence of int
        The communities the streets are drawn from.
    bands : band tuple
        The bands every candidate street meets.
    counts : (int, int)
        The fewest and most streets a plan may have.
    plans : sequence of plans
        Plans whose streets join the pool (each a list of sets of communities), so the
        estimate is never below theirs.
    seed : int
        Seed of the growth (the same seed gives the same estimate unless the deadline
        stops it first).
    rounds : int
        Rounds of pricing (a work limit).
    deadline : float
        ``time.perf_counter()`` after which no new round starts.

    Returns
    -------
    Ceiling or None
        None when no mix of the candidates covers every community.
    """
    if not blocks or not 1 <= counts[0] <= counts[1]:
        return None
    pool = _Pool(prob, blocks, bands, counts)
    for plan in plans:
        for members in plan:
            pool.add(frozenset(members), sum(prob.area_km2[b] for b in members),
                     _perimeter(prob, members))
    rng = np.random.default_rng(seed)
    prices = np.zeros(prob.n)
    for _ in range(START_GROWTHS):
        for b in pool.blocks:
            if time.perf_counter() > deadline:
                break
            pool.grow(b, prices, rng)
    means: list[float] = []
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        mean, prices, used = pool.relax()
        means.append(mean)
        for _ in range(GROWTHS_PER_ROUND):
            pool.grow(pool.blocks[int(rng.integers(len(pool.blocks)))], prices, rng)
        for members in used:  # polish the streets the relaxation mixes
            if time.perf_counter() > deadline:
                break
            pool.polish(members, prices)
    mean, _, _ = pool.relax()
    if not math.isfinite(mean):
        return None
    means.append(mean)
    settled = len(means) > SETTLED_ROUNDS and mean - means[-1 - SETTLED_ROUNDS] < SETTLED_GAIN
    return Ceiling(mean=mean, streets_tried=len(pool.pp), rounds=len(means) - 1,
                   settled=settled)
