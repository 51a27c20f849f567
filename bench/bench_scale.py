"""How the everyday commands grow with the district: the sample tiled 1×, 4×, 16× (64× with --big).

Each run is one ``wangge`` command in its own process, from reading the files to its
last output, as a planner runs it: ``check``, ``export`` (GeoJSON), ``audit`` (walking
network, buildings, the report folder with its map) and ``propose`` (least change).
The tiled district and its services are written once per size (``bench/_tiles.py``:
codes kept unique, one walking network per tile). Measured per run: CPU seconds of the
process (user + system; on the shared 2-core machine the wall clock depends on the
neighbours, so CPU is what the ratios use), wall seconds, and peak memory (maximum
resident set). Printed and written to ``bench/README.md`` between the scale markers:
a table, the growth exponent of each command fitted on log-log (1.00 = linear) with
the ratio to linear growth from 1×, and a log-log plot ``bench/scale.png``. The figures
are kept in ``bench/scale.json``, so a run of some commands keeps the others' last ones.

    .venv/bin/python bench/bench_scale.py [--big] [--province] [--runs 1] [--commands check export]

``--province`` adds ``check`` on the sample tiled 144× (about 1,300 street units,
18,000 communities, 150,000 grids: a province), against its target of 60 s within 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMMANDS = ("check", "export", "audit", "propose")
TARGETS_16 = {"check": 5.0, "export": 5.0, "audit": 30.0, "propose": 120.0}
PROVINCE = 144
PROVINCE_TARGET = {"cpu": 60.0, "mb": 4096.0}  # check of a province: 60 s within 4 GB

CHILD = """
import json, resource, sys, time
t, w = time.process_time(), time.perf_counter()
code = 0
from geo.cli import main
sys.argv = ["wangge"] + {args!r}
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
ru = resource.getrusage(resource.RUSAGE_SELF)
# Peak memory of this process's own address space: Linux carries ru_maxrss over exec
# from the parent (the benchmark, large after tiling), VmHWM starts afresh.
mb = ru.ru_maxrss / 1024
try:
    with open("/proc/self/status") as status:
        mb = next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
except (OSError, StopIteration):
    pass
print(json.dumps({{"cpu": ru.ru_utime + ru.ru_stime, "wall": time.perf_counter() - w,
                   "mb": mb, "code": code}}), file=sys.stderr)
"""


def _args(command: str, paths: dict[str, Path], out: Path) -> list[str]:
    d = str(paths["district"])
    if command == "check":
        return ["check", d]
    if command == "export":
        return ["export", d, "--to", str(out / "export"), "--format", "geojson"]
    if command == "audit":
        return ["audit", d, "--facilities", str(paths["facilities"]), "--buildings",
                str(paths["buildings"]), "--network", str(paths["network"]),
                "--to", str(out / "audit")]
    return ["propose", d]


def run(command: str, k: int, paths: dict[str, Path], runs: int) -> dict[str, float]:
    """Run one command ``runs`` times on the ``k``× district; median CPU and wall, max memory."""
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(args=_args(command, paths, Path(tmp)))],
                capture_output=True, text=True, cwd=tmp,
                env={**os.environ, "PYTHONPATH": str(ROOT), "WANGGE_HOME": tmp},
            )
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
        try:
            sample = json.loads(last)
        except json.JSONDecodeError:
            raise SystemExit(f"{command} at {k}× failed:\n{out.stderr[-2000:]}") from None
        if sample["code"] not in (0, 1):
            raise SystemExit(f"{command} at {k}× exited {sample['code']}:\n{out.stderr[-2000:]}")
        samples.append(sample)
    return {
        "cpu": statistics.median(s["cpu"] for s in samples),
        "wall": statistics.median(s["wall"] for s in samples),
        "mb": max(s["mb"] for s in samples),
    }


def _counts(k: int) -> dict[str, int]:
    """Units and network nodes of the ``k``× district (the sample's, times ``k``)."""
    from geo.sample.build import sample_district, sample_services

    base = sample_district()
    nodes = len(sample_services()["network_nodes"])
    return {"units": k * sum(len(f) for f in base.values()),
            "communities": k * len(base["community"]), "nodes": k * nodes}


def fit(sizes: list[int], values: list[float]) -> float:
    """Growth exponent: slope of log(value) on log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def _plot(results: dict[str, dict[int, dict[str, float]]], sizes: list[int], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, am) = plt.subplots(1, 2, figsize=(9, 3.8))
    for command, by_k in results.items():
        ks = [k for k in sizes if k in by_k]
        ax.loglog(ks, [by_k[k]["cpu"] for k in ks], "o-", label=command)
        am.loglog(ks, [by_k[k]["mb"] for k in ks], "o-", label=command)
    for a, what, key in ((ax, "CPU seconds", "cpu"), (am, "peak MB", "mb")):
        x = np.array(sizes, dtype=float)
        start = min(by_k[sizes[0]][key] for by_k in results.values() if sizes[0] in by_k)
        a.loglog(x, start * x / x[0], ":", color="grey", label="linear (slope 1)")
        a.set_xlabel("tiles of the sample (×)")
        a.set_ylabel(what)
        a.set_xticks(sizes, [f"{k}×" for k in sizes])
        a.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("time")
    am.set_title("memory")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def _table(results: dict[str, dict[int, dict[str, float]]], sizes: list[int]) -> list[str]:
    counts = {k: _counts(k) for k in sizes}
    lines = ["| command | tiles | communities | network nodes | CPU s | wall s | × linear "
             "| peak MB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    summary = ["| command | time exponent | 4×→16× exponent | memory exponent | 16× CPU / 1× CPU "
               "| 16× target (CPU s) |", "| --- | --- | --- | --- | --- | --- |"]
    for command, by_k in results.items():
        ks = [k for k in sizes if k in by_k]
        base = by_k[ks[0]]
        for k in ks:
            r = by_k[k]
            linear = base["cpu"] * k / ks[0]
            c = counts[k]
            lines.append(
                f"| {command} | {k}× | {c['communities']:,} | {c['nodes']:,} | {r['cpu']:.1f} "
                f"| {r['wall']:.1f} | {r['cpu'] / linear:.2f} | {r['mb']:.0f} |"
            )
        if len(ks) > 1:
            t_exp = fit(ks, [by_k[k]["cpu"] for k in ks])
            m_exp = fit(ks, [by_k[k]["mb"] for k in ks])
            ratio = f"{by_k[16]['cpu'] / base['cpu']:.1f}×" if 16 in by_k else "—"
            met = ""
            if 16 in by_k:
                ok = by_k[16]["cpu"] <= TARGETS_16[command]
                met = f"≤ {TARGETS_16[command]:g}: {'met' if ok else 'not met'}"
            late = (f"{fit([4, 16], [by_k[4]['cpu'], by_k[16]['cpu']]):.2f}"
                    if 4 in by_k and 16 in by_k else "—")
            summary.append(f"| {command} | {t_exp:.2f} | {late} | {m_exp:.2f} | {ratio} | {met} |")
    return summary + [""] + lines


def _province_table(r: dict[str, float]) -> list[str]:
    c = _counts(PROVINCE)
    ok = r["cpu"] <= PROVINCE_TARGET["cpu"] and r["mb"] <= PROVINCE_TARGET["mb"]
    return ["| command | tiles | units | communities | CPU s | wall s | peak MB | target |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            f"| check | {PROVINCE}× | {c['units']:,} | {c['communities']:,} | {r['cpu']:.1f} "
            f"| {r['wall']:.1f} | {r['mb']:.0f} | ≤ 60 s, ≤ 4 GB: {'met' if ok else 'not met'} |"]


def write_readme(table: list[str], readme: Path, *, marker: str = "scale",
                 plot: bool = True) -> None:
    """Put ``table`` between the ``marker`` comments of ``readme`` (added at the end if absent)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = readme.read_text(encoding="utf-8")
    figure = (["", "![CPU seconds and peak memory against size, log-log](scale.png)"]
              if plot else [])
    block = "\n".join([start, *table, *figure, end])
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also 64× (about 8,000 communities)")
    ap.add_argument("--province", action="store_true",
                    help=f"also check at {PROVINCE}× (a province), against 60 s and 4 GB")
    ap.add_argument("--runs", type=int, default=1, help="runs per command and size (median)")
    ap.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "wangge-scale",
                    help="where the tiled districts are written (kept between runs)")
    ap.add_argument("--no-readme", action="store_true", help="print only")
    ap.add_argument("--from-json", action="store_true",
                    help="rewrite the table and plot from bench/scale.json without running")
    args = ap.parse_args()
    if args.from_json:
        stored = json.loads((HERE / "scale.json").read_text(encoding="utf-8"))
        sizes = stored["sizes"]
        kept = {c: {int(k): v for k, v in by_k.items()} for c, by_k in stored["results"].items()}
        _plot(kept, sizes, HERE / "scale.png")
        write_readme(_table(kept, sizes), HERE / "README.md")
        return
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from _tiles import write_tiled

    sizes = [1, 4, 16] + ([64] if args.big else [])
    paths = {k: write_tiled(k, args.data / f"x{k}") for k in sizes}
    results: dict[str, dict[int, dict[str, float]]] = {}
    for command in args.commands:
        results[command] = {}
        for k in sizes:
            r = run(command, k, paths[k], args.runs)
            results[command][k] = r
            print(f"{command:>8} {k:>3}×  CPU {r['cpu']:7.1f} s  wall {r['wall']:7.1f} s  "
                  f"peak {r['mb']:6.0f} MB", flush=True)
    table = _table(results, sizes)
    print("\n".join(table))
    if not args.no_readme:
        # commands not run this time keep their last results (same sizes only)
        kept = HERE / "scale.json"
        stored = json.loads(kept.read_text(encoding="utf-8")) if kept.exists() else {}
        if stored.get("sizes") == sizes:
            for command, by_k in stored["results"].items():
                results.setdefault(command, {int(k): v for k, v in by_k.items()})
        results = {c: results[c] for c in COMMANDS if c in results}
        kept.write_text(json.dumps({"sizes": sizes, "results": results}, indent=1) + "\n",
                        encoding="utf-8")
        _plot(results, sizes, HERE / "scale.png")
        write_readme(_table(results, sizes), HERE / "README.md")
    if args.province:
        r = run("check", PROVINCE,
                write_tiled(PROVINCE, args.data / f"x{PROVINCE}", services=False), args.runs)
        print(f"   check {PROVINCE}×  CPU {r['cpu']:7.1f} s  wall {r['wall']:7.1f} s  "
              f"peak {r['mb']:6.0f} MB", flush=True)
        table = _province_table(r)
        print("\n".join(table))
        if not args.no_readme:
            write_readme(table, HERE / "README.md", marker="province", plot=False)


if __name__ == "__main__":
    main()
