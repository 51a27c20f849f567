"""The ``wangge`` command through typer's runner: output, formats, exit codes, errors."""

from __future__ import annotations

import json
import re

import pandas as pd
import pyogrio
import pytest
from conftest import tiny_frames
from typer.testing import CliRunner

from geo.cli import app

runner = CliRunner()


@pytest.fixture
def clean_gpkg(tmp_path):
    """A district that meets every default rule: 2 streets of 7 km², 100,000 residents."""
    import geopandas as gpd
    import shapely
    from conftest import UTM, X0, Y0

    rows = {"street": [], "community": [], "grid": []}
    for s in range(2):
        scode = f"370299{s + 1:03d}000"
        sx = X0 + s * 3500
        rows["street"].append(
            {
                "code": scode,
                "name": f"第{s + 1}街道",
                "geometry": shapely.box(sx, Y0, sx + 3500, Y0 + 2000),
            }
        )
        for c in range(14):  # 14 communities of 0.5 km², 7,142 residents
            ccode = f"370299{s + 1:03d}{c + 1:03d}"
            cx, cy = sx + (c % 7) * 500, Y0 + (c // 7) * 1000
            rows["community"].append(
                {
                    "code": ccode,
                    "name": f"{ccode}社区",
                    "parent_code": scode,
                    "geometry": shapely.box(cx, cy, cx + 500, cy + 1000),
                }
            )
            for g in range(2):
                rows["grid"].append(
                    {
                        "code": f"{ccode}{g + 1:02d}",
                        "name": f"{ccode}-{g}网格",
                        "parent_code": ccode,
                        "population": 3571 if g else 3572,
                        "households": 400,
                        "geometry": shapely.box(cx, cy + g * 500, cx + 500, cy + (g + 1) * 500),
                    }
                )
    path = tmp_path / "clean.gpkg"
    for lv, layer in (("street", "streets"), ("community", "communities"), ("grid", "grids")):
        pyogrio.write_dataframe(gpd.GeoDataFrame(rows[lv], crs=UTM).to_crs(4326), path, layer=layer)
    return path


def test_check_clean_district_exits_0(clean_gpkg):
    r = runner.invoke(app, ["check", str(clean_gpkg)])
    assert r.exit_code == 0, r.output
    assert "clean" in r.output and "第1街道" in r.output
    # area km²: 7 km² drawn in UTM, true (equal-area) area within 0.1 % of that
    assert re.search(r"\b(6\.99|7\.0[01])\b", r.output), r.output


def test_check_sample_has_findings_exits_1():
    r = runner.invoke(app, ["check", "--format", "json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["summary"]["levels"]["street"]["units"] >= 9
    rules = {f["rule"] for f in doc["findings"]}
    assert {"street.area_km2", "street.population"} <= rules
    street = doc["units"]["street"][0]
    assert {"code", "name", "area_km2", "population", "households", "status"} <= set(street)


def test_check_csv(clean_gpkg):
    r = runner.invoke(app, ["check", str(clean_gpkg), "--format", "csv"])
    assert r.exit_code == 0
    from io import StringIO

    table = pd.read_csv(StringIO(r.stdout), dtype={"code": str})
    assert set(table["level"]) == {"street", "community", "grid"}
    assert (table.loc[table["level"] == "street", "status"] == "ok").all()


def test_check_other_rulebook(clean_gpkg, tmp_path):
    rules = tmp_path / "strict.toml"
    rules.write_text(
        '[[rules]]\nid="street.population"\nlevel="street"\nmeasure="population"\n'
        'min=150000\nsource="a stricter city"\nstatus="confirmed"\n'
    )
    r = runner.invoke(app, ["check", str(clean_gpkg), "--rules", str(rules)])
    assert r.exit_code == 1
    assert "street.population" in r.output


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"not a map at all", "could not be read as geodata"),
    ],
)
def test_unusable_input_exits_2_without_traceback(tmp_path, content, match):
    p = tmp_path / "bad.geojson"
    p.write_bytes(content)
    r = runner.invoke(app, ["check", str(p)])
    assert r.exit_code == 2
    assert match in r.output
    assert "Traceback" not in r.output


def test_bad_rulebook_exits_2(tmp_path):
    rules = tmp_path / "bad.toml"
    rules.write_text(
        '[[rules]]\nid="x"\nlevel="street"\nmeasure="population"\nmin=9\nmax=1\nsource="s"\n'
    )
    r = runner.invoke(app, ["check", "--rules", str(rules)])
    assert r.exit_code == 2 and "greater than max" in r.output


def test_level_option_and_bad_pairs(tmp_path):
    p = tmp_path / "x.geojson"
    tiny_frames()["community"].drop(columns=["name"]).assign(code=list("abcd")).to_file(
        p, driver="GeoJSON"
    )
    r = runner.invoke(app, ["check", str(p)])
    assert r.exit_code == 2 and "--level" in r.output
    r = runner.invoke(app, ["check", str(p), "--level", "community"])
    assert r.exit_code in (0, 1), r.output
    r = runner.invoke(app, ["check", str(p), "--layer", "nonsense"])
    assert r.exit_code == 2 and "NAME=LEVEL" in r.output or "KEY=VALUE" in r.output


@pytest.mark.parametrize(
    ("fmt", "target", "expect"),
    [
        ("geojson", "out", ["streets.geojson", "communities.geojson", "grids.geojson"]),
        ("gpkg", "out.gpkg", ["out.gpkg"]),
        ("shp", "out.zip", ["out.zip"]),
        ("csv", "out.csv", ["out.csv"]),
    ],
)
def test_export_every_format(clean_gpkg, tmp_path, fmt, target, expect):
    r = runner.invoke(
        app, ["export", str(clean_gpkg), "--to", str(tmp_path / target), "--format", fmt]
    )
    assert r.exit_code == 0, r.output
    base = tmp_path / target if fmt == "geojson" else tmp_path
    for name in expect:
        assert (base / name).exists()


def test_sample_command_writes_the_sample(tmp_path):
    r = runner.invoke(app, ["sample", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "s" / "sample_district.gpkg").exists()
    r = runner.invoke(
        app, ["check", str(tmp_path / "s" / "sample_district.gpkg"), "--format", "json"]
    )
    doc = json.loads(r.stdout)
    assert doc["summary"]["levels"]["grid"]["units"] > 1000
    assert not [f for f in doc["findings"] if f["rule"].startswith(("hierarchy.", "code."))]


def test_names_and_errors_with_brackets_are_printed_as_text(tmp_path):
    frames = tiny_frames()
    frames["street"] = frames["street"].assign(name=["[/b]甲街道", "[bold]乙街道"])
    p = tmp_path / "streets.geojson"
    frames["street"].to_file(p, driver="GeoJSON")
    r = runner.invoke(app, ["check", str(p), "--level", "street"])
    assert r.exit_code in (0, 1), r.output
    assert "[/b]甲街道" in r.output and "[bold]乙街道" in r.output
    r = runner.invoke(app, ["site", "--type", "clinic", "-k", "1"])
    assert r.exit_code == 2 and "[facilities.clinic]" in r.output


def test_show_limits_the_unit_tables_printed():
    r = runner.invoke(app, ["check", "--show", "street"])
    assert r.exit_code == 1
    assert "street level" in r.output and "grid level" not in r.output
    assert "Summary" in r.output and "grid " in r.output  # the summary still covers grids
    r = runner.invoke(app, ["check", "--show", "block"])
    assert r.exit_code == 2 and "--show takes street" in r.output
