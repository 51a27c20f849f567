"""Benchmark: how long the inputs the tests and benchmarks use take to build.

These were wall-clock assertions in ``tests/`` until they failed a clean clone
under load; speed is measured here instead and compared with what it used to be
held to (on 2 shared cores, idle):

sample
    ``geo.sample.build`` builds the fictional sample district afresh (not the copy
    ``sample_district`` hands out once it has been built): within 3 s.
synthetic
    ``geo.access.network.synthetic_network(250_000)``: within 5 s.
tables
    ``geo.access.network.network_from_tables`` on those 250,000 nodes: within 3 s
    (about 0.15 s when idle).
propose
    ``geo.propose.search.propose_plan`` on the sample, least change and scratch:
    within 30 s each (``--quick`` leaves these out).

Run ``python bench/bench_build.py`` (about a minute) or ``--quick``. Each step is
run ``--repeat`` times (default 3) and the fastest is reported; the script prints
a table and exits 0 whatever the times (it is a measurement, not a test).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

EXPECTED_S = {"sample": 3.0, "synthetic": 5.0, "tables": 3.0, "propose least change": 30.0,
              "propose scratch": 30.0}


def fastest(step: Callable[[], object], repeat: int) -> float:
    """Return the fastest of ``repeat`` runs of ``step``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="leave out the proposals")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from geo import settings
    from geo.access.network import network_from_tables, synthetic_network
    from geo.sample.build import _build_district

    times: dict[str, float] = {}
    times["sample"] = fastest(lambda: _build_district(settings.sample_seed), args.repeat)
    nodes, edges = synthetic_network(250_000, seed=42)
    times["synthetic"] = fastest(lambda: synthetic_network(250_000, seed=42), args.repeat)
    times["tables"] = fastest(lambda: network_from_tables(nodes, edges), args.repeat)
    if not args.quick:
        from geo.district.hierarchy import build_district
        from geo.plan.model import Plan
        from geo.propose.search import propose_plan
        from geo.rules.rulebook import load_rulebook
        from geo.sample.build import sample_district

        rules = load_rulebook()
        plan = Plan.from_district(build_district(sample_district()))
        for mode in ("least_change", "scratch"):
            times[f"propose {mode.replace('_', ' ')}"] = fastest(
                lambda mode=mode: propose_plan(plan, rules, mode=mode, time_limit_s=600),
                1,
            )
    print(f"{'step':<22}{'seconds':>10}{'held to':>10}")
    for name, secs in times.items():
        flag = "" if secs <= EXPECTED_S[name] else "  (slower than it was held to)"
        print(f"{name:<22}{secs:>10.2f}{EXPECTED_S[name]:>10.1f}{flag}")


if __name__ == "__main__":
    main()
