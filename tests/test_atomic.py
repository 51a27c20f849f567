"""Writes are atomic as a whole: a GeoJSON export folder is swapped in at once, nothing leaks.

exports/            exports/             exports/
  out/  (old)  -->    .out.xyz/out/  -->   out/  (new, whole)
                      (being written)
"""

from __future__ import annotations

import ast
import errno
import os
import time
from pathlib import Path

import pyogrio
import pytest
from conftest import ROOT, tiny_frames

from geo._atomic import atomic_path, write_text_atomic
from geo.errors import InputError, WriteError
from geo.io import write_units


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_geojson_export_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    frames = tiny_frames()
    write_units(frames, out, fmt="geojson")
    inode_before = out.stat().st_ino
    smaller = dict(frames)
    del smaller["grid"]  # the new export has no grids: the old grids file must not survive
    files = write_units(smaller, out, fmt="geojson")
    assert sorted(p.name for p in out.iterdir()) == ["communities.geojson", "streets.geojson"]
    assert sorted(p.name for p in files) == ["communities.geojson", "streets.geojson"]
    assert out.stat().st_ino != inode_before  # a new folder, swapped in
    assert _hidden(tmp_path) == []


def test_geojson_export_failing_midway_keeps_the_old_folder_exactly(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_units(tiny_frames(grid_population=1000), out, fmt="geojson")
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def second_fails(frame, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # streets written, communities fail
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", second_fails)
    with pytest.raises(WriteError, match="disk is full"):
        write_units(tiny_frames(grid_population=3000), out, fmt="geojson")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old  # no new streets beside old grids
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv"])
def test_single_file_exports_leave_no_temporary_files_on_failure(tmp_path, monkeypatch, fmt):
    def fail(*args, **kwargs):
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))

    monkeypatch.setattr(pyogrio, "write_dataframe", fail)
    monkeypatch.setattr("pandas.DataFrame.to_csv", fail)
    with pytest.raises(WriteError, match="size this system allows"):
        write_units(tiny_frames(), tmp_path / "plan", fmt=fmt)
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_swaps_files_and_folders_and_cleans_up(tmp_path):
    target = tmp_path / "page.html"
    write_text_atomic(target, "one\n")
    write_text_atomic(target, "two\n")
    assert target.read_text() == "two\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    folder = tmp_path / "dir"
    for text in ("a", "b"):
        with atomic_path(folder) as tmp:
            tmp.mkdir()
            (tmp / "f.txt").write_text(text)
    assert (folder / "f.txt").read_text() == "b"
    with pytest.raises(KeyError), atomic_path(folder) as tmp:
        tmp.mkdir()
        raise KeyError("interrupted")
    assert (folder / "f.txt").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "page.html"]


def test_export_to_no_name_is_refused(tmp_path):
    for bad in ("", ".", "..", "/"):
        with pytest.raises(InputError, match="names no file or folder"):
            write_units(tiny_frames(), bad, fmt="gpkg")


def test_one_atomic_write_helper_in_the_code_base():
    """Only geo/_atomic.py renames a temporary file into place."""
    found = []
    for path in sorted((ROOT / "geo").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("replace", "rename", "mkstemp")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("os", "tempfile")
            ):
                found.append(path.name)
    assert set(found) == {"_atomic.py"}


def test_what_a_killed_writer_left_is_removed_by_the_next_write(tmp_path):
    out = tmp_path / "out"
    write_units(tiny_frames(), out, fmt="geojson")
    dead = tmp_path / ".out.999999999.abcd1234"  # no such process
    (dead / "out").mkdir(parents=True)
    (dead / "out" / "streets.geojson").write_text("{half")
    live = tmp_path / f".out.{os.getpid()}.efgh5678"  # a writer still running
    live.mkdir()
    young = tmp_path / ".out.999999998.ijkl9012"  # too recent to judge
    young.mkdir()
    hour_ago = time.time() - 2 * 3600
    for path in (dead, live):
        os.utime(path, (hour_ago, hour_ago))
    write_units(tiny_frames(), out, fmt="geojson")
    assert _hidden(tmp_path) == sorted([live.name, young.name])


def test_an_exclusive_write_never_replaces_an_existing_file(tmp_path):
    target = tmp_path / "district.gpkg"
    write_units(tiny_frames(), target, fmt="gpkg", exclusive=True)
    before = target.read_bytes()
    with pytest.raises(FileExistsError):
        write_units(tiny_frames(grid_population=1), target, fmt="gpkg", exclusive=True)
    assert target.read_bytes() == before
    assert _hidden(tmp_path) == []


def test_an_upload_hitting_a_full_disk_is_a_write_error(tmp_path, monkeypatch):
    from geo.io import save_uploads

    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(WriteError, match=r"Could not write streets\.geojson: the disk is full"):
        save_uploads([("streets.geojson", b"{}")], tmp_path)
