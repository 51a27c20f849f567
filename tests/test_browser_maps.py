"""The Coverage page's maps in Debian's Chromium: the siting map has a height and draws the sites.

Seen before: after Propose sites the siting map was 0 px tall, the browser console said
"Cannot read properties of undefined (reading 'setZIndex')" and no proposed site showed.
Screenshots go to ``test-output/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import streamlit_server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test-output"
SITE_COLOUR = "#facc15"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    home = tmp_path_factory.mktemp("wangge-home")
    with streamlit_server(ROOT / "app.py", log_dir=home, env={"WANGGE_HOME": str(home)}) as url:
        yield url


def _maps(page):
    return page.locator("iframe[title*='streamlit_folium']")


def test_siting_map_has_a_height_and_draws_the_proposed_sites(app_url, browser):
    OUT.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(app_url + "coverage?project=sample&plan=current&lang=en")
    _maps(page).first.wait_for(timeout=240_000)  # the sample's audit runs first
    page.get_by_role("button", name="Propose sites").click()
    page.get_by_text("residents covered").first.wait_for(timeout=240_000)
    maps = _maps(page)
    maps.nth(1).wait_for(timeout=60_000)
    siting = maps.nth(1)
    siting.scroll_into_view_if_needed()
    frame = page.frame_locator("iframe[title*='streamlit_folium']").nth(1)
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
    page.screenshot(path=str(OUT / "siting-map.png"), full_page=True)
    box = siting.bounding_box()
    assert box is not None and box["height"] >= 400, box
    inner = frame.locator(".folium-map, .leaflet-container").first.bounding_box()
    assert inner is not None and inner["height"] >= 400, inner
    sites = frame.locator(f"path.leaflet-interactive[fill='{SITE_COLOUR}']")
    assert sites.count() >= 1  # the proposed sites, drawn in yellow
    assert not [e for e in errors if "setZIndex" in e or "Cannot read properties" in e], errors
    page.close()


def test_held_shapes_take_finer_outlines_when_zoomed_in(browser):
    """Zoomed in, a held layer's shapes swap to their finer outlines in place (their paint
    kept); zoomed out again, they take the coarse ones back."""
    import json
    import urllib.parse

    import shapely

    from geo.maps.editor import features, geojson_texts
    from geo.maps.held import HeldLayer, HeldLayers

    coarse = shapely.box(120.0, 36.0, 120.01, 36.01)
    fine = shapely.Point(120.005, 36.005).buffer(0.005, quad_segs=16)  # 65 points

    def data_url(geom) -> str:
        text = features(geojson_texts([geom]), [{}])
        return "data:application/json," + urllib.parse.quote(text)

    paint = "data:application/json," + urllib.parse.quote(json.dumps({"f": ["#123456"]}))
    js = HeldLayers([HeldLayer("blocks", url=data_url(coarse), paint=paint,
                               detail=[(15, data_url(fine))], style={"weight": 1})]).js
    vendor = ROOT / "static" / "vendor" / "leaflet@1.9.4" / "dist"
    page = browser.new_page(viewport={"width": 800, "height": 600})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content("<div id='m' style='width:700px;height:500px'></div>")
    page.add_style_tag(path=str(vendor / "leaflet.css"))
    page.add_script_tag(path=str(vendor / "leaflet.js"))
    page.evaluate("() => { window.map = L.map('m').setView([36.005, 120.005], 12); }")
    page.add_script_tag(content=js)
    settled = "() => window.__wangge && window.__wangge.drawn >= 2 && !window.__wangge.pending"
    page.wait_for_function(settled)
    points = ("() => { var h = window.__wangge.held.blocks;"
              " return [h.shapes[0].getLatLngs()[0].length, h.shapes[0].options.fillColor]; }")
    assert page.evaluate(points) == [4, "#123456"]  # the coarse box, painted
    page.evaluate("() => { window.__wangge.drawn = 0; window.map.setZoom(16, {animate: false}); }")
    page.wait_for_function("() => window.__wangge.drawn >= 1 && !window.__wangge.pending")
    n_fine, colour = page.evaluate(points)
    assert n_fine >= 60 and colour == "#123456"
    page.evaluate("() => { window.__wangge.drawn = 0; window.map.setZoom(12, {animate: false}); }")
    page.wait_for_function("() => window.__wangge.drawn >= 1 && !window.__wangge.pending")
    assert page.evaluate(points)[0] == 4
    assert errors == []
    page.close()
