"""The app's maps through AppTest: the printed map on Export, basemap presets, the Data preview."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np
import pypdf
import pytest
from conftest import tiny_frames
from PIL import Image
from streamlit.testing.v1 import AppTest

from geo.maps import mapprint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def tiny_project(home) -> str:
    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint

    d = build_district(tiny_frames())
    key = district_fingerprint(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    return key


def app(page: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def downloads(at: AppTest) -> dict[str, object]:
    return {el.proto.label: el for el in at.get("download_button")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_export_page_offers_the_plan_map_as_png_and_pdf(tiny_project, lang):
    at = app("views/export.py", project=tiny_project, plan="current", lang=lang)
    labels = {"zh": ("地图 · PNG", "地图 · PDF", "绘制地图", "方案"),
              "en": ("Map · PNG", "Map · PDF", "Draw the map", "plan")}[lang]
    assert labels[0] not in downloads(at)  # drawn only when asked: the page stays fast
    at.button(key="draw_print_map").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = downloads(at)
    assert labels[0] in shown and labels[1] in shown
    printed = at.session_state["print_map"]
    assert Image.open(io.BytesIO(printed["png"])).size == mapprint.DEFAULT_SIZE_PX
    assert printed["pdf"].startswith(b"%PDF")
    words = pypdf.PdfReader(io.BytesIO(printed["pdf"])).pages[0].extract_text()
    assert tiny_project in words and labels[3] in words  # the project and the plan shown
    assert "甲街道" in words
    # a move changes the plan: the map drawn for the old state is not offered any more
    at.switch_page("views/boundaries.py").run()
    at.session_state["selection"] = [str(tiny_frames()["community"]["code"].iloc[0])]
    at.selectbox(key="move_target").set_value("370299002000").run()
    at.button(key="move_button").click().run()
    at.switch_page("views/export.py").run()
    assert labels[0] not in downloads(at)


# ------------------------------------------------------------------------- basemaps
def map_args(at: AppTest) -> str:
    """The arguments the page's map hands to the browser (map script and layers, with the
    files its held layers fetch), with JSON's \\uXXXX escapes read back."""
    comps = [c for c in at.get("component_instance")
             if c.proto.component_name.endswith("st_folium")]
    assert len(comps) == 1
    args = comps[0].proto.json_args
    # layers the browser fetches by URL (geo.maps.held): the texts those URLs serve
    files = at.session_state["_browser_files"] if "_browser_files" in at.session_state else {}
    args += "".join(text for url, text in files.values() if url in args)
    return re.sub(r"\\+u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)), args)


DRAWN = 2e-5
"""How close a drawn coordinate lies to the data's (degrees, ~2 m): maps round coordinates
(six decimals) and the editor draws shapes simplified to the view and rounded to ~1 m. The
GCJ-02 shift here is ~0.005°, so a layer left unshifted is still told apart (> 1e-4)."""


def numbers(args: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d{6,}", args)])


def corner() -> tuple[float, float]:
    """A corner of the first community, in WGS-84."""
    frame = tiny_frames()["community"].to_crs(4326)
    x, y = frame.geometry.iloc[0].exterior.coords[0]
    return float(x), float(y)


def test_boundaries_without_basemap_draws_no_tiles_and_unshifted_layers(tiny_project):
    at = app(project=tiny_project, lang="en")
    args = map_args(at)
    assert "L.tileLayer" not in args
    lon, _lat = corner()
    assert np.abs(numbers(args) - lon).min() < DRAWN


def test_gcj02_basemap_kept_in_the_url_draws_its_tiles_and_shifts_every_layer(tiny_project):
    from geo.crs import wgs84_to_gcj02

    url = "http://tiles.gis.local/amap/{z}/{x}/{y}.png"
    at = app(project=tiny_project, lang="zh", basemap="custom", tiles=url, tiles_crs="gcj02")
    args = map_args(at)
    assert url in args and "tiles.gis.local" in args  # the layer and its attribution
    lon, lat = corner()
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    found = numbers(args)
    assert np.abs(found - glon).min() < DRAWN and np.abs(found - glat).min() < DRAWN
    assert np.abs(found - lon).min() > 1e-4  # no layer left at the WGS-84 place
    assert any("GCJ-02" in c.value for c in at.sidebar.caption)
    # every link carries the basemap, so the Coverage page draws on the same one
    for link in at.get("page_link"):
        q = parse_qs(link.proto.query_string)
        assert q["basemap"] == ["custom"] and q["tiles"] == [url] and q["tiles_crs"] == ["gcj02"]


def test_tianditu_needs_a_key_which_never_goes_into_the_url(tiny_project):
    at = app(project=tiny_project, lang="en")
    at.selectbox(key="basemap").set_value("tianditu").run()
    assert at.query_params["basemap"] in ("tianditu", ["tianditu"])
    assert any("tianditu" in w.value.lower() and "key" in w.value for w in at.sidebar.warning)
    assert "L.tileLayer" not in map_args(at)  # drawn without a basemap meanwhile
    key = "0123456789abcdef0123456789abcdef"
    at.text_input(key="tianditu_key").input(key).run()
    args = map_args(at)
    assert "tianditu.gov.cn/vec_w/wmts" in args and "tianditu.gov.cn/cva_w/wmts" in args
    assert key in args
    assert not any(key in str(v) for v in at.query_params.values())
    assert all(key not in link.proto.query_string for link in at.get("page_link"))
    assert not at.sidebar.warning


def test_openstreetmap_preset_chosen_in_the_sidebar(tiny_project):
    at = app(project=tiny_project, lang="zh")
    at.selectbox(key="basemap").set_value("osm").run()
    args = map_args(at)
    assert "tile.openstreetmap.org" in args and "openstreetmap.org/copyright" in args
    at.selectbox(key="basemap").set_value("none").run()
    assert "basemap" not in at.query_params
    assert "L.tileLayer" not in map_args(at)


# ------------------------------------------------------------------- Data page preview
class _Upload:
    """What st.file_uploader hands the page: a name and the bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture
def uploaded(home, monkeypatch):
    """Files 'uploaded' on the Data page (AppTest cannot drive the upload widget itself)."""
    import streamlit

    frames = tiny_frames()
    files = [_Upload(f"{level}.geojson", frames[level].to_crs(4326).to_json().encode())
             for level in ("street", "community", "grid")]
    real = streamlit.file_uploader

    def fake(label, *args, key=None, **kwargs):
        if key == "uploads":
            return files
        return real(label, *args, key=key, **kwargs)

    monkeypatch.setattr(streamlit, "file_uploader", fake)
    return frames


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_data_page_previews_the_layers_read_before_the_check(uploaded, lang):
    at = app("views/data.py", lang=lang)
    args = map_args(at)
    for colour in ("#111827", "#2563eb", "#7c8da6"):  # streets, communities, grids
        assert colour in args
    lon, _lat = corner()
    assert np.abs(numbers(args) - lon).min() < DRAWN  # drawn where the data is
    legend = {"zh": ("街道", "社区", "网格"), "en": ("streets", "communities", "grids")}[lang]
    for word in legend:
        assert word in args
    assert "L.tileLayer" not in args  # offline
    assert at.button(key="check_upload")  # the check still follows


def test_preview_marks_a_layer_without_level_dashed(uploaded):
    at = app("views/data.py", lang="en")
    at.selectbox(key="level_0").set_value("—").run()
    args = map_args(at)
    assert "#d97706" in args and "level not chosen" in args


def test_preview_of_points_only_says_what_to_give():
    import geopandas as gpd
    import shapely

    from geo.errors import EmptyInputError
    from geo.maps.preview import preview_map

    points = gpd.GeoDataFrame(geometry=[shapely.Point(120.0, 36.1)], crs=4326)
    with pytest.raises(EmptyInputError, match="boundaries"):
        preview_map([("facilities.csv", points, None)], legend_title="", level_names={},
                    unknown_name="?")


def test_a_click_on_a_gcj02_basemap_selects_the_community_drawn_there(tiny_project):
    """A point 0.002° inside 一社区's east edge: drawn ~480 m further east on GCJ-02, where
    the raw click would fall in 三社区."""
    from geo.crs import wgs84_to_gcj02

    lon, lat = 120.0200, 36.1210
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    assert glon > 120.0225  # taken as WGS-84, the click would be in the other street
    at = app(project=tiny_project, lang="en", basemap="custom",
             tiles="http://amap.local/{z}/{x}/{y}.png", tiles_crs="gcj02")
    at.session_state["edit_map"] = {"last_object_clicked": {"lat": glat, "lng": glon}}
    at.run()
    assert at.session_state["selection"] == ["370299001001"]


@pytest.mark.parametrize("page", ["views/overview.py", "views/compare.py"])
def test_check_and_compare_maps_sit_on_the_same_gcj02_basemap(tiny_project, page):
    from geo.crs import wgs84_to_gcj02

    url = "http://amap.local/{z}/{x}/{y}.png"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in {"project": tiny_project, "lang": "en", "basemap": "custom", "tiles": url,
                 "tiles_crs": "gcj02"}.items():
        at.query_params[k] = v
    at.switch_page(page).run()  # opened from a link that carries the basemap
    assert not at.exception, [e.value for e in at.exception]
    args = map_args(at)
    assert url in args
    lon, lat = corner()
    glon, _glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    found = numbers(args)
    assert np.abs(found - glon).min() < DRAWN
    assert np.abs(found - lon).min() > 1e-4


def test_boundaries_sends_finer_outlines_for_zooming_in_when_the_view_is_coarse(
        home, monkeypatch):
    """A district drawn coarse for its whole view (a city) also gets its blocks and street
    outlines at the finest tolerance, from a zoom level in; one that fits the screen does
    not need them."""
    import shapely
    import streamlit as st

    from geo import settings
    from geo.maps import editor

    st.cache_resource.clear()  # the drawing shapes are kept per district across sessions
    at = app(lang="en")  # the sample
    assert "blocks-fine" not in at.session_state["_browser_files"]
    # as if the sample were a city: drawn at 60 m for the whole view
    monkeypatch.setattr(editor, "view_tolerance_m", lambda bounds, metric_crs: 60.0)
    st.cache_resource.clear()
    try:
        at = app(lang="en")
    finally:
        st.cache_resource.clear()
    files = at.session_state["_browser_files"]
    args = map_args(at)
    for name in ("blocks", "streets"):
        (url, text), (coarse_url, coarse_text) = files[f"{name}-fine"], files[name]
        assert url in args and url != coarse_url  # named to the browser as the detail
        fine = shapely.from_geojson([json.dumps(f["geometry"])
                                     for f in json.loads(text)["features"]])
        coarse = shapely.from_geojson([json.dumps(f["geometry"])
                                       for f in json.loads(coarse_text)["features"]])
        assert len(fine) == len(coarse)
        assert shapely.get_num_coordinates(fine).sum() > shapely.get_num_coordinates(
            coarse).sum()  # finer
        # the same shapes in the same order: each fine one lies where its coarse one does
        assert (shapely.distance(shapely.centroid(fine), shapely.centroid(coarse))
                < 0.002).all()
    assert f"[{settings.map_detail_zoom}, " in args
