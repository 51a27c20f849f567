"""Benchmark: three browser tabs editing one plan at once: latency, errors, lost edits.

Starts the real app (``streamlit run app.py``) on the built-in sample with a
fresh project folder, opens three browser contexts in Debian's Chromium (each
its own session, like three colleagues) on the same plan, and lets each one
edit for the given time: click a community on the map until the selection
shows it (**select**), pick the other street in the move box and press Move
until the selection is cleared (**move**). Each tab moves its own six
communities back and forth between their street and a neighbour, so no edit
clashes with another tab's: every move must be stored.

At the end it prints p50/p90 of select and move over all tabs, the number
of error boxes seen (``st.error`` or an exception), the "changed in another
tab — updated" notices, and the moves stored in the project file against the
moves made. The exit status is 1 when an error box was seen or a move was lost.

Run ``python bench/bench_load.py`` (two minutes of editing, the issue's load) or
``--seconds 30`` while developing. Times are wall-clock on a shared machine:
read them as the editor's feel under load, not as a property of the code alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TABS = 3
BLOCKS_PER_TAB = 6
PLAN = "load"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tab_work() -> list[list[tuple[int, str, str, str]]]:
    """Per tab: (map index, code, home street, other street) of its communities."""
    sys.path.insert(0, str(ROOT))
    from geo.district.hierarchy import build_district
    from geo.plan.model import Plan
    from geo.sample.build import sample_district

    plan = Plan.from_district(build_district(sample_district()))
    base = plan.base
    streets = [s.code for s in plan.streets]
    work: list[list[tuple[int, str, str, str]]] = [[] for _ in range(TABS)]
    k = 0
    for b in range(base.n_blocks):
        code = str(base.codes[b])
        home = plan.street_of(code)
        if plan.street(home).locked or plan.street(home).kind != "street":
            continue
        others = [int(n) for n in base.neighbours(b)]
        other = next(
            (plan.street_of(str(base.codes[n])) for n in others
             if plan.street_of(str(base.codes[n])) != home),
            streets[0] if streets[0] != home else streets[1],
        )  # fmt: skip
        if len(work[k % TABS]) < BLOCKS_PER_TAB:
            work[k % TABS].append((b, code, home, other))
            k += 1
        if all(len(w) == BLOCKS_PER_TAB for w in work):
            break
    return work


async def tab(browser, url: str, work, seconds: float, stats: dict) -> None:
    """One colleague: select a community, move it to its other street, again and again."""
    context = await browser.new_context(viewport={"width": 1500, "height": 1100})
    page = await context.new_page()
    await page.goto(url + f"?plan={PLAN}")
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    try:
        await frame.locator("path.leaflet-interactive").first.wait_for(timeout=120_000)
    except Exception:  # noqa: BLE001 - reported
        shown = await page.locator("[data-testid='stException']").all_inner_texts()
        stats["failed_tabs"].append((shown or ["no map, no error shown"])[0][:200])
        await context.close()
        return
    where = {code: home for _, code, home, _ in work}
    end = time.monotonic() + seconds
    j = 0
    while time.monotonic() < end:
        b, code, home, other = work[j % len(work)]
        j += 1
        target = other if where[code] == home else home
        path = frame.locator("path.leaflet-interactive").nth(b)
        selected = False
        for _ in range(4):  # the first click can land before the map wired its events
            try:
                box = await path.bounding_box()  # None while the map redraws
                if box is None:
                    await page.wait_for_timeout(500)
                    continue
                t0 = time.perf_counter()
                await path.click(
                    position={"x": box["width"] / 2, "y": box["height"] / 2}, force=True
                )
                await page.get_by_text("已选: 1").wait_for(timeout=15_000)
            except Exception:  # noqa: BLE001 - retried, then counted
                continue
            stats["select"].append(time.perf_counter() - t0)
            selected = True
            break
        if not selected:
            stats["failed_selects"] += 1
            continue
        try:
            # .last: during a rerun Streamlit can show the old and the new element at once
            await page.get_by_role("combobox", name="将所选移至街道").last.click()
            await page.keyboard.type(target)
            await page.keyboard.press("Enter")
            await page.wait_for_timeout(300)  # let the choice reach the server
            t0 = time.perf_counter()
            await page.get_by_role("button", name="移动").last.click()
            await page.get_by_text("已选: 0").wait_for(timeout=30_000)
        except Exception:  # noqa: BLE001 - counted
            stats["failed_moves"] += 1
            continue
        stats["move"].append(time.perf_counter() - t0)
        stats["moves"] += 1
        where[code] = target
        stats["errors"] += await page.locator(
            "[data-testid='stException'], [data-testid='stAlertContentError']"
        ).count()
        stats["notices"] += await page.get_by_text("已在其他标签页中修改").count()
    await context.close()


async def run(url: str, seconds: float, work) -> dict:
    """Drive the three tabs at once in one Chromium."""
    from playwright.async_api import async_playwright

    stats: dict = {"select": [], "move": [], "moves": 0, "errors": 0, "notices": 0,
                   "failed_selects": 0, "failed_moves": 0, "failed_tabs": []}  # fmt: skip
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )  # fmt: skip
        try:
            await asyncio.gather(*(tab(browser, url, w, seconds, stats) for w in work))
        finally:
            await browser.close()
    return stats


def main() -> int:
    """Run the benchmark; print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="editing time per tab")
    args = parser.parse_args()
    work = tab_work()
    home = Path(tempfile.mkdtemp(prefix="wangge-bench-home-"))
    port = free_port()
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env={**os.environ, "WANGGE_HOME": str(home), "PYTHONPATH": str(ROOT)},
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        stats = asyncio.run(run(url, args.seconds, work))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    with sqlite3.connect(home / "sample.gpkg") as con:
        (stored,) = con.execute(
            "SELECT COUNT(*) FROM wangge_edits WHERE plan = ? AND undone = 0", (PLAN,)
        ).fetchone()
    print(f"three tabs editing plan {PLAN!r} for {args.seconds:.0f} s each "
          f"({os.cpu_count()} cores, shared)")  # fmt: skip
    print(f"{'step':<8}{'n':>5}{'p50 s':>9}{'p90 s':>9}{'max s':>9}")
    for step in ("select", "move"):
        xs = np.array(stats[step])
        if len(xs):
            p50, p90 = np.percentile(xs, [50, 90])
            print(f"{step:<8}{len(xs):>5}{p50:>9.2f}{p90:>9.2f}{xs.max():>9.2f}")
    print(f"moves made {stats['moves']}, stored {stored}; error boxes {stats['errors']}; "
          f"'changed in another tab' notices {stats['notices']}; clicks that never selected "
          f"{stats['failed_selects']}; moves never confirmed {stats['failed_moves']}")
    for text in stats["failed_tabs"]:
        print(f"a tab never showed the map: {text}")
    ok = stats["errors"] == 0 and stored >= stats["moves"] and not stats["failed_tabs"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
