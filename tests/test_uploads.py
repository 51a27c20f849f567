"""Uploads: kept inside the project folder, both of two same-named files kept, one size limit."""

from __future__ import annotations

import os
import time

import pytest

from geo import settings
from geo.errors import InputError
from geo.io import save_uploads
from geo.project import new_upload_dir


def test_two_uploads_with_the_same_name_are_both_kept(tmp_path):
    paths = save_uploads(
        [("a/streets.geojson", b"one"), ("b\\streets.geojson", b"two"), ("streets.geojson", b"3")],
        tmp_path,
    )
    assert [p.name for p in paths] == ["streets.geojson", "streets (2).geojson",
                                       "streets (3).geojson"]  # fmt: skip
    assert [p.read_bytes() for p in paths] == [b"one", b"two", b"3"]


def test_a_name_past_255_bytes_is_shortened_keeping_its_suffix(tmp_path):
    name = "街道" * 60 + ".geojson"  # 368 bytes in UTF-8
    (path,) = save_uploads([(name, b"{}")], tmp_path)
    assert path.suffix == ".geojson" and len(path.name.encode()) <= 255
    assert path.read_bytes() == b"{}"


def test_the_size_limit_is_one_number_in_words(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "upload_max_mb", 1)
    with pytest.raises(InputError, match=r"total 1\.5 MB, more than the limit of 1 MB"):
        save_uploads([("a.geojson", b"x" * (2**20)), ("b.geojson", b"x" * 2**19)], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_upload_folders_live_in_the_project_folder_and_old_ones_go(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    old = new_upload_dir()
    (old / "district.gpkg").write_bytes(b"data")
    week_ago = time.time() - 7 * 86400
    os.utime(old, (week_ago, week_ago))
    fresh = new_upload_dir()
    assert fresh.parent == tmp_path / "uploads" and fresh.is_dir()
    assert not old.exists()
    again = new_upload_dir()
    assert fresh.exists() and again != fresh
