"""Reading and writing: formats, encodings, CRS handling, unsafe archives, atomic exports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import UTM, tiny_frames

from geo.district.hierarchy import read_district
from geo.errors import (
    CRSError,
    EmptyInputError,
    GeometryTypeError,
    NotGeodataError,
    UnsafeArchiveError,
)
from geo.io import atomic_path, read_layers, safe_extract_zip, shapefile_encoding, write_units


def model_findings(d):
    return [f for f in d.findings if f.rule.startswith(("hierarchy.", "code.", "geometry."))]


@pytest.fixture
def tiny_gpkg(tmp_path) -> Path:
    """A GeoPackage with odd layer names and Chinese column names."""
    path = tmp_path / "district.gpkg"
    f = tiny_frames()
    rename = {"code": "编码", "name": "名称", "parent_code": "上级编码", "population": "常住人口"}
    for lv, layer in (("street", "jd_2024"), ("community", "sq_2024"), ("grid", "wg_2024")):
        pyogrio.write_dataframe(f[lv].rename(columns=rename), path, layer=layer)
    return path


def test_gpkg_with_chinese_columns_and_any_layer_names(tiny_gpkg):
    d = read_district(tiny_gpkg)
    assert d.levels == ["street", "community", "grid"]
    assert model_findings(d) == []
    assert d.units["street"]["population"].tolist() == [8000, 8000]
    assert d.units["community"]["name"].iloc[0] == "一社区"


def test_layer_and_column_mapping_by_hand(tmp_path):
    f = tiny_frames()["community"].rename(columns={"code": "BM", "name": "MC"})
    path = tmp_path / "units.geojson"
    f.to_file(path, driver="GeoJSON")
    d = read_district(path, level="community", columns={"code": "BM", "name": "MC"})
    assert d.units["community"]["code"].iloc[0] == "370299001001"


def test_folder_of_geojson_files(tmp_path):
    for lv, frame in tiny_frames().items():
        frame.to_file(tmp_path / f"{lv}s.geojson", driver="GeoJSON")
    d = read_district(tmp_path)
    assert d.levels == ["street", "community", "grid"] and model_findings(d) == []


def test_utf8_shapefile_with_cpg_and_gbk_without(tmp_path):
    g = tiny_frames()["grid"]
    utf = tmp_path / "utf" / "wangge.shp"
    utf.parent.mkdir()
    pyogrio.write_dataframe(g, utf, encoding="UTF-8")
    assert utf.with_suffix(".cpg").exists()
    assert read_district(utf).units["grid"]["name"].iloc[0] == "一社区第01网格"
    gbk = tmp_path / "gbk" / "wangge.shp"
    gbk.parent.mkdir()
    pyogrio.write_dataframe(g, gbk, encoding="GBK")
    gbk.with_suffix(".cpg").unlink(missing_ok=True)
    assert shapefile_encoding(gbk)[0] == "GBK"
    d = read_district(gbk)
    assert d.units["grid"]["name"].iloc[0] == "一社区第01网格"
    assert any("no .cpg" in n and "GBK" in n for n in d.notes)


def test_zipped_shapefile(tmp_path):
    out = write_units(tiny_frames(), tmp_path / "export.zip", fmt="shp")[0]
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
    assert {"streets.shp", "streets.cpg", "grids.dbf", "communities.prj"} <= names
    d = read_district(out)
    assert d.levels == ["street", "community", "grid"]
    assert d.units["street"]["name"].tolist() == ["甲街道", "乙街道"]
    assert any("parent_code=parent" in n for n in d.notes)  # the short name is understood
    assert set(d.units["grid"]["population_source"]) == {"given"}


def test_csv_lonlat_points_are_refused_as_units(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("name,lon,lat\n一社区,120.38,36.07\n", encoding="utf-8")
    with pytest.raises(GeometryTypeError, match="1 Point where polygons are expected"):
        read_district(p, level="community")


def test_csv_with_wkt_polygons(tmp_path):
    g = tiny_frames()["community"]
    table = pd.DataFrame(g.drop(columns="geometry"))
    table["wkt"] = g.geometry.to_wkt()
    p = tmp_path / "communities.csv"
    table.to_csv(p, index=False, encoding="gbk")
    d = read_district(p)
    assert d.levels[-1] == "community" and d.units["community"]["name"].iloc[1] == "二社区"


def test_csv_without_coordinates(tmp_path):
    p = tmp_path / "table.csv"
    p.write_text("code,parent_code\n1,2\n")
    with pytest.raises(NotGeodataError, match="without coordinates"):
        read_layers(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.geojson"
    p.write_bytes(b"")
    with pytest.raises(EmptyInputError, match="is empty"):
        read_layers(p)


def test_empty_layer(tmp_path):
    p = tmp_path / "none.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(
        (EmptyInputError, NotGeodataError), match="no features|no geometry|No layer"
    ):
        read_district(p, level="street")


def test_not_geodata(tmp_path):
    p = tmp_path / "notes.geojson"
    p.write_text("These are meeting notes, not a map.")
    with pytest.raises(NotGeodataError, match="could not be read as geodata"):
        read_layers(p)


def test_no_crs_with_projected_coordinates(tmp_path):
    g = tiny_frames()["grid"].to_crs(UTM)
    p = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(g, p)
    p.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match="projected"):
        read_layers(p)
    d = read_district(p, crs=f"EPSG:{UTM}")
    assert model_findings(d) == []


def test_lonlat_swapped(tmp_path):
    g = tiny_frames()["grid"]
    swapped = g.set_geometry(shapely.transform(g.geometry.values, lambda xy: xy[:, ::-1]))
    p = tmp_path / "swapped.geojson"
    swapped.to_file(p, driver="GeoJSON")
    with pytest.raises(CRSError, match="swapped"):
        read_layers(p)


def test_gcj02_input_is_converted(tmp_path):
    from geo.crs import wgs84_to_gcj02

    g = tiny_frames()["grid"]
    shifted = g.set_geometry(
        shapely.transform(
            g.geometry.values,
            lambda xy: __import__("numpy").column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])),
        )
    )
    p = tmp_path / "amap.geojson"
    shifted.to_file(p, driver="GeoJSON")
    back = read_layers(p, coords="gcj02")[0].frame
    err = back.geometry.values[0].hausdorff_distance(g.geometry.values[0])
    assert err < 1e-6
    assert shifted.geometry.values[0].hausdorff_distance(g.geometry.values[0]) > 1e-3


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_zip_slip_is_refused(tmp_path):
    z = make_zip(tmp_path / "evil.zip", {"../../etc/evil.shp": b"x"})
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        safe_extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    z2 = make_zip(tmp_path / "abs.zip", {"/tmp/abs.shp": b"x"})
    with pytest.raises(UnsafeArchiveError, match="points outside"):
        read_layers(z2)


def test_zip_bomb_is_refused(tmp_path):
    z = make_zip(tmp_path / "bomb.zip", {"big.geojson": b"0" * 5_000_000})
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        safe_extract_zip(z, tmp_path / "out")
    z2 = make_zip(tmp_path / "big.zip", {"a.geojson": bytes(range(256)) * 400})
    with pytest.raises(UnsafeArchiveError, match="size cap"):
        safe_extract_zip(z2, tmp_path / "out2", max_bytes=50_000)


def test_geojson_export_is_rfc7946(tmp_path):
    files = write_units(tiny_frames(), tmp_path / "gj", fmt="geojson")
    assert [f.name for f in files] == ["streets.geojson", "communities.geojson", "grids.geojson"]
    doc = json.loads(files[0].read_text(encoding="utf-8"))
    assert "crs" not in doc  # RFC 7946: WGS-84 only, no crs member
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert shapely.LinearRing(ring).is_ccw  # right-hand rule: exterior counter-clockwise
    assert doc["features"][0]["properties"]["name"] == "甲街道"
    assert -180 <= ring[0][0] <= 180 and -90 <= ring[0][1] <= 90


def test_gpkg_and_csv_export_round_trip(tmp_path):
    d = read_district(write_units(tiny_frames(), tmp_path / "x.gpkg", fmt="gpkg")[0])
    assert [n for n, _ in pyogrio.list_layers(tmp_path / "x.gpkg")] == [
        "streets",
        "communities",
        "grids",
    ]
    csv = write_units(d.units, tmp_path / "plan.csv", fmt="csv")[0]
    table = pd.read_csv(csv, dtype=str, encoding="utf-8-sig")
    assert set(table["level"]) == {"street", "community", "grid"}
    assert table.loc[table["code"] == "370299001001", "parent_code"].item() == "370299001000"
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM so spreadsheets read Chinese


def test_assignment_table_moves_a_community(tmp_path, tiny_gpkg):
    d = read_district(tiny_gpkg)
    csv = write_units(d.units, tmp_path / "plan.csv", fmt="csv")[0]
    table = pd.read_csv(csv, dtype=str, encoding="utf-8-sig")
    table.loc[table["code"] == "370299001001", "parent_code"] = "370299002000"
    moved = read_district(tiny_gpkg, assignment=table)
    c = moved.units["community"].set_index("code")
    assert c.loc["370299001001", "parent_code"] == "370299002000"
    assert any(f.rule == "hierarchy.parent_mismatch" for f in moved.findings)


def test_atomic_export_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.gpkg"
    target.write_text("previous export")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.gpkg"]


def test_read_is_wgs84(tiny_gpkg):
    for layer in read_layers(tiny_gpkg):
        assert layer.frame.crs.equals(4326)
        assert isinstance(layer.frame, gpd.GeoDataFrame)


def test_save_uploads_keeps_names_inside_and_caps_size(tmp_path):
    from geo.errors import InputError
    from geo.io import save_uploads

    written = save_uploads([("../../evil.geojson", b"{}"), ("C:\\x\\ok.shp", b"1")], tmp_path)
    assert [p.name for p in written] == ["evil.geojson", "ok.shp"]
    assert all(p.parent == tmp_path for p in written)
    with pytest.raises(InputError, match="more than the limit"):
        save_uploads([("big.geojson", b"0" * 2000)], tmp_path, max_total_bytes=1000)
    with pytest.raises(InputError, match="cannot be used"):
        save_uploads([("..", b"x")], tmp_path)
