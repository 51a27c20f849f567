"""Printed maps of a plan (PNG and PDF) for reports, from the library and the CLI.

The tiny district: two streets of three communities each, 4 km × 2 km::

    +------+------+------+------+
    | 甲 communities | 乙 communities |
    +------+------+------+------+
"""

from __future__ import annotations

import datetime as dt
import io
import logging

import numpy as np
import pypdf
import pytest
from conftest import tiny_frames
from PIL import Image
from typer.testing import CliRunner

from geo.cli import app
from geo.district.hierarchy import build_district
from geo.errors import InputError, WriteError
from geo.i18n import text
from geo.maps import mapprint
from geo.plan.model import Plan

DAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def plan() -> Plan:
    p = Plan.from_district(build_district(tiny_frames()))
    p.set_locked(p.streets[0].code, True)
    return p


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_png_has_the_asked_size_and_draws_the_streets_fills(plan):
    data = mapprint.plan_map_bytes(plan, fmt="png", district_name="示例区", lang="zh", day=DAY,
                                   size_px=(1200, 800), dpi=100)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == (1200, 800)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    colours = {tuple(int(v) for v in row) for row in np.unique(pixels, axis=0)}
    assert len(colours) > 50  # not a blank page
    white = np.all(pixels == 255, axis=1).mean()
    assert white < 0.9
    # both street fills are drawn (the palette's first two colours)
    for hex_colour in mapprint.CATEGORICAL_PALETTE[:2]:
        rgb = tuple(int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))
        assert (np.all(pixels == rgb, axis=1)).sum() > 1000, hex_colour


def test_pdf_holds_title_legend_scale_and_north_in_the_chosen_language(plan):
    data = mapprint.plan_map_bytes(plan, fmt="pdf", district_name="示例区", plan_name="方案B",
                                   lang="zh", day=DAY)
    assert data.startswith(b"%PDF")
    words = _pdf_text(data)
    assert "示例区 · 方案 方案B · 2026-12-01" in words.replace("\n", " ") or "示例区" in words
    assert "2026-12-01" in words and "方案B" in words
    assert text("dashed: locked street", "zh") in words  # the legend, in Chinese
    assert text("outline: outside a band", "zh") in words
    assert "北" in words  # north arrow
    assert " km" in words or " m" in words  # metric scale bar
    assert "mi" not in words.split()  # never imperial
    assert "甲街道" in words and "乙街道" in words  # street names are data, drawn as they are
    meta = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert meta.title.startswith("示例区")


def test_english_map_speaks_english(plan):
    words = _pdf_text(mapprint.plan_map_bytes(plan, fmt="pdf", district_name="Sample",
                                              lang="en", day=DAY))
    assert "Sample · plan current · 2026-12-01" in words
    assert "dashed: locked street" in words and "Legend" in words


def test_every_text_of_the_map_has_a_chinese_translation():
    for key, message in mapprint.TEXTS.items():
        assert text(message, "zh", n=1, district="d", plan="p", date="x", rules="r") != \
            message.format(n=1, district="d", plan="p", date="x", rules="r"), key


@pytest.mark.parametrize(("span", "length", "label"), [
    (4400.0, 500.0, "500 m"), (10_000.0, 2000.0, "2 km"), (12_000.0, 2500.0, "2.5 km"),
    (180.0, 25.0, "25 m"), (80.0, 10.0, "10 m"), (50_000.0, 10_000.0, "10 km")])
def test_scale_bar_takes_a_round_metric_length(span, length, label):
    assert mapprint.nice_length_m(span) == length
    assert mapprint.format_length(length) == label


def test_scale_bar_rejects_an_empty_map():
    with pytest.raises(InputError, match="positive width"):
        mapprint.nice_length_m(0.0)


def test_local_crs_is_metric_and_true_to_scale_across_the_district():
    crs = mapprint.local_crs((120.30, 36.05, 120.42, 36.12))
    import pyproj

    factors = pyproj.Proj(crs).get_factors([120.30, 120.42], [36.05, 36.12])
    assert crs.axis_info[0].unit_name == "metre"
    assert np.all(np.abs(np.asarray(factors.meridional_scale) - 1) < 1e-4)


def test_missing_chinese_font_is_a_warning_not_silent_boxes(plan, monkeypatch, caplog):
    monkeypatch.setattr(mapprint, "chinese_font", lambda: None)
    with caplog.at_level(logging.WARNING, logger="geo.maps.mapprint"):
        data = mapprint.plan_map_bytes(plan, fmt="png", district_name="示例区", lang="zh",
                                       size_px=(600, 400), dpi=60)
    assert data.startswith(b"\x89PNG")
    assert any("fonts-noto-cjk" in r.getMessage() for r in caplog.records)


def test_a_chinese_font_is_found_here():
    # the machine that runs the tests has fonts-wqy-microhei or Noto CJK installed
    assert mapprint.chinese_font() is not None


def test_write_is_atomic_and_names_the_format(plan, tmp_path, monkeypatch):
    target = tmp_path / "map.pdf"
    target.write_bytes(b"old")
    with pytest.raises(InputError, match=r"\.png or \.pdf"):
        mapprint.write_plan_map(plan, tmp_path / "map.svg", district_name="x")

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mapprint, "_save", full_disk)
    with pytest.raises(WriteError, match="disk is full"):
        mapprint.write_plan_map(plan, target, district_name="x")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.pdf"]


def test_bad_size_is_refused(plan):
    with pytest.raises(InputError, match="200 × 150"):
        mapprint.plan_map_figure(plan, district_name="x", size_px=(10, 10))


# ----------------------------------------------------------------------------- CLI
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    frames = tiny_frames()
    for level in ("street", "community"):
        frames[level].to_file(folder / f"{level}.geojson", driver="GeoJSON")
    return [str(folder / "street.geojson"), str(folder / "community.geojson")]


def test_cli_map_writes_png_and_pdf(tiny_files, tmp_path):
    png, pdf = tmp_path / "out" / "map.png", tmp_path / "out" / "map.pdf"
    result = runner.invoke(app, ["map", *tiny_files, "--to", str(png), "--to", str(pdf),
                                 "--title", "测试区", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert Image.open(png).size == mapprint.DEFAULT_SIZE_PX
    words = _pdf_text(pdf.read_bytes())
    assert "测试区" in words and text("current", "zh") in words
    assert str(png) in result.output.replace("\n", "")


@pytest.mark.parametrize(("args", "message"), [
    (["--to", "map.svg"], ".png or .pdf"),
    (["--lang", "fr"], "zh or en"),
    (["--plan", "B"], "no such plan"),
])
def test_cli_map_refuses_bad_options_with_exit_2(tiny_files, tmp_path, args, message):
    result = runner.invoke(app, ["map", *tiny_files, "--project", str(tmp_path / "p.gpkg"),
                                 *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_cli_map_of_streets_only_is_exit_2(tiny_files, tmp_path):
    result = runner.invoke(app, ["map", tiny_files[0], "--to", str(tmp_path / "m.png")])
    assert result.exit_code == 2
    assert "finer level" in " ".join(result.output.split())


def test_cli_map_of_a_full_disk_is_exit_2(tiny_files, tmp_path, monkeypatch):
    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mapprint, "_save", full_disk)
    result = runner.invoke(app, ["map", *tiny_files, "--to", str(tmp_path / "m.pdf")])
    assert result.exit_code == 2
    assert "disk is full" in " ".join(result.output.split())


def test_a_name_with_dollar_signs_is_drawn_as_typed():
    frames = tiny_frames()
    frames["street"].loc[0, "name"] = "$a^2$街道"
    p = Plan.from_district(build_district(frames))
    words = _pdf_text(mapprint.plan_map_bytes(p, fmt="pdf", district_name="x", lang="en"))
    assert "$a^2$街道" in words


def test_neighbouring_streets_never_share_a_fill_on_paper(sample_built):
    p = Plan.from_district(sample_built)
    codes = list(p.street_table()["code"])
    colours = mapprint.street_colours(p, codes)
    assert len(codes) > len(mapprint.CATEGORICAL_PALETTE)  # the editor's colours repeat here
    base, street_of = p.base, np.asarray(p.assignment)
    blocks = np.repeat(np.arange(len(base.indptr) - 1), np.diff(base.indptr))
    a, b = street_of[blocks], street_of[base.indices]
    pairs = {(p.streets[x].code, p.streets[y].code) for x, y in zip(a, b, strict=True) if x != y}
    assert pairs
    assert all(colours[x] != colours[y] for x, y in pairs)
    palette = mapprint.CATEGORICAL_PALETTE
    kept = sum(colours[c] == palette[k % len(palette)] for k, c in enumerate(codes))
    assert kept >= len(codes) - 2  # the editor's colours wherever they do not clash
