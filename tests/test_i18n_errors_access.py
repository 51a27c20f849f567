"""Errors a planner meets on the Coverage page read in Chinese, naming their files.

A walking network file that is not a network or holds no walking ways, a
network far from the district, a facilities layer that is empty, has no type
column, holds lines or only unknown types, several layers in one file, units
without population, an audit without facilities, a street table asking for a
type the audit did not cover: each is raised worded
(:meth:`geo.errors.WanggeError.worded`), so the app shows it in Chinese with
the file names filled in. What a library reported (pyrosm's reason, array
names) and rulebook type codes are data and stay as they are.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import assert_chinese, raised, tiny_frames

from geo.access.audit import read_point_layer, run_audit
from geo.access.coverage import normalise_facilities
from geo.access.network import (
    NETWORK_FORMAT,
    network_from_tables,
    read_network,
    save_network,
    synthetic_network,
)
from geo.access.population import demand_points
from geo.access.reach import check_network_reaches
from geo.access.street_coverage import block_reach
from geo.district.hierarchy import build_district
from geo.errors import (
    ColumnError,
    EmptyInputError,
    GeometryTypeError,
    InputError,
    NotGeodataError,
    RulebookError,
)
from geo.plan.base import PlanBase
from geo.rules.rulebook import load_rulebook

RULES = load_rulebook()
TYPE_CODES = tuple(RULES.facilities)


@pytest.fixture(scope="module")
def district():
    return build_district(tiny_frames())







def points(types: list[str], geoms: list[shapely.Geometry] | None = None) -> gpd.GeoDataFrame:
    geoms = geoms or [shapely.Point(120.40 + 0.001 * k, 36.10) for k in range(len(types))]
    return gpd.GeoDataFrame({"type": types, "name": [f"设施{k}" for k in range(len(types))]},
                            geometry=geoms, crs=4326)


# --------------------------------------------------------------------------- walking networks


def saved(tmp_path: Path) -> Path:
    nodes, edges = synthetic_network(9, seed=1)
    return save_network(network_from_tables(nodes, edges), tmp_path / "good.npz")


@pytest.mark.parametrize("case", ["other arrays", "newer", "single array", "not a zip"])
def test_an_npz_that_is_not_a_saved_network(zh, tmp_path, case):
    path = tmp_path / "路网.npz"
    if case == "other arrays":
        np.savez(path, a=np.arange(3))
    elif case == "newer":
        with np.load(saved(tmp_path)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        np.savez(path, **{**arrays, "version": np.array(99)})
    elif case == "single array":
        with path.open("wb") as fh:
            np.save(fh, np.arange(3))
    else:
        path.write_text("not a network", encoding="utf-8")
    exc = raised(lambda: read_network(path), NotGeodataError)
    why = exc.fields["why"]
    args = getattr(why, "args", {})
    exempt = (str(args.get("reason", "")), str(args.get("names", "")), ".npy")  # a format
    text = assert_chinese(zh, exc, path.name, exempt=exempt)
    assert "不是本工具保存的步行路网文件" in text
    if case == "newer":
        assert "格式版本为 99" in text
    assert str(np.array(NETWORK_FORMAT)) not in text


def test_a_file_that_is_not_an_osm_extract(zh, tmp_path):
    path = tmp_path / "会议纪要.osm.pbf"
    path.write_text("街道 社区 网格\n" * 100, encoding="utf-8")
    exc = raised(lambda: read_network(path), NotGeodataError)
    text = assert_chinese(zh, exc, path.name, exempt=(exc.fields["reason"],))
    assert "不完整或已损坏" in text


def test_an_extract_without_walking_ways(zh, tmp_path):
    import pyrosm

    path = tmp_path / "buildings.osm.pbf"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("test_pbf"))
        osm.write_pbf(osm.get_buildings().head(5), str(path), subset_only=True)
    exc = raised(lambda: read_network(path), EmptyInputError)
    text = assert_chinese(zh, exc, path.name)
    assert "没有可步行的道路" in text


def test_a_file_of_another_kind_is_not_a_network(zh, tmp_path):
    path = tmp_path / "路网.geojson"
    path.write_text("{}", encoding="utf-8")
    assert_chinese(zh, raised(lambda: read_network(path), InputError), path.name)


def test_a_network_far_from_the_district(zh, district):
    nodes, edges = synthetic_network(16, seed=2, center_lonlat=(24.94, 60.17))
    net = network_from_tables(nodes, edges, source="helsinki.osm.pbf")
    demand = demand_points(district.units[district.building_block],
                           metric_crs=district.metric_crs)
    _, snap_m = net.snap_lonlat(demand["lon"].to_numpy(), demand["lat"].to_numpy())
    exc = raised(lambda: check_network_reaches(net, demand, snap_m), InputError)
    text = assert_chinese(zh, exc, "helsinki.osm.pbf")
    assert "没有覆盖本辖区" in text and "按直线距离" in text and "0%" in text


# --------------------------------------------------------------------------- facilities


def test_an_audit_without_facilities(zh, district):
    exc = raised(lambda: run_audit(district, RULES), InputError)
    assert "“设施”" in assert_chinese(zh, exc)


def test_an_empty_facilities_layer(zh):
    exc = raised(lambda: normalise_facilities(points([])), EmptyInputError)
    assert "没有任何要素" in assert_chinese(zh, exc)


def test_a_facilities_layer_without_type_column(zh):
    layer = points(["a"]).rename(columns={"type": "用途"})
    exc = raised(lambda: normalise_facilities(layer), ColumnError)
    text = assert_chinese(zh, exc, exempt=("facility_type",))
    assert "类型列" in text


def test_facilities_that_are_lines(zh):
    layer = points(["health_station", "health_station"],
                   [shapely.LineString([(120.4, 36.1), (120.41, 36.1)]),
                    shapely.box(120.4, 36.1, 120.401, 36.101)])
    exc = raised(lambda: normalise_facilities(layer), GeometryTypeError)
    text = assert_chinese(zh, exc)
    assert "线要素、面要素" in text


def test_facilities_of_unknown_types(zh, district):
    layer = points(["spa", "网吧"])
    exc = raised(lambda: run_audit(district, RULES, facilities=layer, straight_line=True),
                 RulebookError)
    text = assert_chinese(zh, exc, "spa", "网吧", exempt=TYPE_CODES)
    assert "规则库" in text


def test_a_facilities_file_with_several_layers(zh, tmp_path):
    path = tmp_path / "设施.gpkg"
    points(["health_station"]).to_file(path, layer="卫生站")
    points(["police_post"]).to_file(path, layer="警务室")
    exc = raised(lambda: read_point_layer(path), InputError)
    assert "多个图层" in assert_chinese(zh, exc, path.name, "卫生站", "警务室")


# --------------------------------------------------------------------------- residents


def test_units_without_population_place_no_residents(zh, district):
    units = district.units[district.building_block].assign(population=np.nan)
    exc = raised(lambda: demand_points(units, metric_crs=district.metric_crs), EmptyInputError)
    assert "人口" in assert_chinese(zh, exc)


def test_street_table_names_the_type_missing_from_the_audit(zh, district):
    base = PlanBase.from_district(district)
    ftype = RULES.facilities["health_station"]
    result = SimpleNamespace(unit_tables={}, rulebook=RULES)
    exc = raised(lambda: block_reach(result, "health_station", base), InputError)
    text = assert_chinese(zh, exc)
    assert ftype.name_zh in text and {"community": "社区", "grid": "网格"}[base.noun] in text
