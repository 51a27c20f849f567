"""Offline maps: vendored assets, link rewriting, standalone HTML, escaping, Streamlit."""

from __future__ import annotations

import json
import os
import re
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import folium
import folium.plugins
import geopandas as gpd
import pytest
from branca.colormap import LinearColormap
from conftest import streamlit_server
from shapely.geometry import box

from geo.errors import ColumnError, CRSError, EmptyInputError, WanggeError
from geo.maps import assets as map_assets
from geo.maps import view as mapview

ROOT = Path(__file__).resolve().parent.parent
XSS_NAME = '<img src=x onerror="window.__pwned=1">'
XSS_SCRIPT = "</script><script>window.__pwned=2</script>"

needs_assets = pytest.mark.skipif(
    not (mapview.VENDOR_DIR / mapview.MANIFEST_NAME).is_file() and not os.environ.get("CI"),
    reason="map assets missing: run `make assets`",
)


class _Attrs(HTMLParser):
    """src/href attribute values of the real tags (script bodies are not parsed as tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls.extend(v for k, v in attrs if k in {"src", "href"} and v)


def _attrs(page: str) -> _Attrs:
    parser = _Attrs()
    parser.feed(page)
    return parser


def _remote(url: str) -> bool:
    return bool(re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE))


@pytest.fixture
def units() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": [XSS_NAME, "市南区" + XSS_SCRIPT, "八大湖街道"],
            "pop": [12000, 34500.5, None],
            "kind": ["street", "community", "grid"],
            "code": ["370202001", "370202002", "370202003"],
        },
        geometry=[
            box(120.30, 36.05, 120.32, 36.07),
            box(120.32, 36.05, 120.34, 36.07),
            box(120.34, 36.05, 120.36, 36.07),
        ],
        crs=4326,
    )


def _full_map(units: gpd.GeoDataFrame) -> folium.Map:
    m = mapview.unit_map(
        units,
        style=mapview.UnitStyle(color_column="pop"),
        setup=mapview.MapSetup(layer_control=True),
        tooltip_columns=["name", "pop"],
        tooltip_aliases=["名称", "<b>人口</b>"],
        popup_columns=["name"],
        id_column="code",
    )
    folium.plugins.Draw(export=False).add_to(m)
    folium.plugins.Fullscreen().add_to(m)
    return m


# ----------------------------------------------------------------- manifest and rewriting


@needs_assets
def test_manifest_covers_every_link_folium_uses() -> None:
    manifest = json.loads((mapview.VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))
    assets = manifest["assets"]
    used = [
        folium.Map,
        folium.GeoJson,
        folium.GeoJsonTooltip,
        folium.GeoJsonPopup,
        folium.LayerControl,
        folium.plugins.Draw,
        folium.plugins.Fullscreen,
    ]
    for cls in used:
        for _, url in [*getattr(cls, "default_js", []), *getattr(cls, "default_css", [])]:
            rel = map_assets.local_path(url, assets)
            assert rel is not None, f"{cls.__name__} needs {url}, which has no local copy"
    for rel in assets.values():
        assert (mapview.VENDOR_DIR / rel).is_file(), rel


@needs_assets
def test_offline_assets_maps_cdn_urls_under_base() -> None:
    table = mapview.offline_assets(base_url="/x/vendor/")
    assert table["leaflet.js"] == "/x/vendor/leaflet@1.9.4/dist/leaflet.js"
    m = folium.Map(tiles=None)
    mapview.make_offline(m, base_url="/x/vendor/")
    assert ("leaflet", "/x/vendor/leaflet@1.9.4/dist/leaflet.js") in m.default_js


@needs_assets
def test_make_offline_leaves_no_remote_script_or_link(units: gpd.GeoDataFrame) -> None:
    m = mapview.make_offline(_full_map(units))
    page = m.get_root().render()
    parsed = _attrs(page)
    assert parsed.urls, "expected script/link tags"
    assert not [u for u in parsed.urls if _remote(u)]
    assert not re.search(r"https?://", page), re.findall(r"https?://\S{0,60}", page)
    for url in parsed.urls:
        assert url.startswith(mapview.STREAMLIT_BASE_URL + "/")
        rel = url.removeprefix(mapview.STREAMLIT_BASE_URL + "/")
        assert (mapview.VENDOR_DIR / rel).is_file(), url
    assert any("leaflet.draw.js" in u for u in parsed.urls)


@needs_assets
def test_make_offline_changes_only_this_map(units: gpd.GeoDataFrame) -> None:
    before = list(folium.Map.default_js)
    m = mapview.make_offline(_full_map(units), base_url="/a")
    mapview.make_offline(m, base_url="/b")  # second call: already local, kept
    assert folium.Map.default_js == before
    assert folium.Map().default_js[0][1].startswith("https://")
    assert folium.plugins.Draw().default_js[0][1].startswith("https://")
    assert all(url.startswith("/a/") for _, url in m.default_js)


def test_make_offline_without_manifest_says_run_make_assets(tmp_path: Path) -> None:
    with pytest.raises(WanggeError, match=r"map assets missing: .* `python -m geo.maps.assets "):
        mapview.make_offline(folium.Map(tiles=None), vendor_dir=tmp_path)


@needs_assets
def test_make_offline_names_urls_without_local_copy() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    before = list(m.default_js)
    with pytest.raises(WanggeError) as err:
        mapview.make_offline(m)
    assert "leaflet.markercluster.js" in str(err.value)
    assert "MarkerCluster" in str(err.value)
    assert m.default_js == before  # nothing rewritten when something is missing


@needs_assets
def test_make_offline_rejects_branca_colormap() -> None:
    m = folium.Map(tiles=None)
    LinearColormap(["red", "blue"], vmin=0, vmax=1).add_to(m)
    with pytest.raises(WanggeError, match="d3"):
        mapview.make_offline(m)


# ----------------------------------------------------------------------------- standalone


@needs_assets
def test_standalone_html_is_self_contained_and_escaped(
    units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    m = _full_map(units)
    links_before = list(m.default_js)
    out = mapview.standalone_html(m, tmp_path / "sub" / "map.html")
    page = out.read_text(encoding="utf-8")
    parsed = _attrs(page)
    assert "link" not in parsed.tags
    assert not [u for u in parsed.urls if _remote(u)], parsed.urls
    assert not re.search(r"""url\(\s*['"]?\s*(?:https?:)?//""", page)
    assert not re.search(r"<script[^>]+src=", page)
    assert "@font-face" not in page  # fonts dropped unless asked for
    assert "/* leaflet@1.9.4/dist/leaflet.js */" in page
    assert "/* leaflet-draw@1.0.4/dist/leaflet.draw.js */" in page
    # The http(s) strings left are inside the inlined libraries (licence comments,
    # the SVG namespace, Leaflet's attribution link), never a tag attribute or url().
    # The hostile names are data, never markup.
    assert XSS_NAME not in page
    assert "<script>window.__pwned" not in page
    assert "&amp;lt;" not in page  # escaped once, not twice
    assert m.default_js == links_before  # the map itself is left as it was
    assert [p.name for p in out.parent.iterdir()] == ["map.html"]  # no temp file left


@needs_assets
def test_standalone_html_after_make_offline_and_with_fonts(
    units: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    m = mapview.make_offline(_full_map(units))
    out = mapview.standalone_html(m, tmp_path / "map.html", inline_fonts=True)
    page = out.read_text(encoding="utf-8")
    assert "data:font/woff2;base64," in page
    assert not [u for u in _attrs(page).urls if _remote(u) or "static/vendor" in u]
    with_fonts = out.stat().st_size
    mapview.standalone_html(m, tmp_path / "map.html")  # overwrite in place
    assert out.stat().st_size < with_fonts - 200_000
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


@needs_assets
def test_standalone_html_refuses_links_it_cannot_inline(tmp_path: Path) -> None:
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(folium.JavascriptLink("js/mine.js"), name="mine")
    with pytest.raises(WanggeError, match="js/mine.js"):
        mapview.standalone_html(m, tmp_path / "map.html")
    assert not list(tmp_path.iterdir())


@needs_assets
def test_standalone_html_refuses_remote_tiles(units: gpd.GeoDataFrame, tmp_path: Path) -> None:
    m = mapview.unit_map(units, setup=mapview.MapSetup(
        tile_url="https://tiles.example/{z}/{x}/{y}.png", attribution="example"))
    with pytest.raises(WanggeError, match="tiles.example"):
        mapview.standalone_html(m, tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()
    mapview.standalone_html(m, tmp_path / "map.html", allow_remote_tiles=True)
    assert (tmp_path / "map.html").is_file()


# ------------------------------------------------------------------------------ unit_map


def test_unit_map_checks_its_input(units: gpd.GeoDataFrame) -> None:
    with pytest.raises(ColumnError, match="'nope'"):
        mapview.unit_map(units, tooltip_columns=["nope"])
    with pytest.raises(CRSError):
        mapview.unit_map(units.set_crs(None, allow_override=True))
    with pytest.raises(EmptyInputError):
        mapview.unit_map(units.iloc[0:0])
    with pytest.raises(ValueError, match="attribution"):
        mapview.unit_map(units, setup=mapview.MapSetup(tile_url="https://t.example/{z}/{x}/{y}.png"))


def test_unit_map_has_no_tiles_and_fits_the_units(units: gpd.GeoDataFrame) -> None:
    m = mapview.unit_map(units.to_crs(3857), style=mapview.UnitStyle(color_column="kind"))
    assert not any(isinstance(c, folium.TileLayer) for c in m._children.values())
    page = m.get_root().render()
    assert "fitBounds" in page
    assert "120.3" in page and "36.0" in page  # converted back to lon/lat
    assert "tile.openstreetmap" not in page


def test_unit_map_escapes_tooltip_values_and_labels(units: gpd.GeoDataFrame) -> None:
    m = mapview.unit_map(units, tooltip_columns=["name"], tooltip_aliases=["<b>名称</b>"])
    page = m.get_root().render()
    assert XSS_NAME not in page
    assert "\\u0026lt;img src=x onerror=" in page  # escaped, then JSON-encoded
    assert "\\u0026lt;b\\u0026gt;" in page  # the alias too


# -------------------------------------------------------------------------------- browser


def _hover_every_polygon(scope: object) -> list[str]:
    """Hover each polygon in ``scope`` (a page or frame) and return the tooltip texts."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    texts = []
    polygons = scope.locator("path.leaflet-interactive")  # type: ignore[attr-defined]
    tip = scope.locator(".leaflet-tooltip").first  # type: ignore[attr-defined]
    for i in range(polygons.count()):
        for attempt in range(3):  # the st_folium iframe may still be resizing
            polygons.nth(i).hover(timeout=10_000)
            try:
                tip.wait_for(state="visible", timeout=3_000 * (attempt + 1))
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        texts.append(tip.inner_text())
    return texts


@pytest.mark.browser
@needs_assets
def test_standalone_html_renders_offline_in_chromium(
    units: gpd.GeoDataFrame, browser: object, tmp_path: Path
) -> None:
    out = mapview.standalone_html(_full_map(units), tmp_path / "map.html")
    page = browser.new_page(viewport={"width": 1000, "height": 700})  # type: ignore[attr-defined]
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.L") == "object"
        assert page.locator("path.leaflet-interactive").count() == 3
        assert page.locator(".leaflet-draw-toolbar").count() > 0
        texts = _hover_every_polygon(page)
        assert any(XSS_NAME in t for t in texts), texts  # shown as text
        bb = page.locator("path.leaflet-interactive").first.bounding_box()
        page.mouse.click(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
        page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=5000)
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("document.querySelectorAll('img[src=x]').length") == 0
        page.locator(".leaflet-popup-close-button").click()
        out_dir = ROOT / "test-output"
        out_dir.mkdir(exist_ok=True)
        page.mouse.move(*_centre(page, 1))
        page.wait_for_timeout(200)
        page.screenshot(path=str(out_dir / "mapview.png"))
    finally:
        page.close()
    assert not errors, errors
    foreign = [u for u in requests if urlsplit(u).scheme not in {"file", "data"}]
    assert not foreign, foreign


def _centre(page: object, i: int) -> tuple[float, float]:
    bb = page.locator("path.leaflet-interactive").nth(i).bounding_box()  # type: ignore[attr-defined]
    return bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2


_APP = textwrap.dedent(
    """
    import geopandas as gpd
    import folium.plugins
    from shapely.geometry import box
    from streamlit_folium import st_folium

    from geo.maps import view as mapview

    units = gpd.GeoDataFrame(
        {"name": [{xss!r}, "b"], "pop": [1, 2]},
        geometry=[box(120.30, 36.05, 120.32, 36.07), box(120.32, 36.05, 120.34, 36.07)],
        crs=4326,
    )
    m = mapview.unit_map(units, style=mapview.UnitStyle(color_column="pop"),
                         setup=mapview.MapSetup(layer_control=True), tooltip_columns=["name"])
    folium.plugins.Draw().add_to(m)
    st_folium(mapview.make_offline(m), height=400, width=700, key="map")
    """
)


@pytest.fixture(scope="module", params=["", "wangge"], ids=["root", "baseUrlPath"])
def streamlit_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Run a throwaway app using the repo's .streamlit/config.toml and static/ folder."""
    app_dir = tmp_path_factory.mktemp("stapp")
    (app_dir / "app.py").write_text(_APP.replace("{xss!r}", repr(XSS_NAME)), encoding="utf-8")
    (app_dir / "static").symlink_to(ROOT / "static", target_is_directory=True)
    with streamlit_server(app_dir / "app.py", log_dir=app_dir,
                          env={"PYTHONPATH": str(ROOT)}, base_path=request.param) as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
@needs_assets
def test_st_folium_renders_offline(streamlit_url: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 800})  # type: ignore[attr-defined]
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    try:
        page.goto(streamlit_url)
        iframe = page.locator('iframe[title="streamlit_folium.st_folium"]')
        iframe.wait_for(state="attached", timeout=45_000)
        frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=45_000)
        assert frame.locator("path.leaflet-interactive").count() == 2
        map_frame = next(f for f in page.frames if "st_folium" in f.url)
        assert map_frame.evaluate("typeof window.L") == "object"
        texts = _hover_every_polygon(map_frame)
        assert any(XSS_NAME in t for t in texts), texts
        assert map_frame.evaluate("window.__pwned") is None
    finally:
        page.close()
    assert not failed, failed
    vendor = [u for u in requests if "/app/static/vendor/" in u]
    assert any(u.endswith("/leaflet.js") for u in vendor), requests
    prefix = urlsplit(streamlit_url).path
    assert all(urlsplit(u).path.startswith(prefix + "app/static/vendor/") for u in vendor)
    foreign = [u for u in requests if urlsplit(u).hostname not in {"127.0.0.1", "localhost"}]
    assert not foreign, foreign


def test_simplify_coverage_keeps_neighbours_together() -> None:
    import shapely as sh

    from geo.sample.build import sample_district

    grids = sample_district()["grid"]
    simple = mapview.simplify_coverage(grids, tolerance_m=15.0, metric_crs=32651)
    m = simple.to_crs(32651)
    before = sh.get_num_coordinates(grids.geometry.values).sum()
    after = sh.get_num_coordinates(simple.geometry.values).sum()
    assert after < before
    union = m.union_all()
    assert m.area.sum() == pytest.approx(union.area, rel=1e-9)  # no overlaps
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
