"""Benchmark: maximal covering location, ours against spopt's MCLP, on the same instances.

The question both answer: choose k of the candidate sites so that the most
residents not yet covered live within R metres' walk of one of them.

Instances (built once, handed to both as the same numbers):

sample
    The built-in sample district: community service centres (R = 500 m), the
    121 existing ones kept; candidates are the 1,088 grid centroids moved to
    the nearest network node; demand is the residents not yet within reach
    (a few thousand building points). k = 5 and k = 20.
synthetic
    ``geo.access.network.synthetic_network(10_000)`` (about 8 km by 8 km of
    jittered lattice), 4,000 demand points with log-normal weights, 800
    random candidate points, R = 800 m (about 25 candidates reach each
    point, so the LP relaxation is fractional and branch and bound has work
    to do), k = 25.
large (ours only)
    ``synthetic_network(40_000)``, 100,000 demand points, 3,000 candidates,
    R = 600 m, k = 50: just over :data:`geo.siting.solvers.MAX_EXACT_NONZEROS`, so
    the default is greedy with its gap to the LP bound; forced exact is timed
    too. spopt is not run: its dense cost matrix alone would be 2.4 GB.

ours
    :func:`geo.siting.cover.maximal_cover` on the candidates' coverage sets (lists
    of demand indices): merges points reached by the same candidates, then
    HiGHS through ``scipy.optimize.milp``. The greedy variant
    (``exact=False``) is timed too, with its reported gap to the LP bound.
spopt
    ``spopt.locate.MCLP.from_cost_matrix(cost, weights, service_radius=R,
    p_facilities=k)`` then ``.solve(pulp.PULP_CBC_CMD(msg=False))``. The cost
    matrix is demand × candidates of walking distances (distance beyond R is
    written as 10⁹); the script checks that ``cost <= R`` is exactly our
    coverage sets. spopt is not a project dependency (it brings matplotlib,
    scikit-learn and more), so it runs in its own interpreter
    (``--spopt-python``, default ``/tmp/spopt-venv/bin/python``; the current
    interpreter is tried first), reading the instance from an ``.npz``. When
    it cannot be imported the script says so and times ours alone. Make one
    with::

        uv venv /tmp/spopt-venv -p 3.11
        uv pip install --python /tmp/spopt-venv/bin/python spopt pulp numpy

Both objectives are recomputed here from the chosen sites and the coverage
sets (not taken from either solver's report). Ours must be at least spopt's
(both claim optimality); the script exits with status 1 otherwise.

Times are wall-clock seconds (``time.perf_counter``), median of 3 runs for
ours, 1 run of spopt (split into model building and CBC solving). The
distance computations that make the instance are not timed: both get them
ready-made.

Run ``python bench/bench_siting.py`` (about 2 minutes on 2 shared cores) or
``--quick`` (the sample only, k = 5).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPOPT_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
import pulp
from spopt.locate import MCLP
d = np.load(sys.argv[1])
cost, w, r, k = d["cost"], d["weights"], float(d["radius"]), int(d["k"])
t0 = time.perf_counter()
model = MCLP.from_cost_matrix(cost, w, service_radius=r, p_facilities=k)
t1 = time.perf_counter()
model = model.solve(pulp.PULP_CBC_CMD(msg=False))
t2 = time.perf_counter()
x = [j for j, v in enumerate(model.fac_vars) if v.value() is not None and v.value() > 0.5]
import spopt
print(json.dumps({"build_s": t1 - t0, "solve_s": t2 - t1, "sites": x,
                  "status": pulp.LpStatus[model.problem.status],
                  "version": f"spopt {spopt.__version__}, pulp {pulp.__version__} (CBC)"}))
"""


# ----------------------------------------------------------------- instances


def _costs(
    net: Any,
    c_node: np.ndarray,
    c_off: np.ndarray,
    d_node: np.ndarray,
    d_off: np.ndarray,
    radius: float,
) -> np.ndarray:
    """Demand × candidates walking distances (10⁹ beyond the radius)."""
    from scipy.sparse.csgraph import dijkstra

    cost = np.full((len(d_node), len(c_node)), 1e9)
    for start in range(0, len(c_node), 200):
        idx = np.arange(start, min(start + 200, len(c_node)))
        dist = np.atleast_2d(dijkstra(net.graph, directed=True, indices=c_node[idx], limit=radius))
        block = dist[:, d_node].T + d_off[:, None] + c_off[idx][None, :]
        cost[:, idx] = np.where(block <= radius, block, 1e9)
    return cost


def sample_instance() -> dict[str, Any]:
    """The sample district's community service centres, as ``propose_sites`` builds them."""
    import shapely

    from geo.access.coverage import normalise_facilities
    from geo.access.network import network_from_tables
    from geo.access.population import demand_points
    from geo.access.reach import catchments, nearest_source_distance
    from geo.district.hierarchy import build_district
    from geo.rules.rulebook import load_rulebook
    from geo.sample.build import sample_district, sample_services
    from geo.siting.candidates import candidates_from_grid

    rb = load_rulebook()
    ftype = rb.facility("community_service_centre")
    r = ftype.service_radius_m
    district = build_district(sample_district(), household_size=rb.household_size)
    services = sample_services()
    net = network_from_tables(services["network_nodes"], services["network_edges"])
    dem = demand_points(
        district.units[district.building_block],
        metric_crs=district.metric_crs,
        buildings=services["buildings"],
        household_size=district.household_size,
    ).to_crs(net.crs)
    pop = dem["population"].to_numpy(float)
    d_node, d_off = net.snap(shapely.get_x(dem.geometry.values), shapely.get_y(dem.geometry.values))
    fac = normalise_facilities(services["facilities"])
    fac = fac[fac["type"] == "community_service_centre"].to_crs(net.crs)
    f_node, f_off = net.snap(shapely.get_x(fac.geometry.values), shapely.get_y(fac.geometry.values))
    covered = nearest_source_distance(net.graph, f_node, f_off, limit_m=r)[d_node] + d_off <= r
    unc = np.flatnonzero(~covered & (pop > 0))
    cand = candidates_from_grid(district).to_crs(net.crs)
    c_node, _ = net.snap(shapely.get_x(cand.geometry.values), shapely.get_y(cand.geometry.values))
    c_off = np.zeros(len(c_node))  # grid candidates sit on their node
    sets = catchments(net.graph, c_node, c_off, d_node[unc], d_off[unc], radius_m=r)
    cost = _costs(net, c_node, c_off, d_node[unc], d_off[unc], r)
    return {
        "name": "sample district",
        "sets": sets,
        "weights": pop[unc],
        "cost": cost,
        "shape": cost.shape,
        "radius": r,
        "nodes": net.n_nodes,
        "covered_before": float(pop[covered].sum()),
        "residents": float(pop.sum()),
    }


def synthetic_instance(
    *,
    n_nodes: int = 10_000,
    n_demand: int = 4000,
    n_cand: int = 800,
    radius: float = 800.0,
    seed: int = 20240611,
    cost: bool = True,
) -> dict[str, Any]:
    """A synthetic city: random demand and candidate points on a jittered street lattice."""
    from geo.access.network import network_from_tables, synthetic_network
    from geo.access.reach import catchments

    nodes, edges = synthetic_network(n_nodes, seed=seed)
    net = network_from_tables(nodes, edges)
    rng = np.random.default_rng(seed)
    lo = np.array([net.x.min(), net.y.min()])
    hi = np.array([net.x.max(), net.y.max()])
    dem_xy = rng.uniform(lo, hi, size=(n_demand, 2))
    cand_xy = rng.uniform(lo, hi, size=(n_cand, 2))
    weights = np.round(rng.lognormal(4.0, 1.0, n_demand), 1)
    d_node, d_off = net.snap(dem_xy[:, 0], dem_xy[:, 1])
    c_node, c_off = net.snap(cand_xy[:, 0], cand_xy[:, 1])
    sets = catchments(net.graph, c_node, c_off, d_node, d_off, radius_m=radius)
    return {
        "name": f"synthetic city, {n_demand:,} points, {n_cand:,} candidates (seed {seed})",
        "sets": sets,
        "weights": weights,
        "cost": _costs(net, c_node, c_off, d_node, d_off, radius) if cost else None,
        "shape": (n_demand, n_cand),
        "radius": radius,
        "nodes": net.n_nodes,
        "covered_before": 0.0,
        "residents": float(weights.sum()),
    }


# -------------------------------------------------------------------- solvers


def covered_weight(sets: list[np.ndarray], weights: np.ndarray, sites: list[int]) -> float:
    hit = np.zeros(len(weights), dtype=bool)
    for j in sites:
        hit[sets[j]] = True
    return float(weights[hit].sum())


def run_ours(inst: dict[str, Any], k: int, *, exact: bool | None, runs: int = 3) -> dict[str, Any]:
    from geo.siting.cover import maximal_cover

    times = []
    sol = None
    for _ in range(runs):
        t0 = time.perf_counter()
        sol = maximal_cover(inst["sets"], inst["weights"], k=k, exact=exact, time_limit_s=120)
        times.append(time.perf_counter() - t0)
    assert sol is not None
    return {
        "time_s": statistics.median(times),
        "sites": sol.sites.tolist(),
        "objective": covered_weight(inst["sets"], inst["weights"], sol.sites.tolist()),
        "method": sol.method_text,
        "rows": sol.demand_rows,
        "nonzeros": sol.nonzeros,
    }


def find_spopt(python: str | None) -> tuple[str | None, str]:
    candidates = [sys.executable] + ([python] if python else ["/tmp/spopt-venv/bin/python"])
    reason = "not found"
    for exe in candidates:
        if not Path(exe).exists():
            reason = f"{exe} does not exist"
            continue
        r = subprocess.run(
            [exe, "-c", "import spopt, pulp; from spopt.locate import MCLP"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if r.returncode == 0:
            return exe, ""
        reason = (r.stderr.strip().splitlines() or ["import failed"])[-1]
    return None, reason


def run_spopt(exe: str, inst: dict[str, Any], k: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"mclp_{len(inst['weights'])}_{k}.npz"
    np.savez(path, cost=inst["cost"], weights=inst["weights"], radius=inst["radius"], k=k)
    t0 = time.perf_counter()
    r = subprocess.run(
        [exe, "-c", SPOPT_SCRIPT, str(path)], capture_output=True, text=True, timeout=600
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip()[-2000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["objective"] = covered_weight(inst["sets"], inst["weights"], out["sites"])
    out["time_s"] = out["build_s"] + out["solve_s"]
    out["wall_s"] = wall
    return out


# ----------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the sample only, k = 5")
    ap.add_argument("--spopt-python", default=None, help="interpreter with spopt and pulp")
    args = ap.parse_args()

    import platform

    import scipy

    exe, why = find_spopt(args.spopt_python)
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"spopt: {'unavailable (' + why + ')' if exe is None else exe}")
    jobs: list[tuple[Any, list[int]]] = [(sample_instance, [5] if args.quick else [5, 20])]
    if not args.quick:
        jobs.append((synthetic_instance, [25]))
        jobs.append(
            (
                lambda: synthetic_instance(
                    n_nodes=40_000, n_demand=100_000, n_cand=3000, radius=600.0, cost=False
                ),
                [50],
            )
        )
    ok = True
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_siting_") as tmp:
        for make, ks in jobs:
            t0 = time.perf_counter()
            inst = make()
            sizes = sum(len(s) for s in inst["sets"])
            n_dem, n_cand = inst["shape"]
            same = inst["cost"] is None or all(
                np.array_equal(np.flatnonzero(inst["cost"][:, j] <= inst["radius"]), np.sort(s))
                for j, s in enumerate(inst["sets"])
            )
            print(
                f"\n== {inst['name']}: {inst['nodes']:,} network nodes, {n_dem:,} demand points "
                f"({inst['weights'].sum():,.0f} residents not yet covered), {n_cand:,} "
                f"candidates, R = {inst['radius']:,.0f} m, {sizes:,} (candidate, point) pairs "
                f"within reach; cost matrix agrees with the coverage sets: "
                f"{same if inst['cost'] is not None else 'no cost matrix'} "
                f"[built in {time.perf_counter() - t0:.1f} s]"
            )
            if not same:
                ok = False
            for k in ks:
                ours = run_ours(inst, k, exact=True)
                greedy = run_ours(inst, k, exact=False)
                auto = run_ours(inst, k, exact=None, runs=1) if inst["cost"] is None else None
                print(
                    f"  k = {k:>3}  ours exact : objective {ours['objective']:>14,.1f}  "
                    f"{ours['time_s']:>8.3f} s  ({ours['method']}; {ours['rows']:,} rows after "
                    f"merging, {ours['nonzeros']:,} nonzeros)"
                )
                print(
                    f"          ours greedy: objective {greedy['objective']:>14,.1f}  "
                    f"{greedy['time_s']:>8.3f} s  ({greedy['method']})"
                )
                if auto is not None:
                    print(
                        f"          ours default: {auto['method']} ({auto['nonzeros']:,} "
                        f"nonzeros); true gap to the exact optimum "
                        f"{(ours['objective'] - auto['objective']) / ours['objective']:.3%}"
                    )
                ok &= greedy["objective"] <= ours["objective"] + 1e-6 * ours["objective"]
                row = {"instance": inst["name"], "k": k, "ours": ours, "greedy": greedy}
                if inst["cost"] is None:
                    print(
                        "          spopt      : not run (a dense cost matrix this size is "
                        f"{n_dem * n_cand * 8 / 1e9:.1f} GB)"
                    )
                elif exe is not None:
                    try:
                        sp = run_spopt(exe, inst, k, Path(tmp))
                    except (RuntimeError, subprocess.TimeoutExpired) as exc:
                        print(f"          spopt      : failed ({exc})")
                        rows.append(row)
                        continue
                    row["spopt"] = sp
                    print(
                        f"          spopt      : objective {sp['objective']:>14,.1f}  "
                        f"{sp['time_s']:>8.3f} s  (build {sp['build_s']:.2f} s + CBC "
                        f"{sp['solve_s']:.2f} s, {sp['status']}; {sp['version']})"
                    )
                    ratio = sp["time_s"] / ours["time_s"]
                    better = ours["objective"] >= sp["objective"] - 1e-6 * sp["objective"]
                    print(
                        f"          ours/spopt objective {ours['objective'] / sp['objective']:.6f}"
                        f"; spopt time / ours {ratio:,.0f}×; ours ≥ spopt: {better}"
                    )
                    ok &= better
                else:
                    print("          spopt      : unavailable, not run")
                rows.append(row)
    print("\nall checks passed" if ok else "\nCHECK FAILED: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
