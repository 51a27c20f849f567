"""No silent drops: a Shapefile whose parts disagree is refused; infinite figures are findings."""

from __future__ import annotations

import struct
import zipfile

import numpy as np
import pyogrio
import pytest
from conftest import tiny_frames
from typer.testing import CliRunner

from geo.cli import app
from geo.district.hierarchy import read_district
from geo.errors import InputError
from geo.io import read_layers, shapefile_record_counts, write_units


@pytest.fixture
def grids_shp(tmp_path):
    """The tiny district's 8 grids as a loose Shapefile."""
    folder = tmp_path / "shp"
    folder.mkdir()
    grids = tiny_frames()["grid"].rename(columns={"parent_code": "parent"})
    pyogrio.write_dataframe(grids, folder / "grids.shp", encoding="UTF-8")
    return folder / "grids.shp"


def _cut_dbf(shp, keep: int) -> None:
    """Keep the first ``keep`` records of the .dbf, header count updated to match."""
    dbf = shp.with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    header_len, record_len = struct.unpack("<HH", raw[8:12])
    raw[4:8] = struct.pack("<I", keep)
    dbf.write_bytes(bytes(raw[: header_len + keep * record_len]) + b"\x1a")


def _cut_shx(shp, keep: int) -> None:
    shx = shp.with_suffix(".shx")
    raw = bytearray(shx.read_bytes()[: 100 + 8 * keep])
    raw[24:28] = struct.pack(">I", len(raw) // 2)
    shx.write_bytes(bytes(raw))


def test_counts_of_a_whole_shapefile_agree(grids_shp):
    assert shapefile_record_counts(grids_shp) == {".shp": 8, ".shx": 8, ".dbf": 8}
    assert len(read_layers(grids_shp)[0].frame) == 8


def test_dbf_with_fewer_records_than_the_shp_is_refused(grids_shp):
    _cut_dbf(grids_shp, 5)
    assert shapefile_record_counts(grids_shp)[".dbf"] == 5
    with pytest.raises(InputError, match=r"grids\.shp has 8 shapes but grids\.dbf 5"):
        read_layers(grids_shp)


def test_shx_with_fewer_records_is_refused(grids_shp):
    _cut_shx(grids_shp, 3)
    with pytest.raises(InputError, match=r"grids\.shx 3.*export the layer again"):
        read_layers(grids_shp)


def test_zipped_shapefile_with_a_short_dbf_exits_2(grids_shp, tmp_path):
    _cut_dbf(grids_shp, 5)
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in grids_shp.parent.iterdir():
            zf.write(part, part.name)
    r = CliRunner().invoke(app, ["check", str(archive), "--level", "grid"])
    assert r.exit_code == 2, r.output
    assert "8 shapes" in r.output and "Traceback" not in r.output


def test_infinite_population_is_an_error_finding_not_a_crash(tmp_path):
    frames = tiny_frames()
    grids = frames["grid"]
    grids["population"] = grids["population"].astype(float)
    grids.loc[0, "population"] = np.inf
    path = write_units(frames, tmp_path / "inf.gpkg", fmt="gpkg")[0]
    district = read_district(path)
    bad = [f for f in district.findings if f.rule == "population.not_a_number"]
    assert len(bad) == 1 and bad[0].severity == "error" and bad[0].code == grids["code"][0]
    assert np.isnan(district.units["grid"].set_index("code").loc[grids["code"][0], "population"])
    r = CliRunner().invoke(app, ["check", str(path)])
    assert r.exit_code == 1, r.output  # a finding, not an internal error
    assert "population.not_a_number" in r.output
