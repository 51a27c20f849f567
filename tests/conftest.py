r"""Shared fixtures: a tiny hand-drawn district.

The district (metres, UTM 51N, near 120.4°E 36.1°N)::

      y
   2000 +---------+---------+---------+---------+
        |  g0101  |  g0102  |  g0201* |  g0202* |      C1 = 370299001001 (top-left)
        |       C1          |        C3         |      C2 = 370299001002 (bottom-left)
   1000 +---------+---------+---------+---------+      C3 = 370299002001 (top-right)
        |  g0101  |  g0102  |  g0101  |  g0102  |      C4 = 370299002002 (bottom-right)
        |       C2          |        C4         |
      0 +---------+---------+---------+---------+
        0        1000      2000      3000      4000  x
        \______ S1 ________/\_______ S2 _______/

Each grid is 1 km², each community 2 km², each street 4 km². Grid codes are
their community's code plus two digits.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

UTM = 32651
X0, Y0 = 230_000.0, 4_000_000.0  # about 120.0°E, 36.1°N

STREETS = {"370299001000": "甲街道", "370299002000": "乙街道"}
COMMUNITIES = {
    "370299001001": ("一社区", "370299001000", (0, 1000, 2000, 2000)),
    "370299001002": ("二社区", "370299001000", (0, 0, 2000, 1000)),
    "370299002001": ("三社区", "370299002000", (2000, 1000, 4000, 2000)),
    "370299002002": ("四社区", "370299002000", (2000, 0, 4000, 1000)),
}


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def tiny_frames(grid_population: int = 2000) -> dict[str, gpd.GeoDataFrame]:
    """Return the tiny district as ``level -> GeoDataFrame`` in EPSG:4326."""
    grids = []
    for ccode, (name, _, (x0, y0, x1, y1)) in COMMUNITIES.items():
        mid = (x0 + x1) / 2
        for k, (a, b) in enumerate(((x0, mid), (mid, x1)), start=1):
            grids.append(
                {
                    "code": f"{ccode}{k:02d}",
                    "name": f"{name}第{k:02d}网格",
                    "parent_code": ccode,
                    "population": grid_population,
                    "geometry": box(a, y0, b, y1),
                }
            )
    communities = [
        {"code": c, "name": n, "parent_code": p, "geometry": box(*b)}
        for c, (n, p, b) in COMMUNITIES.items()
    ]
    streets = [
        {
            "code": "370299001000",
            "name": STREETS["370299001000"],
            "geometry": box(0, 0, 2000, 2000),
        },
        {
            "code": "370299002000",
            "name": STREETS["370299002000"],
            "geometry": box(2000, 0, 4000, 2000),
        },
    ]
    return {
        "street": gpd.GeoDataFrame(streets, crs=UTM).to_crs(4326),
        "community": gpd.GeoDataFrame(communities, crs=UTM).to_crs(4326),
        "grid": gpd.GeoDataFrame(grids, crs=UTM).to_crs(4326),
    }


def pytest_collection_modifyitems(config, items) -> None:
    """On pytest-xdist workers (``make test``: ``-n 2 --dist loadfile``) queue browser files first.

    ``--dist loadfile`` keeps each file on one worker, so a file's module-scoped
    fixtures (a Streamlit server, a proposal on the sample) are built once. The
    files with browser tests take longest, so they start first, then files with
    slow tests, and the other files fill in around them. Runs without xdist keep
    their order.
    """
    if hasattr(config, "workerinput"):
        browser_files = {item.path for item in items if item.get_closest_marker("browser")}
        slow_files = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: (item.path not in browser_files,
                                     item.path not in slow_files))


@pytest.fixture
def tiny() -> dict[str, gpd.GeoDataFrame]:
    return tiny_frames()


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory) -> Iterator[Path]:
    """Project files of the whole session in a temporary folder, never the user's own.

    Tests that need their own set ``WANGGE_HOME`` again (``monkeypatch.setenv``).
    """
    home = tmp_path_factory.mktemp("wangge-session-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANGGE_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def sample_layers() -> dict[str, gpd.GeoDataFrame]:
    """The built-in sample district's layers, built once per test session.

    Shared by every test that asks for it: read it, or copy a frame before changing it.
    """
    from geo.sample.build import sample_district

    return sample_district()


@pytest.fixture(scope="session")
def sample_built(sample_layers):
    """The sample as a :class:`~geo.district.model.District`, built once (read only)."""
    from geo.district.hierarchy import build_district

    return build_district(sample_layers)


def rules_of(findings, prefix: str = "") -> list[str]:
    return sorted(f.rule for f in findings if f.rule.startswith(prefix))


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a browser downloaded by a test tool).

    Outside CI a machine without Chromium skips the browser tests; in CI
    (``CI`` set, where ``make test`` installs it) a missing Chromium fails.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is missing at /usr/bin/chromium; `make browser` "
                        "installs it.")
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def streamlit_server(script: Path, *, log_dir: Path, env: dict[str, str] | None = None,
                     base_path: str = "") -> Iterator[str]:
    """Run ``streamlit run SCRIPT`` from the repository root; yield its URL; always stop it.

    The working directory is the root so Streamlit reads ``.streamlit/config.toml``
    (static serving of the offline map assets).
    """
    import subprocess
    import sys
    import time
    import urllib.request

    log_path = log_dir / "streamlit.log"
    for attempt in range(3):
        # Another process (e.g. a second pytest-xdist worker) may take the free port before
        # Streamlit binds it: then Streamlit exits at once and a new port is tried.
        port = free_port()
        cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
               "--server.baseUrlPath", base_path]
        log = open(log_path, "wb")  # noqa: SIM115 - closed below, after the server stops
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/" + (f"{base_path}/" if base_path else "")
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if proc.poll() is None and time.monotonic() <= deadline:
            break
        _stop(proc)
        log.close()
        text = log_path.read_text()
        if "already in use" not in text or attempt == 2:
            pytest.fail("streamlit did not start:\n" + text)
    with log:
        try:
            yield url
        finally:
            _stop(proc)


def _stop(proc) -> None:
    """Stop a server process: terminate, then kill if it does not exit within 10 s."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def line_across(district, code: str) -> shapely.LineString:
    """Return a west-east line (WGS-84) through the middle of community ``code``, 50 m past it."""
    row = district.units["community"].set_index("code").loc[code]
    m = gpd.GeoSeries([row.geometry], crs=4326).to_crs(district.metric_crs).iloc[0]
    minx, _, maxx, _ = m.bounds
    y = m.centroid.y
    return gpd.GeoSeries([shapely.LineString([(minx - 50, y), (maxx + 50, y)])],
                         crs=district.metric_crs).to_crs(4326).iloc[0]


@pytest.fixture
def split_in_app():
    """Return ``split(at, k)``: split the k-th community of an AppTest's plan across its middle.

    Selects the community, hands a drawn line to the editor's map state and
    clicks Split; returns the plan before the split.
    """

    def split(at, k: int = 5):
        plan = at.session_state["plan"]
        d = plan.base.district
        row = d.units["community"].iloc[k]
        line = line_across(d, row["code"])
        at.session_state["selection"] = [row["code"]]
        at.session_state["edit_map"] = {"last_active_drawing": {
            "type": "Feature", "geometry": shapely.geometry.mapping(line)}}
        at.run()
        at.button(key="split_button").click().run()
        return plan

    return split


@contextlib.contextmanager
def in_language(lang: str) -> Iterator[Any]:
    """Set the app's language (``zh``, ``en``) for the block, as the switch does; yield ``ui``."""
    import ui

    before = ui._last_lang[0]
    ui._last_lang[0] = lang
    try:
        yield ui
    finally:
        ui._last_lang[0] = before


def in_chinese() -> contextlib.AbstractContextManager[Any]:
    """Set the app's language to Chinese for the block; yield ``ui``."""
    return in_language("zh")


def chinese_problems(english: str, chinese: str, *, keep: Iterable[str | None] = (),
                     exempt: Iterable[str] = ()) -> list[str]:
    """What is wrong with a text the library wrote, as the app shows it in Chinese.

    Untranslated, English words left (``exempt`` passages aside: data such as
    file names), or a name of ``keep`` that the English names and the Chinese lost.
    """
    from test_i18n_catalogue import english_words

    kept = [k for k in keep if k]
    problems = ["untranslated"] if chinese == english else []
    words = english_words([chinese], {*exempt, *kept})
    if words:
        problems.append(f"English words {sorted(words)}")
    problems += [f"lost {k!r}" for k in kept if k in english and k not in chinese]
    return problems


@pytest.fixture
def zh() -> Iterator[Any]:
    """Render an error as the app does, in Chinese (``zh(exc) -> str``)."""
    with in_chinese() as ui:
        yield ui.error_text


def raised(fn: Any, kind: type[Exception]) -> Any:
    """The error ``fn()`` raises, of ``kind``, raised worded (with a template)."""
    with pytest.raises(kind) as info:
        fn()
    assert info.value.template, f"raised without a template: {info.value}"
    return info.value


def assert_chinese(zh: Any, exc: Any, *names: str, exempt: tuple[str, ...] = ()) -> str:
    """The error in Chinese: translated, no English word, naming ``names``; return the text."""
    text = zh(exc)
    assert not untranslated(exc.template, exc.fields), str(exc)
    assert not chinese_problems(str(exc), text, keep=names, exempt=exempt), (text, str(exc))
    rest = text
    for name in names:
        assert name in text, (name, text)
        rest = rest.replace(name, " ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rest), text
    return text


@functools.lru_cache(maxsize=1)
def _translated() -> frozenset[str]:
    from babel.messages.pofile import read_po

    from geo.i18n import catalogue_path

    with catalogue_path("zh").open("rb") as f:
        return frozenset(m.id for m in read_po(f, locale="zh") if m.id and m.string)


def untranslated(template: str, args: Any = None) -> list[str]:
    """Templates and words in a worded message (its phrases too) the catalogue lacks.

    A message that reads right in Chinese only because its text happens to contain no
    Latin letters would pass a word check; this asks the catalogue itself.
    """
    from geo.findings import Phrase, Word

    known = _translated()
    missing = [template] if template and template not in known else []
    for value in (args or {}).values():
        if isinstance(value, Phrase):
            missing += untranslated(value.template, value.args)
            for part in value.parts:
                missing += untranslated("", {"part": part})
        elif isinstance(value, Word) and value and value not in known:
            missing.append(str(value))
    return missing
