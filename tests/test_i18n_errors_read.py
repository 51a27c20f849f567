"""Reading errors read in Chinese: the files planners upload, gone wrong the usual ways.

A file that is not geodata, an empty file or layer, points where boundaries are
expected, projected or swapped coordinates without a CRS, a column that is not
numbers or holds codes a spreadsheet mangled, a zip pointing outside itself, a
layer whose level cannot be told: each error is shown through
:func:`ui.error_text` in Chinese. It must differ from the English, hold no
English word (the user's file and column names, and what GDAL or a library
reported, are left as they are), and still name the file or column concerned.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from conftest import UTM, chinese_problems, in_chinese, tiny_frames

from geo.district.hierarchy import read_district
from geo.district.ingest import assign_levels
from geo.errors import (
    ColumnError,
    CRSError,
    EmptyInputError,
    GeometryTypeError,
    LevelError,
    NotGeodataError,
    UnsafeArchiveError,
    WanggeError,
)
from geo.io import read_layers

ROOT = Path(__file__).resolve().parent.parent


def check(exc: WanggeError, *names: str, exempt: tuple[str, ...] = ()) -> str:
    """Assert the Chinese differs, has no English words and names ``names``; return it."""
    assert exc.template, f"raised without a template: {exc}"
    with in_chinese() as ui:
        text = ui.error_text(exc)
    assert not chinese_problems(str(exc), text, keep=names, exempt=exempt), text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    for name in names:
        assert name in text, (name, text)
    return text


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_a_file_that_is_not_geodata(tmp_path):
    p = tmp_path / "会议纪要.geojson"
    p.write_text("These are meeting notes, not a map.")
    with pytest.raises(NotGeodataError) as info:
        read_layers(p)
    text = check(info.value, p.name, exempt=(str(info.value.fields["reason"]),))
    assert "无法作为地理数据读取" in text


def test_an_empty_file_in_a_zip_names_the_file_inside(tmp_path):
    z = make_zip(tmp_path / "街道.zip", {"streets.geojson": b""})
    with pytest.raises(EmptyInputError) as info:
        read_layers(z)
    text = check(info.value, "streets.geojson")
    assert "zip 压缩包内" in text and "0 字节" in text


def test_an_empty_layer(tmp_path):
    p = tmp_path / "communities.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises((EmptyInputError, NotGeodataError)) as info:
        read_district(p, level="street")
    check(info.value, p.name)


def test_points_instead_of_boundaries(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("name,lon,lat\n一社区,120.38,36.07\n二社区,120.39,36.08\n", encoding="utf-8")
    with pytest.raises(GeometryTypeError) as info:
        read_district(p, level="community")
    text = check(info.value, "pts.csv")
    assert "2 个点" in text and "多边形" in text


def test_lines_and_missing_shapes_are_named_as_kinds():
    from geo.io import require_polygons

    f = tiny_frames()["street"].copy()
    f["geometry"] = [f.geometry.iloc[0].boundary, None]
    with pytest.raises(GeometryTypeError) as info:
        require_polygons(f, "streets.shp")
    text = check(info.value, "streets.shp")
    assert "1 个线" in text and "1 个空几何" in text


def test_projected_coordinates_without_a_crs(tmp_path):
    g = tiny_frames()["grid"].to_crs(UTM)
    p = tmp_path / "grids.shp"
    pyogrio.write_dataframe(g, p)
    p.with_suffix(".prj").unlink()
    with pytest.raises(CRSError) as info:
        read_layers(p)
    text = check(info.value, p.name)
    assert "投影坐标" in text and "无坐标系文件所用的坐标系" in text


def test_gauss_krueger_eastings_with_a_zone_number_name_the_epsg_codes():
    from geo.crs import check_lonlat

    with pytest.raises(CRSError) as info:
        check_lonlat((40_512_345, 4_000_000, 40_513_000, 4_001_000), source_name="网格.dxf")
    text = check(info.value, "网格.dxf")
    assert "EPSG:4528" in text and "西安 1980" in text


def test_longitude_and_latitude_swapped(tmp_path):
    g = tiny_frames()["grid"]
    swapped = g.set_geometry(shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1]))
    p = tmp_path / "swapped.geojson"
    swapped.to_file(p, driver="GeoJSON")
    with pytest.raises(CRSError) as info:
        read_layers(p)
    assert "颠倒" in check(info.value, p.name)


def test_an_unknown_crs_typed_in(tmp_path):
    p = tmp_path / "streets.geojson"
    tiny_frames()["street"].to_file(p, driver="GeoJSON")
    with pytest.raises(CRSError) as info:
        read_layers(p, crs="EPSG:45xx")
    check(info.value, "'EPSG:45xx'")


def test_coordinates_that_are_not_numbers(tmp_path):
    p = tmp_path / "points.csv"
    p.write_text("名称,经度,纬度\n甲,120.38,36.07\n乙,东经120度,36.08\n", encoding="utf-8")
    with pytest.raises(ColumnError) as info:
        read_layers(p)
    text = check(info.value, "points.csv", "'经度'", "'纬度'")
    assert "第 3 行" in text


def test_codes_a_spreadsheet_mangled(tmp_path):
    f = tiny_frames()["community"]
    f = f.assign(BM=[f"3.7029900{i}E+11" for i in range(len(f))]).drop(columns="code")
    more = gpd.GeoDataFrame(
        {"BM": [f"3.70299{i}E+11" for i in range(5)], "name": [f"社区{i}" for i in range(5)],
         "geometry": list(f.geometry.iloc[:1]) * 5}, crs=f.crs)
    p = tmp_path / "sq.geojson"
    gpd.pd.concat([f, more], ignore_index=True).to_file(p, driver="GeoJSON")
    with pytest.raises(ColumnError) as info:
        read_district(p, level="community", columns={"code": "BM"})
    text = check(info.value, p.name, "'BM'", exempt=("E+11",))
    assert "第 1 行" in text and "另有" in text and "科学计数法" in text


def test_a_zip_pointing_outside_itself(tmp_path):
    z = make_zip(tmp_path / "evil.zip", {"../../etc/evil.shp": b"x"})
    with pytest.raises(UnsafeArchiveError) as info:
        read_layers(z)
    text = check(info.value, "evil.zip", "'../../etc/evil.shp'")
    assert "压缩包之外" in text


def test_a_zip_that_is_not_a_zip(tmp_path):
    z = tmp_path / "shp.zip"
    z.write_bytes(b"PK but not really")
    with pytest.raises(NotGeodataError) as info:
        read_layers(z)
    check(info.value, "shp.zip", exempt=(str(info.value.fields["reason"]),))


def test_a_csv_without_coordinates_names_the_columns_it_looks_for(tmp_path):
    p = tmp_path / "人口.csv"
    p.write_text("社区,人口\n一社区,3000\n", encoding="utf-8")
    with pytest.raises(NotGeodataError) as info:
        read_layers(p)
    fields = info.value.fields
    # the columns it looks for and the command line's option are names, kept as they are
    text = check(info.value, p.name, exempt=(fields["lon_names"], fields["lat_names"],
                                            "`wangge check DISTRICT --assign FILE.csv`",
                                            "code", "parent_code"))
    assert "经度" in text and "命令行" in text


def _osm_layer(levels: list[int]):
    from geo.io import Layer

    f = tiny_frames()["community"].iloc[: len(levels)].reset_index(drop=True)
    return Layer("boundaries.geojson", "boundaries", f.assign(admin_level=levels), ())


def test_a_level_that_cannot_be_told():
    with pytest.raises(LevelError) as info:
        assign_levels([_osm_layer([8, 9, 10])])
    text = check(info.value, "boundaries.geojson", "admin_level")
    assert "层级" in text


@pytest.mark.parametrize("levels", [[6, 6], [11, 11]])
def test_only_a_coarser_or_finer_admin_level(levels):
    with pytest.raises(LevelError) as info:
        assign_levels([_osm_layer(levels)])
    text = check(info.value, "boundaries.geojson", "admin_level", "一社区")
    assert "为该图层选择层级" in text

