"""Every CSV wangge writes is safe to open in Excel, WPS or LibreOffice (OWASP: CSV injection)."""

from __future__ import annotations

import csv
import io

import pandas as pd
from conftest import tiny_frames
from typer.testing import CliRunner

from geo.cli import app
from geo.io import csv_safe, write_units

HOSTILE = {
    "370299001001": '=HYPERLINK("http://127.0.0.1:9/x","点我")',
    "370299001002": "+1+cmd|' /C calc'!A0",
    "370299002001": "-2+3",
    "370299002002": "@SUM(1,1)",
}


def _hostile_frames():
    frames = tiny_frames()
    frames["community"]["name"] = frames["community"]["code"].map(HOSTILE)
    frames["grid"].loc[0, "name"] = "\tTAB"
    frames["grid"].loc[1, "name"] = "\rCR"
    return frames


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_safe_prefixes_formula_text_and_leaves_numbers():
    frame = pd.DataFrame(
        {
            "name": ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "plain", "-12.5", None],
            "population": [-5, 1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    safe = csv_safe(frame)
    assert safe["name"][:8].tolist() == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "'\rx", "plain",
                                         "-12.5"]  # fmt: skip
    assert pd.isna(safe["name"][8])  # missing stays missing
    assert safe["population"].tolist() == frame["population"].tolist()
    assert frame["name"][0] == "=1+1"  # the input is untouched


def test_assignment_csv_export_neutralises_names(tmp_path):
    path = write_units(_hostile_frames(), tmp_path / "plan.csv", fmt="csv")[0]
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = _rows(fh.read())
    names = {r["code"]: r["name"] for r in rows}
    for code, name in HOSTILE.items():
        assert names[code] == "'" + name
    assert all(not r["name"].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows)
    assert {r["code"] for r in rows} >= set(HOSTILE)  # codes are digits, unchanged
    assert len(rows) == 2 + 4 + 8  # the carriage return stayed inside its cell
    assert pd.read_csv(path, dtype=str, encoding="utf-8-sig")["name"].str.startswith("'").sum() == 6


def test_check_csv_output_neutralises_names(tmp_path):
    gpkg = write_units(_hostile_frames(), tmp_path / "d.gpkg", fmt="gpkg")[0]
    r = CliRunner().invoke(app, ["check", str(gpkg), "--format", "csv"])
    assert r.exit_code in (0, 1), r.output
    rows = _rows(r.stdout)
    names = {row["name"] for row in rows}
    assert "'@SUM(1,1)" in names and "@SUM(1,1)" not in names
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    pops = [row["population"] for row in rows if row.get("population")]
    assert pops and all(not p.startswith("'") for p in pops)
