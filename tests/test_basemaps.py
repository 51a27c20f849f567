"""Basemap presets and the GCJ-02 display shift: tile URLs, attribution, every layer moved.

The tiny district (two streets, four communities, eight grids near 120.0°E 36.1°N)
is drawn as the editor and the coverage page draw it, then shifted.
"""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import tiny_frames

from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from geo.errors import InputError
from geo.maps import basemaps
from geo.maps.basemaps import make_basemap, shift_map
from geo.maps.view import add_labels, add_points, base_map, editor_layers

KEY = "0123456789abcdef0123456789abcdef"


def rendered(m: folium.Map) -> str:
    """The map's page with JSON's \\uXXXX escapes (folium writes & and 天 so) read back."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda g: chr(int(g.group(1), 16)),
                  m.get_root().render())


def test_none_is_the_default_and_draws_no_tiles():
    bm = make_basemap(None)
    assert bm.preset == "none" and not bm.layers and not bm.shifted
    m = basemaps.add_basemap(base_map((120.0, 36.0, 120.1, 36.1)), bm)
    assert "L.tileLayer" not in rendered(m)


def test_openstreetmap_tiles_and_attribution_in_the_map():
    m = basemaps.add_basemap(base_map((120.0, 36.0, 120.1, 36.1)), make_basemap("osm"))
    page = rendered(m)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "openstreetmap.org/copyright" in page and "OpenStreetMap" in page


def test_tianditu_is_cgcs2000_so_nothing_is_shifted_and_its_key_is_in_the_url():
    bm = make_basemap("tianditu", key=KEY)
    assert bm.crs == "wgs84" and not bm.shifted  # CGCS2000 ≈ WGS-84, unlike Amap's GCJ-02
    page = rendered(basemaps.add_basemap(base_map((120.0, 36.0, 120.1, 36.1)), bm))
    assert "https://t{s}.tianditu.gov.cn/vec_w/wmts?" in page
    assert "cva_w" in page  # the Chinese labels lie over the map
    assert f"tk={KEY}" in page and "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in page
    assert "天地图" in page and '"subdomains": "01234567"' in page


@pytest.mark.parametrize("key", [None, "", "abc", "has space 123456", "x" * 80])
def test_tianditu_without_a_usable_key_says_where_to_get_one(key):
    with pytest.raises(InputError, match="console.tianditu.gov.cn"):
        make_basemap("tianditu", key=key)


def test_custom_server_keeps_its_url_crs_and_a_default_attribution():
    bm = make_basemap("custom", url="http://tiles.gis.local/amap/{z}/{x}/{y}.png", crs="GCJ-02")
    assert bm.shifted and bm.attribution == "tiles.gis.local"
    page = rendered(basemaps.add_basemap(base_map((120.0, 36.0, 120.1, 36.1)), bm))
    assert "http://tiles.gis.local/amap/{z}/{x}/{y}.png" in page
    own = make_basemap("custom", url="https://t.example/{z}/{x}/{-y}.png",
                       attribution="<b>规划局</b>")
    assert not own.shifted and own.attribution == "&lt;b&gt;规划局&lt;/b&gt;"


@pytest.mark.parametrize(("url", "crs", "message"), [
    (None, "wgs84", "URL template"),
    ("tiles.local/{z}/{x}/{y}.png", "wgs84", "http://"),
    ("http://tiles.local/tile.png", "wgs84", r"\{z\}"),
    ("javascript:alert(1)//{z}/{x}/{y}", "wgs84", "http://"),
    ('http://t.local/{z}/{x}/{y}.png"><script>', "wgs84", "quotes"),
    ("http://t.local/{z}/{x}/{y}.png", "bd09", "gcj02"),
])
def test_custom_server_refuses_what_cannot_work(url, crs, message):
    with pytest.raises(InputError, match=message):
        make_basemap("custom", url=url, crs=crs)


def test_unknown_preset_names_the_choices():
    with pytest.raises(InputError, match="none, osm, tianditu, custom"):
        make_basemap("google")


def test_amap_hosts_are_recognised_as_gcj02():
    assert basemaps.looks_gcj02("https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}")
    assert basemaps.looks_gcj02("https://wprd01.amap.com/{z}/{x}/{y}")
    assert not basemaps.looks_gcj02("https://tile.openstreetmap.org/{z}/{x}/{y}.png")


# ------------------------------------------------------------------ every layer moves
def _coords(data) -> np.ndarray:
    return np.array(shapely.get_coordinates(
        [shapely.geometry.shape(f["geometry"]) for f in data["features"]]))


@pytest.fixture
def drawn():
    frames = tiny_frames()
    blocks = frames["community"].to_crs(4326)[["code", "name", "geometry"]].copy()
    blocks["fill"] = "#77aadd"
    blocks["street"] = blocks["parent_code"] if "parent_code" in blocks else "s"
    streets = frames["street"].to_crs(4326)[["code", "name", "geometry"]].copy()
    streets["line"], streets["dash"], streets["label"] = "#004488", "", streets["name"]
    grids = frames["grid"].to_crs(4326)[["geometry"]]
    layers = editor_layers(blocks, streets, fill_column="fill", tooltip_columns=["name"],
                           tooltip_aliases=["name"], street_color_column="line",
                           selected=[True] + [False] * (len(blocks) - 1), extra_outlines=grids,
                           label_column="label")
    m = base_map(blocks.total_bounds)
    facilities = gpd.GeoDataFrame({"type": ["health_station"], "name": ["站"],
                                   "floor_area_m2": [200.0]},
                                  geometry=[blocks.geometry.iloc[0].centroid], crs=4326)
    add_points(m, facilities, name="facilities", color_column="type",
               tooltip_columns=["name"])
    add_labels(m, streets, column="label")
    folium.PolyLine([[36.1, 120.0], [36.11, 120.01]]).add_to(m)
    return m, layers, blocks, streets, grids, facilities


def test_gcj02_basemap_shifts_streets_communities_grids_facilities_labels_and_bounds(drawn):
    m, layers, blocks, streets, grids, facilities = drawn
    before = {id(el): el for el in basemaps._walk(m) + basemaps._walk(layers)}
    geo_before = {k: _coords(el.data) for k, el in before.items()
                  if isinstance(el, folium.GeoJson)}
    markers_before = {k: list(el.location) for k, el in before.items()
                      if isinstance(el, folium.Marker)}
    bounds_before = [list(map(list, el.bounds)) for el in before.values()
                     if isinstance(el, folium.map.FitBounds)]
    bm = make_basemap("custom", url="http://amap.local/{z}/{x}/{y}.png", crs="gcj02")
    shift_map(m, bm)
    shift_map(layers, bm)
    shift_map(layers, bm)  # a second call never moves it twice
    # communities (the selection among them), streets, grids, and the facilities (one layer)
    assert len(geo_before) == 4
    assert len(markers_before) >= 2  # the two street labels
    for k, coords in geo_before.items():
        after = _coords(before[k].data)
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        np.testing.assert_allclose(after, np.column_stack([lon, lat]), atol=1e-9)
        assert np.abs(after - coords).max() > 1e-3  # a few hundred metres, not nothing
    for k, (lat0, lon0) in markers_before.items():
        lat1, lon1 = before[k].location
        x, y = wgs84_to_gcj02(lon0, lat0)
        assert (lon1, lat1) == pytest.approx((float(x), float(y)), abs=1e-9)
    line = next(el for el in before.values() if isinstance(el, folium.PolyLine))
    assert line.locations[0][0] != 36.1
    fit = [el for el in before.values() if isinstance(el, folium.map.FitBounds)]
    assert fit and fit[0].bounds != bounds_before[0]


def test_wgs84_basemaps_leave_every_layer_where_it_is(drawn):
    m, layers, *_ = drawn

    def places():
        found = basemaps._walk(m) + basemaps._walk(layers)
        return ([json.dumps(el.data, sort_keys=True) for el in found
                 if isinstance(el, folium.GeoJson)],
                [list(el.location) for el in found if isinstance(el, folium.Marker)])

    before = places()
    for bm in (make_basemap("none"), make_basemap("osm"), make_basemap("tianditu", key=KEY)):
        shift_map(m, bm)
        shift_map(layers, bm)
    assert places() == before and before[0] and before[1]


def test_clicks_and_drawings_on_a_gcj02_basemap_come_back_to_wgs84():
    bm = make_basemap("custom", url="http://amap.local/{z}/{x}/{y}.png", crs="gcj02")
    lon, lat = 120.3, 36.07
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert basemaps.point_to_wgs84(float(gx), float(gy), bm) == pytest.approx((lon, lat),
                                                                              abs=1e-8)
    assert basemaps.point_to_display(lat, lon, bm) == pytest.approx((float(gy), float(gx)))
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat]]
    shown = {"type": "Polygon", "coordinates": [[list(map(float, wgs84_to_gcj02(*p)))
                                                 for p in ring]]}
    back = basemaps.geometry_to_wgs84(shown, bm)
    np.testing.assert_allclose(np.array(back["coordinates"][0]), np.array(ring), atol=1e-8)
    x, y = gcj02_to_wgs84(*shown["coordinates"][0][0])
    assert (float(x), float(y)) == pytest.approx((lon, lat), abs=1e-8)
    osm = make_basemap("osm")
    assert basemaps.point_to_wgs84(lon, lat, osm) == (lon, lat)
    assert basemaps.geometry_to_wgs84(shown, osm) is shown
