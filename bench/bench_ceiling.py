"""Benchmark: how round can the sample's streets be? Our roundest plan against a relaxation.

The roundest alternative comes from compact mode (``propose_plan(mode="compact")``). To
judge how far it is from what the sample allows, this script runs **column generation**
over candidate streets (connected sets of communities inside both bands, pulled in by
the margin):

1. streets are grown from every community, five times, towards round shapes at the
   district's density;
2. the linear relaxation of the set-partitioning programme (every community in one
   street, at most as many streets as our plan has, maximising the mean Polsby-Popper
   compactness; HiGHS through scipy's ``linprog``) prices every community (its dual);
3. streets are grown and polished against those prices, and the relaxation is solved
   again, ``--rounds`` times.

The relaxation mixes streets *fractionally*, so its value is above what any whole plan
from the same candidates reaches. The pricing is heuristic, so it is **not a bound** on
every possible plan: a street no growth found could still raise it. Read it as an
estimate of the ceiling. Printed in the same run: our compact plan's mean and least
compactness and the ratio of its mean to the relaxation's.

```sh
.venv/bin/python bench/bench_ceiling.py                 # margin 0.02, 60 rounds, ~1 min
.venv/bin/python bench/bench_ceiling.py --margin 0      # the bands alone
```
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from bench_redistrict import plans
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, hstack, identity

from geo import settings
from geo.propose.compact import _shrunk
from geo.propose.recombine import _connected, _pp
from geo.propose.search import _Request, _Task, propose_plan
from geo.propose.state import _Problem, _violation
from geo.rules.rulebook import load_rulebook

UNCOVERED = 1.0  # cost of a community no street covers; a street's value is under 1


class Pool:
    """Candidate streets of the movable communities with their compactness."""

    def __init__(self, prob: _Problem, blocks: list[int], bands: tuple, streets: int) -> None:
        self.prob, self.blocks, self.bands, self.streets = prob, blocks, bands, streets
        self.free = set(blocks)
        self.row = {b: i for i, b in enumerate(blocks)}
        pop = sum(prob.pop[b] for b in blocks)
        self.density = pop / sum(prob.area_km2[b] for b in blocks)
        self.pp: dict[frozenset[int], float] = {}

    def perimeter(self, members: set[int]) -> float:
        prob = self.prob
        return sum(prob.perim[b] for b in members) - sum(
            sh for b in members for j, sh in prob.shared[b] if j in members
        )

    def add(self, members: frozenset[int], area: float, per: float) -> int:
        if members in self.pp:
            return 0
        self.pp[members] = _pp(area, per)
        return 1

    def relax(self) -> tuple[float, np.ndarray, list[frozenset[int]]]:
        """Return the relaxation's mean compactness, each community's price and its streets."""
        keys = list(self.pp)
        rows: list[int] = []
        cols: list[int] = []
        for j, members in enumerate(keys):
            rows.extend(self.row[b] for b in members)
            cols.extend([j] * len(members))
        n = len(self.blocks)
        part = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(keys))).tocsr()
        value = np.array([self.pp[k] for k in keys]) / self.streets
        res = linprog(
            np.concatenate([-value, np.full(n, UNCOVERED)]),
            A_eq=hstack([part, identity(n)]).tocsr(), b_eq=np.ones(n),
            A_ub=np.concatenate([np.ones(len(keys)), np.zeros(n)])[None, :],
            b_ub=[self.streets], bounds=(0, 1), method="highs",
        )  # fmt: skip
        prices = np.zeros(self.prob.n)
        prices[self.blocks] = -np.asarray(res.eqlin.marginals) * self.streets
        x = np.asarray(res.x)
        covered = 1.0 - x[len(keys):].sum() / n
        used = [keys[j] for j in np.flatnonzero(x[: len(keys)] > 1e-6)]
        mean = float(value @ x[: len(keys)]) if covered > 1 - 1e-9 else -math.inf
        return mean, prices, used

    def grow(self, seed: int, prices: np.ndarray, rng: np.random.Generator) -> int:
        """Grow a street from ``seed``, round and at a density near the district's."""
        prob = self.prob
        steer, noise = rng.uniform(0, 4), rng.uniform(0, 0.05)
        target = self.density * rng.uniform(0.8, 1.2)
        region = {seed}
        area, pop, hh, per = prob.area_km2[seed], prob.pop[seed], prob.hh[seed], prob.perim[seed]
        frontier = {j for j in prob.rook[seed] if j in self.free}
        added = 0
        while frontier:
            best = None
            for f in frontier:
                inner = sum(sh for j, sh in prob.shared[f] if j in region)
                p2 = per + prob.perim[f] - 2 * inner
                a2 = area + prob.area_km2[f]
                score = (-_pp(a2, p2) + prices[f]
                         + steer * abs((pop + prob.pop[f]) / a2 - target) / target
                         + noise * rng.standard_normal())  # fmt: skip
                if best is None or score < best[0]:
                    best = (score, f, p2)
            _, f, per = best
            region.add(f)
            frontier.discard(f)
            frontier.update(j for j in prob.rook[f] if j in self.free and j not in region)
            area, pop, hh = area + prob.area_km2[f], pop + prob.pop[f], hh + prob.hh[f]
            violation, side = _violation(self.bands, area, pop, hh)
            if violation == 0:
                added += self.add(frozenset(region), area, per)
            elif side & 2:
                break
        return added

    def polish(self, members: frozenset[int], prices: np.ndarray, steps: int = 40) -> int:
        """Add or drop single communities while compactness less prices rises."""
        prob = self.prob
        region = set(members)

        def worth(s: set[int]) -> tuple[float, float, float]:
            area = sum(prob.area_km2[b] for b in s)
            per = self.perimeter(s)
            return _pp(area, per) - sum(prices[b] for b in s), area, per

        cur = worth(region)[0]
        added = 0
        for _ in range(steps):
            border = {j for b in region for j in prob.rook[b] if j in self.free} - region
            best = None
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
            added += self.add(frozenset(region), best[2], best[3])
        return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--margin", type=float, default=settings.propose_margin)
    parser.add_argument("--rounds", type=int, default=60, help="rounds of pricing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="our compact search (s)")
    args = parser.parse_args()
    rulebook = load_rulebook()
    name, plan, _ = next(iter(plans(True, rulebook)))

    t0 = time.perf_counter()
    ours = propose_plan(plan, rulebook, mode="compact", time_limit_s=args.time_limit,
                        margin=args.margin, seed=args.seed)
    t_ours = time.perf_counter() - t0
    rows = [r for r in ours.summary["streets"] if r["status_after"] not in (None, "no rule")]
    comps = [r["compactness_after"] for r in rows]
    streets = len(rows)

    req = _Request.checked(mode="compact", seed=args.seed, time_limit_s=1.0,
                           compactness_weight=0.0, margin=args.margin, n_streets=None,
                           min_streets=None, max_streets=None, name=None, move_weight=0.0,
                           iterations=None, recombine_weight=None)  # fmt: skip
    task = _Task.of(plan, rulebook, req)
    space = task.space
    blocks = [b for b in range(space.prob.n) if task.movable[space.orig[b]]]
    pool = Pool(space.prob, blocks, _shrunk(space.bands, args.margin), streets)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    prices = np.zeros(space.prob.n)
    for _ in range(5):
        for b in blocks:
            pool.grow(b, prices, rng)
    value = -math.inf
    for r in range(args.rounds):
        value, prices, used = pool.relax()
        for _ in range(150):
            pool.grow(blocks[int(rng.integers(len(blocks)))], prices, rng)
        for members in used:  # polish the streets the relaxation mixes
            pool.polish(members, prices)
        if r % 10 == 0:
            print(f"  round {r}: {len(pool.pp)} streets, relaxation mean {value:.4f}", flush=True)
    value, _, _ = pool.relax()
    t_relax = time.perf_counter() - t0
    print(f"\n{name}: {len(blocks)} communities, {streets} streets, margin {args.margin:g}")
    print("| method | mean compactness | least | × relaxation (mean) | time s |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| relaxation over {len(pool.pp):,} candidate streets | {value:.3f} | — | 1.00 "
          f"| {t_relax:.1f} |")
    mean = ours.summary["compactness_mean_after"]
    print(f"| ours: compact mode | {mean:.3f} | {min(comps):.3f} | {mean / value:.2f} "
          f"| {t_ours:.1f} |")


if __name__ == "__main__":
    main()
