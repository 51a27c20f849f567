"""Benchmark: the server-side step of one boundary edit, incremental against naive.

The district is synthetic and fictional: 100 x 100 square grids of 90 m (about
81 km² in UTM 51N near 120.4°E, 36.1°N), grouped 2 x 5 into 1,000 communities,
grouped 4 x 3 into 12 streets (about 7 km² each), with 12-digit codes under a
county code (99) that does not exist and seeded residents (about 0.9 million).

The edits: 200 random edits, each moving 1-5 border communities of one street to
a neighbouring street (the same seeded sequence for both methods). The step
timed per edit is what the editor's server does after a click:

ours
    ``Plan.move`` (incremental totals over the moved blocks' neighbours) +
    ``Plan.street_table`` (figures, bands, compactness, pieces of the touched
    streets) + ``Plan.findings``.
naive
    Re-dissolve every street with ``GeoDataFrame.dissolve`` in the metric CRS,
    sum residents and households with ``groupby``, recount every street's
    pieces from scratch (``geo.district.topology.adjacency_pairs`` on its communities +
    ``component_labels``) and test the bands.

After every edit (outside the timing) both answers are compared: area and
perimeter to 1e-6 relative, residents, households and pieces exactly; any
difference makes the script exit with status 1. ``Plan.from_district`` (the
once-per-district set-up) is timed separately, as is ``Plan.street_geometries``
(the incremental re-dissolve used only for drawing).

Run ``python bench/bench_plan.py`` (about a minute) or ``--quick`` while developing.
"""

from __future__ import annotations

import argparse
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.district.hierarchy import build_district
from geo.district.model import District
from geo.district.topology import adjacency_pairs, component_labels
from geo.plan.model import Plan
from geo.rules.rulebook import Rulebook, load_rulebook

UTM = 32651
X0, Y0 = 230_000.0, 4_000_000.0
CELL_M = 90.0
COUNTY = "370299"


def synthetic_frames(
    n: int, *, seed: int, street_cols: int = 4, street_rows: int = 3
) -> dict[str, gpd.GeoDataFrame]:
    """Return an n x n grid district (grids 90 m, communities 2 x 5 grids) in EPSG:4326."""
    rng = np.random.default_rng(seed)
    ci, cj = n // 2, n // 5  # communities across, communities up
    col_edges = np.linspace(0, ci, street_cols + 1).round().astype(int)
    row_edges = np.linspace(0, cj, street_rows + 1).round().astype(int)
    street_of_comm = {}
    for a in range(ci):
        for b in range(cj):
            sc = int(np.searchsorted(col_edges, a, side="right") - 1)
            sr = int(np.searchsorted(row_edges, b, side="right") - 1)
            street_of_comm[(a, b)] = sr * street_cols + sc
    n_streets = street_cols * street_rows
    street_codes = [f"{COUNTY}{k + 1:03d}000" for k in range(n_streets)]
    counters = [0] * n_streets
    comm_code = {}
    for b in range(cj):
        for a in range(ci):
            s = street_of_comm[(a, b)]
            counters[s] += 1
            comm_code[(a, b)] = f"{street_codes[s][:9]}{counters[s]:03d}"
    # residents: a smooth density surface times log-normal noise
    xs = (np.arange(n) + 0.5) / n
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    density = 0.6 + 0.8 * np.exp(-((gx - 0.3) ** 2 + (gy - 0.4) ** 2) / 0.08)
    pop = np.round(110 * density * rng.lognormal(0, 0.25, size=(n, n))).astype(int)
    grids, comms = [], {}
    for i in range(n):
        for j in range(n):
            a, b = i // 2, j // 5
            code = comm_code[(a, b)]
            k = (i % 2) * 5 + (j % 5) + 1
            geom = shapely.box(
                X0 + i * CELL_M, Y0 + j * CELL_M, X0 + (i + 1) * CELL_M, Y0 + (j + 1) * CELL_M
            )
            grids.append(
                {
                    "code": f"{code}{k:02d}",
                    "name": f"网格{code[-3:]}-{k:02d}",
                    "parent_code": code,
                    "population": int(pop[i, j]),
                    "geometry": geom,
                }
            )
    for (a, b), code in comm_code.items():
        comms[code] = {
            "code": code,
            "name": f"社区{code[-6:]}",
            "parent_code": street_codes[street_of_comm[(a, b)]],
            "geometry": shapely.box(
                X0 + 2 * a * CELL_M,
                Y0 + 5 * b * CELL_M,
                X0 + 2 * (a + 1) * CELL_M,
                Y0 + 5 * (b + 1) * CELL_M,
            ),
        }
    streets = []
    for s, code in enumerate(street_codes):
        parts = [c["geometry"] for c in comms.values() if c["parent_code"] == code]
        streets.append(
            {"code": code, "name": f"示例{s + 1}街道", "geometry": shapely.union_all(parts)}
        )
    return {
        "street": gpd.GeoDataFrame(streets, crs=UTM).to_crs(4326),
        "community": gpd.GeoDataFrame(list(comms.values()), crs=UTM).to_crs(4326),
        "grid": gpd.GeoDataFrame(grids, crs=UTM).to_crs(4326),
    }


def make_edits(plan: Plan, count: int, *, seed: int) -> list[tuple[list[str], str]]:
    """Return ``count`` edits (1-5 border communities of one street to a neighbouring street)."""
    rng = np.random.default_rng(seed)
    base = plan.base
    edits: list[tuple[list[str], str]] = []
    while len(edits) < count:
        b = int(rng.integers(base.n_blocks))
        here = int(plan.assignment[b])
        others = sorted({int(k) for k in plan.assignment[base.neighbours(b)]} - {here})
        if not others:
            continue
        to = others[int(rng.integers(len(others)))]
        # more communities of the same street along the same border
        border = [
            int(c)
            for c in np.flatnonzero(plan.assignment == here)
            if c != b and (plan.assignment[base.neighbours(int(c))] == to).any()
        ]
        extra = int(rng.integers(0, 5))
        chosen = [b, *rng.permutation(border)[:extra].tolist()]
        if len(chosen) == int((plan.assignment == here).sum()):
            continue  # never empty a street
        codes = [str(base.codes[c]) for c in chosen]
        plan.move(codes, plan.streets[to].code)
        edits.append((codes, plan.streets[to].code))
    return edits


class Naive:
    """Recompute everything from scratch after each edit."""

    def __init__(self, district: District, rules: Rulebook) -> None:
        metric = district.metric("community").reset_index(drop=True)
        self.frame = metric[["code", "population", "households", "geometry"]].copy()
        self.index = {c: k for k, c in enumerate(self.frame["code"])}
        comms = district.units["community"]
        parent = dict(zip(comms["code"], comms["parent_code"], strict=True))
        self.street = np.array(self.frame["code"].map(parent), dtype=object)
        self.bands = {r.measure: (r.min, r.max) for r in rules.for_level("street", "street")}

    def step(self, blocks: list[str], to: str) -> pd.DataFrame:
        for code in blocks:
            self.street[self.index[code]] = to
        frame = self.frame.assign(street=self.street)
        dissolved = frame[["street", "geometry"]].dissolve("street")
        sums = frame.groupby("street")[["population", "households"]].sum()
        out = pd.DataFrame(
            {
                "area_m2": dissolved.geometry.area,
                "perimeter_m": dissolved.geometry.length,
                "population": sums["population"],
                "households": sums["households"],
            }
        )
        pieces = {}
        for code, rows in frame.groupby("street").indices.items():
            part = frame.geometry.iloc[rows].reset_index(drop=True)
            pieces[code] = len(set(component_labels(len(part), adjacency_pairs(part))))
        out["pieces"] = pd.Series(pieces)
        area_km2 = out["area_m2"] / 1e6
        lo, hi = self.bands["area_km2"]
        out["area_ok"] = area_km2.between(lo, hi)
        lo, hi = self.bands["population"]
        out["population_ok"] = out["population"].between(lo, hi)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 x 40 grids, 50 edits")
    parser.add_argument("--edits", type=int, default=None, help="number of edits (default 200)")
    parser.add_argument("--seed", type=int, default=20170419)
    args = parser.parse_args()
    n = 40 if args.quick else 100
    count = args.edits or (50 if args.quick else 200)
    rules = load_rulebook()

    t0 = time.perf_counter()
    frames = synthetic_frames(n, seed=args.seed)
    t1 = time.perf_counter()
    district = build_district(frames)
    t2 = time.perf_counter()
    print(
        f"district: {len(frames['street'])} streets, {len(frames['community'])} communities, "
        f"{len(frames['grid'])} grids, {int(frames['grid']['population'].sum()):,} residents "
        f"(made in {t1 - t0:.1f} s, build_district {t2 - t1:.1f} s)"
    )
    t3 = time.perf_counter()
    plan = Plan.from_district(district)
    t4 = time.perf_counter()
    print(f"set-up  Plan.from_district (once per district): {1000 * (t4 - t3):.0f} ms")

    edits = make_edits(Plan(plan.base, name="draft"), count, seed=args.seed)
    sizes = [len(b) for b, _ in edits]
    print(
        f"edits   {count} edits moving {sum(sizes)} communities "
        f"(1-5 each, mean {np.mean(sizes):.1f})"
    )

    ours_ms, draw_ms, naive_ms = [], [], []
    naive = Naive(district, rules)
    plan.street_table(rules)
    plan.street_geometries()
    mismatches = 0
    for blocks, to in edits:
        s = time.perf_counter()
        plan.move(blocks, to)
        table = plan.street_table(rules)
        plan.findings(rules)
        e = time.perf_counter()
        plan.street_geometries()
        d = time.perf_counter()
        ref = naive.step(blocks, to)
        f = time.perf_counter()
        ours_ms.append(1000 * (e - s))
        draw_ms.append(1000 * (d - e))
        naive_ms.append(1000 * (f - d))
        live = plan.totals().set_index("code").loc[ref.index]
        got = table.set_index("code").loc[ref.index]
        ok = (
            np.allclose(live["area_m2"], ref["area_m2"], rtol=1e-6, atol=0)
            and np.allclose(live["perimeter_m"], ref["perimeter_m"], rtol=1e-6, atol=0)
            and (live["population"].to_numpy() == ref["population"].to_numpy()).all()
            and (live["households"].to_numpy() == ref["households"].to_numpy()).all()
            and (got["pieces"].to_numpy() == ref["pieces"].to_numpy()).all()
            and ((got["area_status"] == "ok").to_numpy() == ref["area_ok"].to_numpy()).all()
        )
        mismatches += not ok

    def stats(xs: list[float]) -> tuple[float, float]:
        return float(np.median(xs)), float(np.percentile(xs, 95))

    om, op = stats(ours_ms)
    nm, np95 = stats(naive_ms)
    dm, dp = stats(draw_ms)
    print(f"ours    move + street_table + findings: median {om:.2f} ms, p95 {op:.2f} ms per edit")
    print(
        f"naive   dissolve + sums + pieces + bands: median {nm:.1f} ms, p95 {np95:.1f} ms per edit"
    )
    print(f"ratio   naive / ours (median): {nm / om:.0f}x   target < 50 ms median: "
          f"{'met' if om < 50 else 'MISSED'}")  # fmt: skip
    print(f"draw    street_geometries (changed streets only): median {dm:.1f} ms, p95 {dp:.1f} ms")
    if mismatches:
        print(f"MISMATCH: {mismatches} of {count} edits disagree with the naive recount")
        return 1
    print(f"check   all {count} edits agree with the naive recount")
    return 0


if __name__ == "__main__":
    sys.exit(main())
