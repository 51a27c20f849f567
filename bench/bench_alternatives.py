"""Benchmark: our alternatives (fewest moved, balanced, roundest) against spopt max-p and ReCom.

For each instance of ``bench_redistrict.py`` (the sample, the 1,296-community synthetic
district and its dense-core variant) and each method, over ``--runs`` seeds (medians):

* **in-band share**: streets inside both bands (6–8 km², 80,000–120,000 residents);
* **residents moved** from the current plan (for max-p and ReCom, whose regions have no
  names, each region is first matched to the current street it shares most residents
  with, by the Hungarian method, so "moved" is the least their plan implies);
* **mean and least compactness** (Polsby-Popper ``4πA/P²`` of each street's union, in
  the district's metric CRS).

Methods: ``geo.propose.alternatives.propose_alternatives`` (each search within ``--time-limit``),
the same as the round before (``previous``: the roundest ranked on mean compactness alone,
compact mode 4 starts of 4,000 refinement iterations; same seed),
spopt's ``MaxPHeuristic`` (floor 80,000 residents) and a GerryChain ReCom chain (±20 %,
as many streets as our fewest-moved plan; its best plan by streets in band). Ratios are
printed in the same run: each peer against our roundest plan (compactness, share) and
against our fewest-moved plan (residents moved).

``python bench/bench_alternatives.py --quick`` runs the sample once; without it, the
three instances with ``--runs`` seeds. spopt and gerrychain come with the ``bench``
extra (``uv pip install -e .[bench]``); a peer that cannot be imported is skipped.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import shapely
from bench_redistrict import bench_parser, plans, run_maxp, run_recom, score
from scipy.optimize import linear_sum_assignment

from geo import settings
from geo.plan.model import Plan
from geo.propose import alternatives
from geo.propose.alternatives import propose_alternatives
from geo.rules.rulebook import load_rulebook


def figures(plan: Plan, blocks: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Return share in band, residents moved and mean/min compactness of a labelling."""
    base = plan.base
    geoms = base.geometry_metric if hasattr(base, "geometry_metric") else None
    if geoms is None:
        import geopandas as gpd

        geoms = gpd.GeoSeries(list(base.geometry), crs=4326).to_crs(base.metric_crs).values
    regions = np.unique(labels)
    area = np.array([base.area_m2[blocks[labels == r]].sum() / 1e6 for r in regions])
    pop = np.array([base.population[blocks[labels == r]].sum() for r in regions])
    ok, n = score(area, pop)
    pps = []
    for r in regions:
        u = shapely.union_all(np.asarray(geoms)[blocks[labels == r]], grid_size=0.01)
        pps.append(4 * np.pi * u.area / u.length**2 if u.length > 0 else 0.0)
    # match regions to current streets by shared residents (Hungarian), then count moves
    orig = plan.assignment[blocks]
    streets = np.unique(orig)
    overlap = np.zeros((len(regions), len(streets)))
    ri = {r: i for i, r in enumerate(regions)}
    si = {s: j for j, s in enumerate(streets)}
    for lab, o, p in zip(labels, orig, base.population[blocks], strict=True):
        overlap[ri[lab], si[o]] += p
    rows, cols = linear_sum_assignment(-overlap)
    kept = overlap[rows, cols].sum()
    return {
        "share": ok / n if n else 0.0,
        "in_band": f"{ok}/{n}",
        "moved": float(base.population[blocks].sum() - kept),
        "mean": float(np.mean(pps)),
        "min": float(np.min(pps)),
    }


def run_alternatives(
    plan: Plan, blocks: np.ndarray, rulebook: Any, seed: int, time_limit: float,
    *, previous: bool = False,
) -> dict[str, dict[str, Any]]:
    """Run our alternatives; ``previous``: as the round before (the roundest ranked on mean
    compactness alone; compact mode 4 starts of 4,000 refinement iterations), labelled
    ``previous: <key>``."""
    saved = (alternatives.roundness, settings.propose_compact_starts,
             settings.propose_compact_iterations)
    if previous:
        def mean_only(proposal: Any) -> tuple[float, float, float]:
            mean = float(proposal.summary.get("compactness_mean_after") or 0.0)
            return mean, mean, mean

        alternatives.roundness = mean_only  # type: ignore[assignment]
        settings.propose_compact_starts, settings.propose_compact_iterations = 4, 4000
    t = time.perf_counter()
    try:
        alts = propose_alternatives(plan, rulebook, seed=seed, time_limit_s=time_limit)
    finally:
        (alternatives.roundness, settings.propose_compact_starts,
         settings.propose_compact_iterations) = saved
    elapsed = time.perf_counter() - t
    out = {}
    for alt in alts:
        p = alt.proposal.plan
        codes = [s.code for s in p.streets]
        labels = np.array([codes[k] for k in p.assignment[blocks]], dtype=object)
        f = figures(plan, blocks, labels)
        f["moved"] = float(alt.proposal.summary["residents_moved"])  # by street code
        f["time_s"] = elapsed
        out[f"{'previous' if previous else 'ours'}: {alt.key}"] = f
    return out


def main() -> None:
    parser = bench_parser(__doc__, quick="the sample, one run", time_limit=30.0)
    parser.add_argument("--runs", type=int, default=3, help="seeds per method (medians)")
    parser.add_argument("--instance", action="append", help="only this instance (repeatable)")
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    rulebook = load_rulebook()
    for name, plan, blocks in plans(args.quick, rulebook):
        if args.instance and name not in args.instance:
            continue
        per: dict[str, list[dict[str, Any]]] = {}
        for r in range(runs):
            seed = 20170419 + r
            ours = run_alternatives(plan, blocks, rulebook, seed, args.time_limit)
            ours.update(
                run_alternatives(plan, blocks, rulebook, seed, args.time_limit, previous=True)
            )
            for method, f in ours.items():
                per.setdefault(method, []).append(f)
            k = int(per["ours: fewest"][-1]["in_band"].split("/")[1])
            for method in ("spopt max-p", "GerryChain ReCom"):
                res = (
                    run_maxp(plan, blocks, seed=seed) if method == "spopt max-p"
                    else run_recom(plan, blocks, k, args.steps, seed)
                )
                if "skip" in res:
                    print(f"  {method}: skipped ({res['skip']})")
                    continue
                f = figures(plan, blocks, np.asarray(res["labels"]))
                f["time_s"] = res["time_s"]
                per.setdefault(method, []).append(f)
            print(f"{name}: run {r + 1}/{runs} done", flush=True)
        med = {
            m: {key: statistics.median(f[key] for f in fs)
                for key in ("share", "moved", "mean", "min", "time_s")}
            for m, fs in per.items()
        }
        ref_round = med.get("ours: roundest") or med["ours: fewest"]
        ref_moved = med["ours: fewest"]["moved"] or 1.0
        print_table(name, runs, med, ref_round, ref_moved)


def print_table(
    name: str, runs: int, med: dict[str, dict[str, float]], rr: dict[str, float], rm: float
) -> None:
    """Print one instance's medians and ratios (a Markdown table)."""
    print(f"\n{name}: medians over {runs} run(s); ratios against our roundest plan (share, "
          "compactness) and our fewest-moved plan (residents moved), in this same run.\n")
    print("| instance | method | in band | residents moved | × fewest | compactness mean / min "
          "| × roundest (mean / min) | time s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for m, f in med.items():
        print(
            f"| {name} | {m} | {f['share']:.0%} | {f['moved']:,.0f} | {f['moved'] / rm:.2f} | "
            f"{f['mean']:.2f} / {f['min']:.2f} | {f['mean'] / rr['mean']:.2f} / "
            f"{(f['min'] / rr['min']) if rr['min'] else float('nan'):.2f} | {f['time_s']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
