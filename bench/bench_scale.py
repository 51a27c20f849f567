"""How `check` grows with the district: the sample tiled 1×, 4×, 16× (64× with --big).

Each size runs in its own process (peak memory is that process's), reading the district
from frames and running every model check and rule. Printed: seconds (median of runs),
peak MB, and the growth exponent fitted on log-log (1.0 = linear). The peer is linear
growth from the 1× run: the ratio column says how far each size is from it.

    .venv/bin/python bench/bench_scale.py [--big] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
from _tiles import tiled_district
from geo.district.hierarchy import build_district
from geo.rules.rulebook import evaluate_rules, load_rulebook
frames = tiled_district({k})
rb = load_rulebook()
t = time.perf_counter()
d = build_district(frames)
evaluate_rules(d, rb)
s = time.perf_counter() - t
units = sum(len(f) for f in frames.values())
print(json.dumps({{"s": s, "units": units,
                   "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(k: int, runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(here=str(HERE), k=k)],
            check=True, capture_output=True, text=True,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "k": k,
        "units": samples[0]["units"],
        "s": statistics.median(x["s"] for x in samples),
        "mb": max(x["mb"] for x in samples),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true", help="also 64× (about 8,000 communities)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sizes = [1, 4, 16] + ([64] if args.big else [])
    rows = [run(k, args.runs) for k in sizes]
    base = rows[0]
    print(f"{'tiles':>5} {'units':>8} {'check s':>8} {'vs linear':>9} {'peak MB':>8}")
    for r in rows:
        linear = base["s"] * r["units"] / base["units"]
        ratio = r["s"] / linear
        print(f"{r['k']:>5} {r['units']:>8} {r['s']:>8.2f} {ratio:>8.2f}× {r['mb']:>8.0f}")
    x = np.log([r["units"] for r in rows])
    slope = np.polyfit(x, np.log([r["s"] for r in rows]), 1)[0]
    mslope = np.polyfit(x, np.log([r["mb"] for r in rows]), 1)[0]
    print(f"growth exponent: time {slope:.2f}, peak memory {mslope:.2f} (1.00 = linear)")


if __name__ == "__main__":
    main()
