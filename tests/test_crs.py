from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from geo.crs import (
    CGCS2000,
    area_km2,
    area_m2,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_lonlat,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geodesic_area_m2,
    guess_projected_crs,
    is_lonlat_bounds,
    metric_crs_for,
    to_wgs84,
    to_wgs84_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.errors import CRSError

GEOD = pyproj.Geod(ellps="WGS84")
QINGDAO = (120.38, 36.07)
HARBIN = (126.6, 45.75)
SHENZHEN_ZONE_EDGE = (113.97, 22.53)  # 2.97° east of the UTM 49N central meridian (111°E)
QUANZHOU_GK_EDGE = (118.45, 24.9)  # 1.45° from the CGCS2000 CM 117°E zone centre
URUMQI = (87.6, 43.8)


def city_polygon(lon: float, lat: float, w_m: float = 3000, h_m: float = 2500) -> Polygon:
    """An irregular w_m x h_m polygon with a hole, centred at lon/lat."""
    dx = w_m / (111_320 * math.cos(math.radians(lat)))
    dy = h_m / 110_574
    shell = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.2), (0.1, 0.5), (-0.5, 0.35)]
    hole = [(-0.1, -0.1), (-0.1, 0.1), (0.1, 0.1), (0.1, -0.1)]
    poly = Polygon(
        [(lon + x * dx, lat + y * dy) for x, y in shell],
        [[(lon + x * dx, lat + y * dy) for x, y in hole]],
    )
    return shapely.segmentize(poly, 0.001)


def province_polygon() -> Polygon:
    """Roughly Shandong's extent (7.9° by 4°), densified so edge shape is unambiguous."""
    poly = Polygon([(114.8, 34.4), (122.7, 35.0), (122.4, 37.6), (119.0, 38.4), (115.2, 36.9)])
    return shapely.segmentize(poly, 0.01)


def frame(*geoms: object, crs: object = 4326, index: list[int] | None = None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": [f"g{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=crs, index=index
    )


def geodesic(poly: Polygon) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(poly))[0])


# --------------------------------------------------------------------------- metric_crs_for


@pytest.mark.parametrize(
    ("bounds", "prefer", "epsg"),
    [
        ((120.3, 36.0, 120.5, 36.2), "utm", 32651),
        ((120.3, 36.0, 120.5, 36.2), "cgcs2000", 4549),  # Qingdao: CM 120°E
        ((126.5, 45.6, 126.8, 45.9), "utm", 32652),
        ((126.5, 45.6, 126.8, 45.9), "cgcs2000", 4551),  # Harbin: CM 126°E
        ((87.4, 43.7, 87.8, 44.0), "cgcs2000", 4538),  # Urumqi: CM 87°E
        ((74.0, 39.4, 74.1, 39.5), "cgcs2000", 4534),  # CM 75°E, the westernmost zone
        ((151.1, -33.95, 151.3, -33.8), "utm", 32756),  # Sydney: southern hemisphere
    ],
)
def test_metric_crs_for_zones(bounds: tuple[float, ...], prefer: str, epsg: int) -> None:
    assert metric_crs_for(bounds, prefer=prefer).to_epsg() == epsg


def test_metric_crs_for_accepts_layers_in_any_crs() -> None:
    gdf = frame(city_polygon(*QINGDAO))
    assert metric_crs_for(gdf).to_epsg() == 32651
    assert metric_crs_for(gdf.to_crs(4549)).to_epsg() == 32651
    assert metric_crs_for(gdf.geometry.to_crs(3857), prefer="cgcs2000").to_epsg() == 4549
    assert metric_crs_for(gdf.set_crs(None, allow_override=True)).to_epsg() == 32651


def test_metric_crs_for_wide_extent_uses_albers() -> None:
    crs = metric_crs_for((114.8, 34.4, 122.7, 38.4), prefer="cgcs2000")
    op = crs.coordinate_operation
    assert op is not None and crs.is_projected and "Albers" in op.method_name
    params = {p.name: p.value for p in op.params}
    assert params["Latitude of 1st standard parallel"] == pytest.approx(34.4 + 4 / 6, abs=1e-9)
    assert params["Latitude of 2nd standard parallel"] == pytest.approx(34.4 + 20 / 6, abs=1e-9)
    assert params["Longitude of false origin"] == pytest.approx(118.75)


def test_metric_crs_for_falls_back_where_the_zone_distorts_areas() -> None:
    lon, lat = SHENZHEN_ZONE_EDGE
    bounds = (lon - 0.02, lat - 0.02, lon + 0.02, lat + 0.02)
    assert metric_crs_for(bounds).to_epsg() is None  # UTM 49N would be off by ~0.15 %
    assert metric_crs_for(bounds, max_area_error=0.002).to_epsg() == 32649


def test_metric_crs_for_errors() -> None:
    with pytest.raises(CRSError, match=r"73\.5-136\.5.*prefer='utm'"):
        metric_crs_for((2.2, 48.8, 2.4, 48.9), prefer="cgcs2000")
    with pytest.raises(CRSError, match="Unknown prefer='gk'; use one of utm, cgcs2000"):
        metric_crs_for((120.3, 36.0, 120.5, 36.2), prefer="gk")
    with pytest.raises(CRSError, match="empty or every geometry is missing"):
        metric_crs_for(frame().iloc[:0])
    with pytest.raises(CRSError, match="look projected"):
        metric_crs_for(frame(Point(500_000, 4_000_000), crs=None))
    with pytest.raises(CRSError, match="four numbers"):
        metric_crs_for((120.3, 36.0, 120.5))
    with pytest.raises(CRSError, match="min > max"):
        metric_crs_for((120.5, 36.0, 120.3, 36.2))


# --------------------------------------------------------------------------- areas


@pytest.mark.parametrize("prefer", ["utm", "cgcs2000"])
@pytest.mark.parametrize(
    "poly",
    [
        city_polygon(*QINGDAO),
        city_polygon(*HARBIN),
        city_polygon(*SHENZHEN_ZONE_EDGE),
        city_polygon(*QUANZHOU_GK_EDGE),
        city_polygon(*URUMQI),
        city_polygon(120.38, 36.07, 30_000, 25_000),  # a whole district
        province_polygon(),
    ],
    ids=["qingdao", "harbin", "utm-zone-edge", "gk-zone-edge", "urumqi", "district", "province"],
)
def test_area_within_a_tenth_of_a_percent_of_geodesic(poly: Polygon, prefer: str) -> None:
    gdf = frame(poly)
    assert area_m2(gdf, prefer=prefer).iloc[0] == pytest.approx(geodesic(poly), rel=1e-3)
    assert geodesic_area_m2(gdf).iloc[0] == pytest.approx(geodesic(poly), rel=1e-12)


def test_plain_utm_at_zone_edge_would_miss_the_tolerance() -> None:
    poly = city_polygon(*SHENZHEN_ZONE_EDGE)
    utm_area = frame(poly).to_crs(32649).area.iloc[0]
    assert abs(utm_area / geodesic(poly) - 1) > 1e-3  # why metric_crs_for falls back


def test_city_polygon_is_city_sized() -> None:
    area = geodesic(city_polygon(*QINGDAO))
    assert 5e6 < area < 7.5e6  # 3 km x 2.5 km minus notches and the hole


def test_area_series_shape_and_purity() -> None:
    gdf = frame(
        city_polygon(*QINGDAO),
        None,
        Polygon(),
        LineString([(120, 36), (121, 36)]),
        index=[10, 7, 3, 99],
    ).to_crs(4549)
    before = gdf.copy()
    m2, km2, geo = area_m2(gdf), area_km2(gdf), geodesic_area_m2(gdf)
    pd.testing.assert_frame_equal(gdf, before)
    for series, name in ((m2, "area_m2"), (km2, "area_km2"), (geo, "geodesic_area_m2")):
        assert list(series.index) == [10, 7, 3, 99] and series.name == name
        assert np.isnan(series.loc[7]) and series.loc[3] == 0 and series.loc[99] == 0
    assert km2.loc[10] == pytest.approx(m2.loc[10] / 1e6)
    assert m2.loc[10] == pytest.approx(geo.loc[10], rel=1e-3)
    pd.testing.assert_series_equal(area_m2(gdf.geometry), m2)


def test_geodesic_area_ignores_orientation_and_subtracts_holes() -> None:
    poly = city_polygon(*HARBIN)
    reversed_rings = Polygon(poly.exterior.coords[::-1], [poly.interiors[0].coords[::-1]])
    shell_only = Polygon(poly.exterior)
    hole_only = Polygon(poly.interiors[0])
    areas = geodesic_area_m2(frame(poly, reversed_rings, shell_only, hole_only))
    assert areas.iloc[0] == pytest.approx(areas.iloc[1], rel=1e-12)
    assert areas.iloc[0] == pytest.approx(areas.iloc[2] - areas.iloc[3], rel=1e-9)
    assert (areas > 0).all()


def test_areas_of_empty_and_crs_less_layers() -> None:
    empty = area_m2(frame().iloc[:0])
    assert empty.empty and empty.dtype == float
    no_crs = frame(city_polygon(*QINGDAO), crs=None)
    assert area_m2(no_crs).iloc[0] == pytest.approx(geodesic(no_crs.geometry.iloc[0]), rel=1e-3)
    with pytest.raises(CRSError, match="look projected"):
        area_m2(frame(city_polygon(*QINGDAO)).to_crs(4549).set_crs(None, allow_override=True))


# --------------------------------------------------------------------------- GCJ-02 / BD-09
# Published values from the coordtransform library's documentation, input (116.404, 39.915).


def test_forward_conversions_match_published_values() -> None:
    cases = [
        (bd09_to_gcj02, (116.39762729119315, 39.90865673957631)),
        (gcj02_to_bd09, (116.41036949371029, 39.92133699351021)),
        (wgs84_to_gcj02, (116.41024449916938, 39.91640428150164)),
    ]
    for func, expected in cases:
        lon, lat = func(116.404, 39.915)
        assert lon == pytest.approx(expected[0], abs=1e-9)
        assert lat == pytest.approx(expected[1], abs=1e-9)


def test_gcj02_inverse_is_exact_not_one_step() -> None:
    one_step = (116.39775550083061, 39.91359571849836)
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    back = wgs84_to_gcj02(lon, lat)
    assert back[0] == pytest.approx(116.404, abs=1e-7)
    assert back[1] == pytest.approx(39.915, abs=1e-7)
    diff = max(abs(lon - one_step[0]), abs(lat - one_step[1]))
    assert 1e-8 < diff < 1e-5  # the one-step value is off by decimetres


def test_shift_near_beijing_is_a_few_hundred_metres() -> None:
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    _, _, dist = GEOD.inv(116.404, 39.915, lon, lat)
    assert 100 < dist < 700
    blon, blat = wgs84_to_bd09(116.404, 39.915)
    assert 100 < GEOD.inv(116.404, 39.915, blon, blat)[2] < 1500


@pytest.mark.parametrize(
    "func",
    [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84],
)
def test_points_outside_china_are_unchanged(func: object) -> None:
    lon = np.array([2.35, -74.0, 139.69, 151.2, 100.5, 116.4, np.nan])
    lat = np.array([48.85, 40.7, 35.69, -33.87, 0.5, 56.0, 39.9])
    out_lon, out_lat = func(lon, lat)  # type: ignore[operator]
    np.testing.assert_array_equal(out_lon, lon)
    np.testing.assert_array_equal(out_lat, lat)


def test_conversions_are_vectorised_and_pure() -> None:
    lon = np.array([[116.404, 2.35, 121.47], [113.26, 120.38, 126.6]])
    lat = np.array([[39.915, 48.85, 31.23], [23.13, 36.07, 45.75]])
    lon_in, lat_in = lon.copy(), lat.copy()
    out_lon, out_lat = gcj02_to_wgs84(lon, lat)
    assert out_lon.shape == (2, 3) and out_lat.shape == (2, 3)
    np.testing.assert_array_equal(lon, lon_in)
    np.testing.assert_array_equal(lat, lat_in)
    for i in range(2):
        for j in range(3):
            scalar = gcj02_to_wgs84(lon[i, j], lat[i, j])
            assert scalar == pytest.approx((out_lon[i, j], out_lat[i, j]), abs=1e-9)
    assert isinstance(wgs84_to_gcj02(116.404, 39.915)[0], float)


china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=4.0, max_value=53.0)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trips(lon: float, lat: float) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert abs(again[0] - lon) < 1e-7 and abs(again[1] - lat) < 1e-7


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips(lon: float, lat: float) -> None:
    # Baidu's published BD-09 -> GCJ-02 formula is approximate to ~2e-6° (decimetres).
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert abs(back[0] - lon) < 5e-6 and abs(back[1] - lat) < 5e-6
    wgs = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert abs(wgs[0] - lon) < 5e-6 and abs(wgs[1] - lat) < 5e-6


# --------------------------------------------------------------------------- geometries


def test_to_wgs84_geometries_converts_every_vertex() -> None:
    poly = city_polygon(*QINGDAO)
    gdf = frame(poly, Point(116.404, 39.915), None, crs=None, index=[5, 6, 7])
    before = gdf.copy()
    for source, func in (("gcj02", gcj02_to_wgs84), ("BD-09", bd09_to_wgs84)):
        out = to_wgs84_geometries(gdf, source=source)
        pd.testing.assert_frame_equal(gdf, before)
        assert out.crs.to_epsg() == 4326 and list(out.index) == [5, 6, 7]
        assert list(out["name"]) == ["g0", "g1", "g2"] and out.geometry.iloc[2] is None
        coords = shapely.get_coordinates(poly)
        expected = np.column_stack(func(coords[:, 0], coords[:, 1]))
        np.testing.assert_allclose(shapely.get_coordinates(out.geometry.iloc[0]), expected)
        assert len(out.geometry.iloc[0].interiors) == 1
    assert to_wgs84_geometries(gdf, source="wgs84").geometry.iloc[0].equals(poly)


def test_to_wgs84_geometries_geoseries_and_z() -> None:
    series = gpd.GeoSeries(
        [Point(116.404, 39.915, 42.0), Point(116.404, 39.915)], crs=4326, name="geom"
    )
    out = to_wgs84_geometries(series, source="gcj02")
    assert isinstance(out, gpd.GeoSeries) and out.name == "geom" and out.crs.to_epsg() == 4326
    assert out.iloc[0].has_z and out.iloc[0].z == 42.0 and not out.iloc[1].has_z
    expected = gcj02_to_wgs84(116.404, 39.915)
    assert (out.iloc[0].x, out.iloc[0].y) == pytest.approx(expected, abs=1e-12)
    assert (out.iloc[1].x, out.iloc[1].y) == pytest.approx(expected, abs=1e-12)


def test_to_wgs84_geometries_errors() -> None:
    gdf = frame(Point(116.404, 39.915))
    with pytest.raises(CRSError, match="Unknown source='mars'; use one of wgs84, gcj02, bd09"):
        to_wgs84_geometries(gdf, source="mars")
    with pytest.raises(CRSError, match="projected CRS.*to_wgs84"):
        to_wgs84_geometries(gdf.to_crs(4549), source="gcj02")
    with pytest.raises(CRSError, match="swapped"):
        to_wgs84_geometries(frame(Point(39.915, 116.404), crs=None), source="gcj02")


# --------------------------------------------------------------------------- lon/lat checks


def test_lonlat_bounds_accepted() -> None:
    for bounds in [(120.3, 36.0, 120.5, 36.2), (-180, -90, 180, 90), (2.3, 48.8, 2.4, 48.9)]:
        assert is_lonlat_bounds(bounds)
        check_lonlat(bounds, source_name="x.shp")


@pytest.mark.parametrize(
    "bounds",
    [
        (36.0, 120.3, 36.2, 120.5),  # Qingdao as lat, lon
        (43.7, 87.4, 44.0, 87.8),  # Urumqi: y <= 90, but x 15..55 / y 70..140 is China swapped
        (-33.9, 151.1, -33.8, 151.3),  # Sydney swapped
    ],
)
def test_swapped_axes(bounds: tuple[float, ...]) -> None:
    assert not is_lonlat_bounds(bounds)
    with pytest.raises(
        CRSError,
        match=r"grid\.csv looks like it has longitude and latitude "
        r"swapped.*longitude first \(x\) and latitude second",
    ):
        check_lonlat(bounds, source_name="grid.csv")


def test_projected_coordinates_without_zone() -> None:
    bounds = (500_000, 4_000_000, 510_000, 4_010_000)
    assert not is_lonlat_bounds(bounds) and guess_projected_crs(bounds) == []
    with pytest.raises(
        CRSError,
        match=r"(?s)streets\.shp .*x 500,000 to 510,000.*look projected, "
        r"in metres.*EPSG:4534-4554.*EPSG:4549 for Qingdao.*UTM"
        r".*\.prj.*--crs EPSG:XXXX",
    ):
        check_lonlat(bounds, source_name="streets.shp")


def test_projected_coordinates_with_zone_number() -> None:
    bounds = (40_512_000, 3_990_000, 40_520_000, 4_000_000)  # 3-degree zone 40: CM 120°E
    assert guess_projected_crs(bounds) == [4528, 2364, 2416]
    with pytest.raises(
        CRSError,
        match=r"most likely EPSG:4528 \(CGCS2000\).*EPSG:2364 \(Xi'an "
        r"1980\).*--crs",
    ):
        check_lonlat(bounds, source_name="grid.shp")
    with pytest.raises(CRSError, match=r"x and y look swapped.*EPSG:4528"):
        check_lonlat((3_990_000, 40_512_000, 4_000_000, 40_520_000), source_name="grid.shp")
    six_degree_zone_20 = (20_400_000, 4_000_000, 20_420_000, 4_010_000)  # CM 117°E
    assert guess_projected_crs(six_degree_zone_20) == [4498, 2334, 21420]


@pytest.mark.parametrize(
    "bounds",
    [
        (39_500_000, 4_000_000, 40_500_000, 4_010_000),  # spans two zones
        (46_500_000, 4_000_000, 46_510_000, 4_010_000),  # no such zone
        (40_050_000, 4_000_000, 40_060_000, 4_010_000),  # too far from the central meridian
        (40_500_000, -4_000_000, 40_510_000, -3_990_000),  # south of the equator
        (120.3, 36.0, 120.5, 36.2),
        (float("nan"),) * 4,
    ],
)
def test_guess_projected_crs_declines(bounds: tuple[float, ...]) -> None:
    assert guess_projected_crs(bounds) == []


def test_check_lonlat_other_failures() -> None:
    assert not is_lonlat_bounds((float("nan"),) * 4)
    with pytest.raises(CRSError, match="has no coordinates to check"):
        check_lonlat((float("nan"),) * 4, source_name="layer")
    with pytest.raises(CRSError, match="outside longitude -180..180"):
        check_lonlat((100, 95, 120, 100), source_name="layer")


def test_candidate_codes_are_what_they_claim() -> None:
    assert pyproj.CRS.from_epsg(4528).name == "CGCS2000 / 3-degree Gauss-Kruger zone 40"
    assert pyproj.CRS.from_epsg(2364).name == "Xian 1980 / 3-degree Gauss-Kruger zone 40"
    assert pyproj.CRS.from_epsg(2416).name == "Beijing 1954 / 3-degree Gauss-Kruger zone 40"
    assert pyproj.CRS.from_epsg(4498).name == "CGCS2000 / Gauss-Kruger zone 20"
    assert pyproj.CRS.from_epsg(2334).name == "Xian 1980 / Gauss-Kruger zone 20"
    assert pyproj.CRS.from_epsg(21420).name == "Beijing 1954 / Gauss-Kruger zone 20"
    assert pyproj.CRS.from_epsg(4549).name == "CGCS2000 / 3-degree Gauss-Kruger CM 120E"


# --------------------------------------------------------------------------- to_wgs84


def test_cgcs2000_constant() -> None:
    assert CGCS2000.to_epsg() == 4490 and CGCS2000.is_geographic


def test_to_wgs84() -> None:
    gdf = frame(city_polygon(*QINGDAO))
    projected = gdf.to_crs(4549)
    back = to_wgs84(projected)
    assert back.crs.to_epsg() == 4326 and projected.crs.to_epsg() == 4549
    np.testing.assert_allclose(
        shapely.get_coordinates(back.geometry), shapely.get_coordinates(gdf.geometry), atol=1e-7
    )
    cgcs = gdf.set_crs(CGCS2000, allow_override=True)
    np.testing.assert_allclose(
        shapely.get_coordinates(to_wgs84(cgcs).geometry),
        shapely.get_coordinates(gdf.geometry),
        atol=1e-6,
    )
    assumed = to_wgs84(gdf.geometry.set_crs(None, allow_override=True))
    assert isinstance(assumed, gpd.GeoSeries) and assumed.crs.to_epsg() == 4326
    same = to_wgs84(gdf)
    assert same is not gdf and same.crs.to_epsg() == 4326
    with pytest.raises(CRSError, match="look projected"):
        to_wgs84(projected.set_crs(None, allow_override=True))
    with pytest.raises(CRSError, match="look projected"):  # metres mislabelled as degrees
        to_wgs84(projected.set_crs(4490, allow_override=True))
