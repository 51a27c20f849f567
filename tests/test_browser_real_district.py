"""A planner's own uncoded district in Debian's Chromium, from the Data page to an export.

The files are shaped like a city's GIS export: GBK Shapefiles without .cpg, names only
(街道名称; 社区名称 and 常住人口), no codes, no parent column. The walk: upload → the
levels and the findings → use the data → the editor draws it → the Export page names
the plan and hands out a GeoJSON whose communities carry generated codes. No page may
show an exception.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from conftest import streamlit_server

from geo.sample.build import sample_district

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    home = tmp_path_factory.mktemp("wangge-home-real")
    with streamlit_server(ROOT / "app.py", log_dir=home, env={"WANGGE_HOME": str(home)}) as url:
        yield url


@pytest.fixture(scope="module")
def uncoded_files(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("uncoded-upload")
    frames = sample_district()
    st = frames["street"][["name", "geometry"]].rename(columns={"name": "街道名称"})
    cm = frames["community"][["name", "population", "geometry"]].rename(
        columns={"name": "社区名称", "population": "常住人口"}
    )
    st.to_file(d / "jiedao.shp", encoding="gbk")
    cm.to_file(d / "shequ.shp", encoding="gbk")
    return [str(p) for p in sorted(d.iterdir()) if p.suffix != ".cpg"]


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.content()[:2000]


def test_uncoded_district_from_upload_to_export(app_url, browser, uncoded_files):
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1600, "height": 1100}, accept_downloads=True)
    page.goto(app_url + "data?lang=en")
    upload = page.locator("input[type='file']")
    upload.wait_for(state="attached", timeout=90_000)  # a first page can be slow on a busy machine
    upload.set_input_files(uncoded_files)
    page.get_by_text("2 layer(s) found", exact=False).wait_for(timeout=90_000)
    _no_exception(page)
    page.get_by_role("button", name="Check").click()
    page.get_by_text("community: 127", exact=False).wait_for(timeout=90_000)
    _no_exception(page)
    page.screenshot(path=str(OUT / "real-district-data.png"), full_page=True)
    page.get_by_role("button", name="Use this data").click()
    frame = page.frame_locator("iframe[title*='streamlit_folium']").first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=90_000)
    assert frame.locator("path.leaflet-interactive").count() >= 127
    page.get_by_text("宁远新区街道").first.wait_for(state="attached", timeout=60_000)
    _no_exception(page)
    assert "project=" in page.url and "plan=" in page.url
    page.screenshot(path=str(OUT / "real-district-boundaries.png"), full_page=True)
    # the Export page of the same project and plan
    url = page.url
    page.goto(url.replace("/boundaries", "/export") if "/boundaries" in url
              else url.split("?")[0].rstrip("/") + "/export?" + url.split("?", 1)[1])
    button = page.get_by_role("button", name="GeoJSON (every level)", exact=False).first
    button.wait_for(timeout=90_000)
    _no_exception(page)
    with page.expect_download(timeout=90_000) as info:
        button.click()
    data = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        comm = json.loads(zf.read(next(n for n in names if "communit" in n)))
    codes = [f["properties"]["code"] for f in comm["features"]]
    assert len(codes) == 127 and all(c and len(c) == 12 for c in codes)
    assert {f["properties"].get("code_source") for f in comm["features"]} == {"generated"}
    page.close()
