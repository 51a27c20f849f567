"""Errors of exports, uploads, assignment tables and the printed map read in Chinese.

An export that cannot be written (a folder of that name, a full disk, no
permission), a layer without code or name columns, two layers on one level, an
assignment table that does not fit the district, a map in a format that is
neither PNG nor PDF: each is raised worded
(:meth:`geo.errors.WanggeError.worded`), so the app shows it in Chinese with the
file and layer names filled in.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_chinese, raised, tiny_frames

from geo.district.hierarchy import build_district
from geo.district.ingest import assign_levels
from geo.district.links import apply_assignment
from geo.errors import ColumnError, InputError, LevelError, PlanError, WriteError
from geo.io import Layer, write_units
from geo.maps import mapprint
from geo.plan.model import Plan


@pytest.fixture(scope="module")
def district():
    return build_district(tiny_frames())







def test_an_export_onto_a_folder_of_that_name(zh, tmp_path):
    target = tmp_path / "plan.gpkg"
    target.mkdir()
    exc = raised(lambda: write_units(tiny_frames(), target, fmt="gpkg"), WriteError)
    assert str(exc).startswith("Could not write plan.gpkg: Is a directory.")
    text = assert_chinese(zh, exc, "plan.gpkg")
    assert "文件夹" in text


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "磁盘已满"),
    (errno.EACCES, "没有写入该位置的权限"),
    (errno.EROFS, "只读"),
    (errno.EFBIG, "大小"),
    (errno.ENAMETOOLONG, "文件名过长"),
])
def test_an_export_that_cannot_be_written(zh, tmp_path, monkeypatch, code, words):
    def refuse(src, dst):
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    exc = raised(lambda: write_units(tiny_frames(), tmp_path / "plan.csv", fmt="csv"),
                 WriteError)
    assert isinstance(exc, WriteError) and exc.errno == code
    assert words in assert_chinese(zh, exc, "plan.csv")


def test_a_layer_without_code_or_name_columns(zh):
    frames: dict[str, object] = {**tiny_frames()}
    streets = tiny_frames()["street"].rename(columns={"code": "字段一", "name": "字段二"})
    frames["street"] = Layer(source="街道.geojson", name="街道", frame=streets)  # as uploaded
    exc = raised(lambda: build_district(frames), ColumnError)
    text = assert_chinese(zh, exc, "街道.geojson", "字段一, 字段二")
    assert "“代码”" in text and "“名称”" in text  # the Data page's column boxes


def test_two_layers_on_one_level_and_none_chosen(zh):
    frames = tiny_frames()
    a = Layer(source="streets_a.geojson", name="streets_a", frame=frames["street"])
    b = Layer(source="streets_b.geojson", name="streets_b", frame=frames["street"])
    exc = raised(lambda: assign_levels([a, b], layer_levels={"streets_a": "street",
                                                             "streets_b": "street"}),
                 LevelError)
    names = ("streets_a.geojson", "streets_b.geojson", "streets_b")
    text = assert_chinese(zh, exc, *names, exempt=names)
    assert "街道图层" in text and "社区" in text
    exc = raised(lambda: assign_levels([a, b], layer_levels={"other": "street"}), LevelError)
    assert "选择层级" in assert_chinese(zh, exc)


def test_an_assignment_table_that_does_not_fit(zh, district):
    exc = raised(lambda: apply_assignment(district.units, pd.DataFrame({"code": ["1"]})),
                 ColumnError)
    assert "归属表" in assert_chinese(zh, exc, exempt=("parent_code", "code", "level",
                                                       "`wangge export --format csv`"))
    table = pd.DataFrame({"code": ["999", "998"], "parent_code": ["1", "1"]})
    exc = raised(lambda: apply_assignment(district.units, table), ColumnError)
    assert_chinese(zh, exc, "999, 998", exempt=("code", "`wangge export --format csv`"))


def test_the_printed_map_names_its_formats(zh, district, tmp_path):
    plan = Plan.from_district(district)
    exc = raised(lambda: mapprint.write_plan_map(plan, tmp_path / "map.svg", district_name="x"),
                 InputError)
    assert_chinese(zh, exc, "'map.svg'", exempt=("map.svg",))
    exc = raised(lambda: mapprint.nice_length_m(0.0), InputError)
    assert "米" in assert_chinese(zh, exc)


def test_plans_of_two_districts_are_not_compared(zh, district):
    mine = Plan.from_district(district, name="甲方案")
    frames = tiny_frames()  # another district: one community fewer
    kept = frames["community"].iloc[:-1]
    frames["community"] = kept
    frames["grid"] = frames["grid"][frames["grid"]["parent_code"].isin(kept["code"])]
    theirs = Plan.from_district(build_district(frames), name="乙方案")
    exc = raised(lambda: mine.compare(theirs), PlanError)
    assert_chinese(zh, exc, "'甲方案'", "'乙方案'")


def test_a_missing_batch_folder(zh, tmp_path):
    from geo.batch import district_sources

    missing = tmp_path / "districts"
    exc = raised(lambda: district_sources([missing]), InputError)
    assert_chinese(zh, exc, str(missing), exempt=(str(missing),))
    exc = raised(lambda: district_sources([Path(tmp_path)]), InputError)
    assert_chinese(zh, exc)
