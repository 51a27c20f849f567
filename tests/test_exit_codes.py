"""One exit-code contract for every command: 0 clean, 1 findings, 2 unusable, 3 internal error.

Each case here once ended in a raw traceback with exit code 1 (the code for "findings").
"""

from __future__ import annotations

import errno
import io
import os
import resource
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pyogrio
import pyogrio.errors
import pytest
from conftest import ROOT, tiny_frames
from typer.testing import CliRunner

import geo.cli
import geo.report
from geo.cli import app
from geo.io import write_units

runner = CliRunner()


@pytest.fixture
def tiny_gpkg(tmp_path):
    return write_units(tiny_frames(), tmp_path / "tiny.gpkg", fmt="gpkg")[0]


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path / "home"))


def _leftovers(folder: Path) -> list[str]:
    """Hidden temporary files or folders an export left beside its target."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _unusable(r, *words: str) -> None:
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert "error:" in r.output
    for word in words:
        assert word in r.output, r.output


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"", ("is empty", "export --format csv")), (bytes(range(256)) * 8, ("binary",))],
)
def test_empty_or_binary_assign_table_exits_2(tiny_gpkg, tmp_path, content, words):
    table = tmp_path / "plan.csv"
    table.write_bytes(content)
    r = runner.invoke(app, ["check", str(tiny_gpkg), "--assign", str(table)])
    _unusable(r, *words)


def _lying_zip(path: Path, delta: int) -> Path:
    """A zipped GeoJSON whose headers state a size ``delta`` bytes off the real one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("units.geojson", '{"type":"FeatureCollection","features":[]}' * 40)
    raw = bytearray(buf.getvalue())
    real = struct.unpack("<I", raw[22:26])[0]
    fake = struct.pack("<I", real + delta)
    raw[22:26] = fake  # local file header: uncompressed size
    cd = raw.find(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = fake  # central directory: uncompressed size
    path.write_bytes(bytes(raw))
    return path


def test_zip_whose_header_lies_about_sizes_exits_2(tmp_path):
    r = runner.invoke(app, ["check", str(_lying_zip(tmp_path / "lies.zip", -100))])
    _unusable(r, "lies.zip", "does not match", "Re-create the archive")


def test_export_to_empty_name_exits_2_and_writes_nothing(tiny_gpkg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for fmt in ("geojson", "gpkg", "shp", "csv"):  # the tiny district: the sample adds nothing
        r = runner.invoke(app, ["export", str(tiny_gpkg), "--to", "", "--format", fmt])
        _unusable(r, "names no file or folder", "--to")
    assert sorted(os.listdir(tmp_path)) == before


def _full_disk(after_bytes: int = 100):
    """A ``pyogrio.write_dataframe`` that starts writing, then hits a full disk."""

    def write(frame, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"x" * after_bytes)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    return write


@pytest.mark.parametrize(("fmt", "name"), [("gpkg", "out.gpkg"), ("geojson", "out")])
def test_full_disk_during_export_exits_2_and_keeps_the_old_export(
    tiny_gpkg, tmp_path, monkeypatch, fmt, name
):
    out = tmp_path / "exports"
    target = out / name
    first = runner.invoke(app, ["export", str(tiny_gpkg), "--to", str(target), "--format", fmt])
    assert first.exit_code == 0, first.output
    old = {p.name: p.read_bytes() for p in ([target] if target.is_file() else target.iterdir())}

    monkeypatch.setattr(pyogrio, "write_dataframe", _full_disk())
    r = runner.invoke(app, ["export", str(tiny_gpkg), "--to", str(target), "--format", fmt])
    _unusable(r, "disk is full", "Nothing was replaced")
    now = {p.name: p.read_bytes() for p in ([target] if target.is_file() else target.iterdir())}
    assert now == old
    assert _leftovers(out) == []


def test_gdal_write_error_exits_2(tiny_gpkg, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise pyogrio.errors.DataLayerError("sqlite3_step() failed: database or disk is full")

    monkeypatch.setattr(pyogrio, "write_dataframe", fail)
    r = runner.invoke(app, ["export", str(tiny_gpkg), "--to", str(tmp_path / "x.gpkg"),
                            "--format", "gpkg"])  # fmt: skip
    _unusable(r, "GDAL reports", "disk is full")
    assert _leftovers(tmp_path) == []


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_file_size_limit_during_shapefile_export_exits_2(tmp_path):
    """``ulimit -f`` in a real process: the Shapefile writer fails with EFBIG (File too large)."""
    cmd = [sys.executable, "-c", "from geo.cli import main; main()", "export", "--format", "shp",
           "--to", str(tmp_path / "out.zip")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANGGE_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, preexec_fn=_limit_file_size, timeout=300
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "out.zip" in proc.stderr and "too large" in proc.stderr.lower()
    assert not (tmp_path / "out.zip").exists()
    assert _leftovers(tmp_path) == []


def test_internal_error_exits_3_with_one_line_naming_the_log(tiny_gpkg, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(geo.report, "check_report", broken)
    r = runner.invoke(app, ["check", str(tiny_gpkg)])
    assert r.exit_code == 3, r.output
    assert "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if "internal error" in line]
    assert len(lines) == 1
    logs = list((tmp_path / "home" / "logs").glob("wangge-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "ZeroDivisionError: a bug" in text

    debug = runner.invoke(app, ["--debug", "check", str(tiny_gpkg)])
    assert debug.exit_code == 3
    assert "Traceback" in debug.output and "ZeroDivisionError" in debug.output


def test_clean_findings_and_usage_errors_keep_their_codes(tiny_gpkg, tmp_path):
    findings = runner.invoke(app, ["check", str(tiny_gpkg)])
    assert findings.exit_code == 1, findings.output  # 4 km² streets are outside the bands
    usage = runner.invoke(app, ["check", str(tiny_gpkg), "--format", "xml"])
    assert usage.exit_code == 2
    done = runner.invoke(app, ["export", str(tiny_gpkg), "--to", str(tmp_path / "ok.csv"),
                               "--format", "csv"])  # fmt: skip
    assert done.exit_code == 0, done.output


def test_geojson_export_refuses_a_folder_holding_other_files(tiny_gpkg, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    r = runner.invoke(app, ["export", str(tiny_gpkg), "--to", str(folder)])
    _unusable(r, "holds other files", "notes.txt")
    assert (folder / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["export", "--to", "x"],
        ["audit", "--to", "a", "--straight-line"],
        ["site", "--type", "community_service_centre", "-k", "1"],
        ["propose"],
    ],
)
def test_every_command_turns_a_bug_into_exit_3(monkeypatch, tmp_path, args):
    def broken(*a, **k):
        raise KeyError("a bug")

    command = getattr(geo.cli, args[0])  # each command's module binds the library's loader
    monkeypatch.setattr(command, "load_rulebook", broken)
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, args)
    assert r.exit_code == 3, r.output
    assert "internal error" in r.output and "Traceback" not in r.output
