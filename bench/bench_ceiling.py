"""Benchmark: how round can the sample's streets be? Our roundest plan against a relaxation.

The roundest alternative comes from compact mode (``propose_plan(mode="compact")``). To
judge how far it is from what the sample allows, this script runs the proposer's own
estimate (:func:`geo.propose.ceiling.estimate_ceiling`, which the alternatives report when
the roundest misses the mean target): **column generation** over candidate streets
(connected sets of communities inside both bands, pulled in by ``--margin``; our plan's
streets among them):

1. streets are grown from every community, five times, towards round shapes at the
   district's density;
2. the linear relaxation of the set-partitioning programme (every community in one
   street, as many streets as the bands allow, maximising their mean Polsby-Popper
   compactness; HiGHS through scipy's ``linprog``) prices every community (its dual);
3. streets are grown and polished against those prices, and the relaxation is solved
   again, ``--rounds`` times.

The relaxation mixes streets *fractionally*, so its value is above what any whole plan
from the same candidates reaches. The pricing is heuristic, so it is **not a bound** on
every possible plan: a street no growth found could still raise it. Read it as an
estimate of the ceiling. Printed in the same run: our compact plan's mean and least
compactness and the ratio of its mean to the relaxation's.

With ``--grids`` it also runs compact mode with **grids** as the building blocks (the
sample's communities left out, each grid in its community's street): how round the
streets could be if communities could be split, and how many would be.

```sh
.venv/bin/python bench/bench_ceiling.py                 # margin 0.02, 60 rounds, ~1 min
.venv/bin/python bench/bench_ceiling.py --margin 0      # the bands alone
.venv/bin/python bench/bench_ceiling.py --grids         # and grids as the blocks
```
"""

from __future__ import annotations

import argparse
import time

from bench_redistrict import plans

from geo import settings
from geo.district.hierarchy import build_district
from geo.plan.model import Plan
from geo.propose.ceiling import ceiling_inputs, estimate_ceiling, streets_of
from geo.propose.search import propose_plan
from geo.rules.rulebook import Rulebook, load_rulebook
from geo.sample.build import sample_district


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--margin", type=float, default=settings.propose_margin)
    parser.add_argument("--rounds", type=int, default=60, help="rounds of pricing")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="our compact search (s)")
    parser.add_argument("--grids", action="store_true",
                        help="also run compact mode with grids as the blocks")
    args = parser.parse_args()
    rulebook = load_rulebook()
    name, plan, _ = next(iter(plans(True, rulebook)))

    t0 = time.perf_counter()
    ours = propose_plan(plan, rulebook, mode="compact", time_limit_s=args.time_limit,
                        margin=args.margin, seed=args.seed)
    t_ours = time.perf_counter() - t0
    rows = [r for r in ours.summary["streets"] if r["status_after"] not in (None, "no rule")]
    comps = [r["compactness_after"] for r in rows]

    space, blocks, bands, counts = ceiling_inputs(plan, rulebook, margin=args.margin,
                                                  seed=args.seed)
    t0 = time.perf_counter()
    ceiling = estimate_ceiling(
        space.prob, blocks, bands, counts, [streets_of(ours.plan.assignment, blocks)],
        seed=args.seed, rounds=args.rounds,
    )
    t_relax = time.perf_counter() - t0
    assert ceiling is not None, "no mix of the candidates covers the district"
    mean = ours.summary["compactness_mean_after"]
    print(f"\n{name}: {len(blocks)} communities, {counts[0]}–{counts[1]} streets (ours "
          f"{len(rows)}), margin {args.margin:g}, {args.rounds} rounds")
    print("| method | mean compactness | least | × relaxation (mean) | time s |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| relaxation over {ceiling.streets_tried:,} candidate streets | {ceiling.mean:.3f} "
          f"| — | 1.00 | {t_relax:.1f} |")
    print(f"| ours: compact mode | {mean:.3f} | {min(comps):.3f} | {mean / ceiling.mean:.2f} "
          f"| {t_ours:.1f} |")
    if args.grids:
        grid_mean, grid_least, split, t_grid = grids_as_blocks(rulebook, args)
        print(f"| ours: compact mode, grids as blocks ({split} communities split) "
              f"| {grid_mean:.3f} | {grid_least:.3f} | {grid_mean / ceiling.mean:.2f} "
              f"| {t_grid:.1f} |")


def grids_as_blocks(rulebook: Rulebook, args: argparse.Namespace) -> tuple[float, float, int,
                                                                           float]:
    """Compact mode on the sample with grids as blocks: mean, least, communities split, time."""
    frames = sample_district()
    grids = frames["grid"].copy()
    street_of = dict(zip(frames["community"]["code"], frames["community"]["parent_code"],
                         strict=True))
    community_of = dict(zip(grids["code"], grids["parent_code"], strict=True))
    grids["parent_code"] = grids["parent_code"].map(street_of)
    plan = Plan.from_district(build_district({"street": frames["street"], "grid": grids}))
    t0 = time.perf_counter()
    ours = propose_plan(plan, rulebook, mode="compact", time_limit_s=args.time_limit,
                        margin=args.margin, seed=args.seed)
    took = time.perf_counter() - t0
    comps = [r["compactness_after"] for r in ours.summary["streets"]
             if r["status_after"] not in (None, "no rule")]
    streets: dict[str, set[int]] = {}
    for code, k in zip(ours.plan.base.codes, ours.plan.assignment, strict=True):
        streets.setdefault(community_of[code], set()).add(int(k))
    split = sum(len(s) > 1 for s in streets.values())
    return ours.summary["compactness_mean_after"], min(comps), split, took


if __name__ == "__main__":
    main()
