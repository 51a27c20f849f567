"""The editor in Debian's Chromium: click, move, undo, reload, export, escaping, two sessions.

Starts the real app (``streamlit run app.py``) with a fresh project folder,
drives it with Playwright and saves screenshots under ``test-output/``.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest
from conftest import streamlit_server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"
XSS = '<img src=x onerror="window.__pwned=1">'

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    home = tmp_path_factory.mktemp("wangge-home")
    with streamlit_server(ROOT / "app.py", log_dir=home, env={"WANGGE_HOME": str(home)}) as url:
        yield url, home


def _map(page):
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=120_000)
    return frame


def _street_cell(page, street_code: str) -> str:
    """Return the text of the street table row for a code (glide data grid is canvas-drawn,
    so read the accessible table Streamlit mirrors it into)."""
    row = page.locator("[data-testid='stDataFrame'] table tr", has_text=street_code).first
    return row.inner_text()


def _click_block(frame, k: int) -> None:
    path = frame.locator("path.leaflet-interactive").nth(k)
    box = path.bounding_box()
    path.click(position={"x": box["width"] / 2, "y": box["height"] / 2}, force=True)


def _select_one(page, frame, k: int) -> float:
    """Click block ``k`` until the selection shows it (the first click can land before the
    map component has wired its events); return the seconds from the last click."""
    t0 = time.perf_counter()
    for _ in range(4):
        if page.get_by_text("已选: 1").count():  # a slow click landed after all: not again
            return time.perf_counter() - t0
        t0 = time.perf_counter()
        _click_block(frame, k)
        try:
            page.get_by_text("已选: 1").wait_for(timeout=8_000)
            return time.perf_counter() - t0
        except Exception:  # noqa: BLE001 - retried, then reported below
            continue
    page.screenshot(path=str(OUT / "select-failed.png"))
    raise AssertionError("clicking a community never selected it")


def test_click_move_undo_reload_export(app_url, browser, tmp_path):
    base, home = app_url
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base + "?plan=browser-test")
    frame = _map(page)
    page.screenshot(path=str(OUT / "boundaries.png"))
    # select one community by clicking it
    click_s = _select_one(page, frame, 40)
    # move it to the first street in the list (its street differs for block 40 in the sample)
    caption = page.locator("[data-testid='stCaptionContainer']").all_inner_texts()
    t0 = time.perf_counter()
    page.get_by_role("button", name="移动").click()
    page.get_by_text("已选: 0").wait_for(timeout=20_000)
    page.get_by_role("button", name="↶ 撤销", disabled=False).first.wait_for(timeout=20_000)
    move_s = time.perf_counter() - t0
    print(f"\nclick -> selection shown: {click_s:.2f} s; move -> map and table updated: "
          f"{move_s:.2f} s")
    page.screenshot(path=str(OUT / "boundaries-after-move.png"))
    assert page.get_by_text("上一步：将 1 个社区移至", exact=False).count() == 1
    # the store has the edit
    import sqlite3

    con = sqlite3.connect(home / "sample.gpkg")
    n_edits = con.execute("SELECT COUNT(*) FROM wangge_edits WHERE plan='browser-test'").fetchone()
    assert n_edits[0] >= 1
    # undo, then reload: the plan is as it was left (undone, redo available)
    page.get_by_role("button", name="↶ 撤销", disabled=False).first.click()
    page.get_by_role("button", name="↷ 重做", disabled=False).first.wait_for(timeout=20_000)
    time.sleep(0.5)
    page.reload()
    _map(page)
    redo = page.get_by_role("button", name="↷ 重做")
    redo.wait_for(timeout=30_000)
    assert redo.is_enabled()
    redo.click()
    page.get_by_role("button", name="↶ 撤销", disabled=False).first.wait_for(timeout=20_000)
    time.sleep(0.5)
    # export GeoJSON and check the file
    page.goto(base + "export?plan=browser-test")
    page.get_by_text("GeoJSON（仅街道）").wait_for(timeout=60_000)
    with page.expect_download() as dl:
        page.get_by_text("GeoJSON（仅街道）").click()
    path = tmp_path / "streets.geojson"
    dl.value.save_as(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) >= 9
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in doc["features"])
    page.screenshot(path=str(OUT / "export.png"))
    with page.expect_download() as dl:
        page.get_by_text("GeoJSON（各层级）· .zip").click()
    dl.value.save_as(tmp_path / "all.zip")
    assert set(zipfile.ZipFile(tmp_path / "all.zip").namelist()) == {
        "streets.geojson", "communities.geojson", "grids.geojson"}
    other = [u for u in requests if not u.startswith(("http://127.0.0.1", "data:", "blob:",
                                                       "about:"))]
    assert other == []
    page.close()
    del caption


def test_two_sessions_do_not_share_unsaved_state(app_url, browser):
    base, _ = app_url
    size = {"width": 1500, "height": 1100}
    a = browser.new_context(viewport=size).new_page()
    b = browser.new_context(viewport=size).new_page()
    a.goto(base + "?plan=session-a")
    b.goto(base + "boundaries?plan=session-b")  # the page's own address opens it too
    fa, _fb = _map(a), _map(b)
    assert b.get_by_text("Page not found").count() == 0
    box = fa.locator("path.leaflet-interactive").nth(40).bounding_box()
    _select_one(a, fa, 40)
    b.reload()
    _map(b)
    assert b.get_by_text("已选: 0").count() == 1
    assert a.get_by_text("已选: 1").count() == 1
    # the very same point clicked again is a second click: it clears the selection
    a.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    a.get_by_text("已选: 0").wait_for(timeout=20_000)
    # a double click (the map zooms in) selects once: its second half is not a second click
    a.wait_for_timeout(700)  # (a click within 0.5 s of one on the same point is its double)
    a.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    a.get_by_text("已选: 1").wait_for(timeout=20_000)
    a.wait_for_timeout(2_000)
    assert a.get_by_text("已选: 1").count() == 1
    a.close()
    b.close()


def test_hostile_names_are_shown_as_text(app_url, browser):
    """A community named like an HTML tag shows as text and runs no script."""
    import geopandas as gpd

    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint
    from geo.sample.build import sample_district

    base, home = app_url
    frames = sample_district()
    frames["community"] = frames["community"].copy()
    frames["community"].loc[0, "name"] = XSS
    d = build_district(frames)
    key = district_fingerprint(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + f"?project={key}&plan=current")
    frame = _map(page)
    target = gpd.GeoSeries([d.units["community"].geometry.iloc[0]], crs=4326)
    assert len(target) == 1
    paths = frame.locator("path.leaflet-interactive")
    for k in range(min(paths.count(), 12)):
        paths.nth(k).hover(force=True)
    tooltip_html = frame.locator(".leaflet-tooltip").all_inner_texts()
    pwned = page.frame_locator("iframe[title*='streamlit_folium']").first.locator(
        "body").evaluate("() => window.__pwned")
    assert pwned is None
    assert not any("pwned" in e for e in errors)
    if any("onerror" in s for s in tooltip_html):
        assert any(XSS in s for s in tooltip_html)  # shown as text
    page.screenshot(path=str(OUT / "hostile-name.png"))
    page.close()


def test_upload_map_check_and_edit_own_data(app_url, browser, tmp_path):
    """Upload a two-level district as GeoJSON files, check it, open it in the editor."""
    import sys as _sys

    _sys.path.insert(0, str(ROOT / "tests"))
    from conftest import tiny_frames

    frames = tiny_frames()
    files = []
    for lv in ("street", "community"):
        p = tmp_path / f"{lv}s.geojson"
        frames[lv].to_file(p, driver="GeoJSON")
        files.append(str(p))
    base, _ = app_url
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(base + "data")
    page.locator("input[type='file']").set_input_files(files)
    page.get_by_text("找到 2 个图层").wait_for(timeout=60_000)
    page.get_by_role("button", name="检查").click()
    page.get_by_text("街道: 2 · 社区: 4", exact=False).wait_for(timeout=60_000)
    page.screenshot(path=str(OUT / "data-upload.png"), full_page=True)
    page.get_by_role("button", name="使用这些数据").click()
    frame = _map(page)
    assert frame.locator("path.leaflet-interactive").count() == 4
    page.get_by_text("甲街道").first.wait_for(state="attached", timeout=30_000)
    assert "project=" in page.url
    page.close()


def test_the_file_uploader_speaks_the_language(app_url, browser):
    """Streamlit draws "Upload" and "100MB per file" itself, in English; in Chinese the page
    shows 上传 and the limit in their place (the English hidden, not removed)."""
    base, _ = app_url
    page = browser.new_page()
    seen = {}
    for lang in ("zh", "en"):
        page.goto(f"{base}data?lang={lang}")
        button = page.locator("[data-testid='stFileUploaderDropzone'] "
                              "[data-testid='stMarkdownContainer'] p").first
        button.wait_for(timeout=60_000)
        limit = page.locator("[data-testid='stFileUploaderDropzoneInstructions'] span").first
        seen[lang] = (button.evaluate("e => getComputedStyle(e, '::after').content"),
                      limit.evaluate("e => getComputedStyle(e, '::after').content"),
                      button.evaluate("e => getComputedStyle(e).fontSize"))
    page.close()
    assert seen["zh"][:2] == ('"上传"', '"每个文件不超过 100 MB"') and seen["zh"][2] == "0px"
    assert seen["en"][:2] == ("none", "none") and seen["en"][2] != "0px"
