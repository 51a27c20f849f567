"""How fast the Boundaries page answers in a real browser, with partial reruns and without.

Starts the app (``streamlit run app.py``) once per way of running it, drives
Debian's Chromium with Playwright, and prints medians and ratios (not a test:
nothing is asserted). Measured, on the sample and on the sample tiled 16×
(``bench/_tiles.py``, about 2,000 communities):

* **first map**: a new browser session opens the page until the blocks are drawn
  (the district already loaded by the server; its first load is printed apart);
* **click**: a click on a community until the panel says it is selected *and* the
  map has drawn the highlight;
* **move**: Move (then Undo) until the panel, the street table and the map are redrawn;
* **re-colour** (sample only): on Coverage, after the first audit, a new colouring
  until the new map is shown; a colouring seen before is timed apart;
* **payload**: bytes the browser received per action, over the websocket and as
  map-layer files (the held layers are fetched once per district, see ``geo.maps.held``).

Ways of running: ``fragments`` (the default app), ``whole page``
(``WANGGE_FRAGMENTS=0``: every click reruns the page) and, with
``--before REF``, the app as it was at git commit REF (unpacked with
``git archive`` into a temporary folder).

Usage::

    PYTHONPATH=. .venv/bin/python bench/bench_editor.py                 # sample and 16×
    PYTHONPATH=. .venv/bin/python bench/bench_editor.py --times 1 --before c1997e6
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
FOLIUM = "iframe[title*='streamlit_folium']"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(app_dir: Path, home: Path, env: dict[str, str]) -> Iterator[str]:
    """Run the app from ``app_dir``; yield its URL; always stop it."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    log = open(home / f"streamlit-{port}.log", "wb")  # noqa: SIM115 - closed below
    full_env = {**os.environ, "WANGGE_HOME": str(home), "PYTHONPATH": str(app_dir), **env}
    proc = subprocess.Popen(cmd, cwd=app_dir, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def tiled_project(home: Path, times: int) -> str:
    """Write the sample tiled ``times``× as a project in ``home``; return its key."""
    sys.path.insert(0, str(ROOT / "bench"))
    from _tiles import tiled_district

    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint
    from geo.rules.rulebook import load_rulebook

    d = build_district(tiled_district(times), household_size=load_rulebook().household_size)
    key = district_fingerprint(d)
    path = home / f"district-{key}.gpkg"
    if not path.exists():
        write_units(d.units, path, fmt="gpkg")
    return key


class Wire:
    """Bytes the page receives: over Streamlit's websocket, and the map layers it fetches.

    The held layers (``geo.maps.held``) come as files from Streamlit's media
    endpoint, outside the websocket; :attr:`fetched` sums their bodies.
    """

    def __init__(self, page) -> None:
        self.received = 0
        self._files: list = []
        page.on("websocket", self._attach)
        page.on("requestfinished", self._file)

    def _attach(self, ws) -> None:
        ws.on("framereceived", lambda payload: self._count(payload))

    def _count(self, payload) -> None:
        self.received += len(payload)

    def _file(self, request) -> None:
        if "/media/" in request.url:
            self._files.append(request)

    @property
    def fetched(self) -> int:
        """Bytes of the layer files fetched so far (read outside the event handlers)."""
        return sum(max(0, r.sizes()["responseBodySize"]) for r in self._files)

    @property
    def total(self) -> int:
        return self.received + self.fetched


def map_frame(page, timeout_s: float = 900.0):
    """The Playwright frame of the (last) folium map on the page, once it has loaded."""
    deadline = time.monotonic() + timeout_s
    while True:
        frames = [f for f in page.frames if "streamlit_folium" in (f.url or "")]
        if frames or time.monotonic() > deadline:
            return frames[-1]
        page.wait_for_timeout(100)  # Playwright's events (new frames) arrive only inside its calls


STAMP = ("() => { (window.feature_group || []).forEach(g => { g._benchOld = true; });"
         " window._benchDrawn = (window.__wangge || {}).drawn || 0; }")
FRESH = ("() => { var W = window.__wangge; if (W) { return W.drawn > window._benchDrawn"
         " && !W.pending; } return !!(window.map && window.feature_group"
         " && window.feature_group.length"
         " && !window.feature_group[window.feature_group.length - 1]._benchOld); }")
"""The map has drawn new layers since STAMP: with layers held in the page
(``geo.maps.held``), one more layer drawn or painted and none on its way; before
that, a new group appended by st_folium."""


def wait_map_redrawn(page, timeout_s: float) -> None:
    map_frame(page).wait_for_function(FRESH, timeout=timeout_s * 1000)


_CLICKS = [0]


def click_block(page, k: int) -> None:
    """Click inside block ``k``, each time at another pixel (the page ignores a repeated point)."""
    path = page.frame_locator(FOLIUM).first.locator("path.leaflet-interactive").nth(k)
    box = path.bounding_box()
    _CLICKS[0] += 1
    shift = (_CLICKS[0] % 5) - 2
    path.click(position={"x": box["width"] / 2 + shift, "y": box["height"] / 2 + shift},
               force=True)


def timed_click(page, k: int, shown: str, timeout_s: float) -> float:
    """Click block ``k`` until the panel shows ``shown`` and the map is redrawn; seconds."""
    for _attempt in range(4):
        map_frame(page).evaluate(STAMP)
        t0 = time.perf_counter()
        click_block(page, k)
        try:
            page.get_by_text(shown).first.wait_for(timeout=timeout_s * 1000)
            wait_map_redrawn(page, timeout_s)
            return time.perf_counter() - t0
        except Exception:  # noqa: BLE001 - the first click can land before events are wired
            continue
    raise RuntimeError(f"clicking block {k} never showed {shown!r}")


def timed_button(page, name: str, timeout_s: float) -> float:
    """Press a button until the panel and the map are redrawn; seconds."""
    map_frame(page).evaluate(STAMP)
    t0 = time.perf_counter()
    page.get_by_role("button", name=name, exact=True).click()
    wait_map_redrawn(page, timeout_s)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden",
                                                            timeout=timeout_s * 1000)
    return time.perf_counter() - t0


def editor_run(browser, url: str, plan: str, repeats: int, timeout_s: float) -> dict:
    """Time the editor's first map, clicks and moves in one mode (``url`` ends in ? or &)."""
    out: dict[str, list[float]] = {"first_cold": [], "first": [], "click": [], "clear": [],
                                   "move": [],
                                   "click_bytes": [], "move_bytes": [], "first_bytes": []}
    for visit in range(3):  # the first visit loads the district into the server
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        wire = Wire(page)
        t0 = time.perf_counter()
        page.goto(f"{url}plan={plan}-{visit}&lang=en")
        page.frame_locator(FOLIUM).first.locator("path.leaflet-interactive").first.wait_for(
            timeout=timeout_s * 1000 * 4)
        out["first_cold" if visit == 0 else "first"].append(time.perf_counter() - t0)
        page.wait_for_timeout(1000)  # layer files still arriving after the first shapes
        out["first_bytes"].append(wire.total)
        if visit < 2:
            page.close()
    k = 40
    for _ in range(repeats):
        before = wire.total
        out["click"].append(timed_click(page, k, "Selected: 1", timeout_s))
        out["click_bytes"].append(wire.total - before)
        out["clear"].append(timed_button(page, "Clear selection", timeout_s))
    for _ in range(max(1, repeats // 2)):
        timed_click(page, k, "Selected: 1", timeout_s)
        before = wire.total
        out["move"].append(timed_button(page, "Move", timeout_s))
        out["move_bytes"].append(wire.total - before)
        out["move"].append(timed_button(page, "↶ Undo", timeout_s))
    page.close()
    return out


RECOLOURED = ("() => { var W = window.__wangge; if (!window.map) { return false; }"
              " if (!window._benchOld) { return true; }"
              " return !!W && W.drawn > window._benchDrawn && !W.pending; }")
"""A new map (st_folium mounted it again), or the held layers restyled and none on its way."""


def _has_map(frame) -> bool:
    try:
        return bool(frame.evaluate("() => !!window.map"))
    except Exception:  # noqa: BLE001 - a frame being replaced
        return False


def recolour_run(browser, url: str, timeout_s: float) -> dict:
    """Time the Coverage page's re-colouring after the first audit."""
    out: dict[str, list[float]] = {"audit_first": [], "recolour": [], "recolour_seen": []}
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    t0 = time.perf_counter()
    page.goto(f"{url}coverage?lang=en")
    deadline = time.monotonic() + timeout_s * 10
    while not any(_has_map(f) for f in page.frames if "streamlit_folium" in (f.url or "")):
        if time.monotonic() > deadline:
            raise RuntimeError("the coverage map never appeared")
        # a frame can be replaced while the page reruns: poll, never wait on one (and wait
        # through Playwright: a plain sleep would keep its events, new frames too, from arriving)
        page.wait_for_timeout(200)
    out["audit_first"].append(time.perf_counter() - t0)
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Colour communities by")

    def colour(n: int) -> float:
        for f in page.frames:
            if "streamlit_folium" in (f.url or ""):
                f.evaluate("() => { window._benchOld = true;"
                           " window._benchDrawn = (window.__wangge || {}).drawn || 0; }")
        box.click()
        t0 = time.perf_counter()
        page.locator("[role='option']").nth(n).click()
        deadline = time.monotonic() + timeout_s * 10
        while time.monotonic() < deadline:
            for f in page.frames:
                if "streamlit_folium" not in (f.url or ""):
                    continue
                try:
                    if f.evaluate(RECOLOURED):
                        return time.perf_counter() - t0
                except Exception:  # noqa: BLE001 - a frame being replaced
                    pass
            page.wait_for_timeout(50)
        raise RuntimeError("the coverage map was never redrawn")

    for n in (1, 2, 3):
        out["recolour"].append(colour(n))
    for n in (1, 2, 3):
        out["recolour_seen"].append(colour(n))
    page.close()
    return out


def unpack(ref: str, into: Path) -> Path:
    """Unpack the app at git commit ``ref`` (with this checkout's map assets); return its folder."""
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                             capture_output=True).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    shutil.copytree(ROOT / "static" / "vendor", into / "static" / "vendor", dirs_exist_ok=True)
    return into


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--times", type=int, nargs="+", default=[1, 16],
                    help="district sizes: 1 = the sample, N = the sample tiled N×")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before", metavar="REF", help="also time the app at this git commit")
    ap.add_argument("--no-coverage", action="store_true", help="skip the re-colouring")
    ap.add_argument("--no-whole-page", action="store_true",
                    help="skip the whole-page way (WANGGE_FRAGMENTS=0)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per action")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    modes = [("fragments", ROOT, {})]
    if not args.no_whole_page:
        modes.append(("whole page", ROOT, {"WANGGE_FRAGMENTS": "0"}))
    if args.before:
        modes.append((f"before {args.before}", unpack(args.before, work / "before"), {}))
    results: dict[tuple[int, str], dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for times in args.times:
            home = work / f"home-{times}"
            home.mkdir()
            project = "" if times == 1 else tiled_project(home, times)
            for name, app_dir, env in modes:
                with server(app_dir, home, env) as url:
                    page_url = f"{url}?project={project}&" if project else f"{url}?"
                    r = editor_run(browser, page_url, f"bench{len(results)}", args.repeats,
                                   args.timeout)
                    print(f"{times}× {name}: " + ", ".join(
                        f"{k} {median(v):.2f}" for k, v in r.items() if v), flush=True)
                    if times == 1 and not args.no_coverage:
                        try:
                            r.update(recolour_run(browser, url, args.timeout))
                        except Exception as exc:  # noqa: BLE001 - reported, the rest goes on
                            print(f"{name}: Coverage not timed ({exc})", flush=True)
                    results[(times, name)] = r
                print(f"{times}× {name}: " + ", ".join(
                    f"{k} {median(v):.2f}" for k, v in r.items() if v), flush=True)
        browser.close()
    report(results, [m[0] for m in modes])


def report(results: dict, modes: list[str]) -> None:
    """Print a Markdown table: medians per mode, and each mode's ratio to the first."""
    rows = [("first map, server warm (s)", "first"), ("first map, district loading (s)",
                                                      "first_cold"),
            ("click → selection shown (s)", "click"), ("clear selection (s)", "clear"),
            ("move → tables and map (s)", "move"),
            ("Coverage: audit and first map (s)", "audit_first"),
            ("Coverage: re-colour, new type (s)", "recolour"),
            ("Coverage: re-colour, type seen (s)", "recolour_seen"),
            ("payload, first map (KB)", "first_bytes"), ("payload per click (KB)", "click_bytes"),
            ("payload per move (KB)", "move_bytes")]
    sizes = sorted({t for t, _m in results})
    for times in sizes:
        print(f"\n### {'the sample' if times == 1 else f'the sample tiled {times}×'}\n")
        print("| measure | " + " | ".join(modes) + " | " + " | ".join(
            f"{m} ÷ {modes[0]}" for m in modes[1:]) + " |")
        print("|---" * (1 + 2 * len(modes) - 1) + "|")
        for label, key in rows:
            vals = [median(results.get((times, m), {}).get(key, [])) for m in modes]
            if all(v != v for v in vals):
                continue
            scale = 1 / 1024 if key.endswith("bytes") else 1
            cells = [f"{v * scale:,.2f}" if v == v else "—" for v in vals]
            ratios = [f"{vals[i] / vals[0]:.1f}×" if vals[0] == vals[0] and vals[0] and
                      vals[i] == vals[i] else "—" for i in range(1, len(modes))]
            print(f"| {label} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
