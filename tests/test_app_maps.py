"""The app's maps through AppTest: the printed map on Export, basemap presets, the Data preview."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from conftest import tiny_frames
from PIL import Image
from streamlit.testing.v1 import AppTest

from geo import mapprint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def tiny_project(home) -> str:
    from geo.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_key

    d = build_district(tiny_frames())
    key = district_key(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    return key


def app(page: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def downloads(at: AppTest) -> dict[str, object]:
    return {el.proto.label: el for el in at.get("download_button")}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_export_page_offers_the_plan_map_as_png_and_pdf(tiny_project, lang):
    at = app("views/export.py", project=tiny_project, plan="current", lang=lang)
    labels = {"zh": ("地图 · PNG", "地图 · PDF", "绘制地图", "方案"),
              "en": ("Map · PNG", "Map · PDF", "Draw the map", "plan")}[lang]
    assert labels[0] not in downloads(at)  # drawn only when asked: the page stays fast
    at.button(key="draw_print_map").click().run()
    assert not at.exception, [e.value for e in at.exception]
    shown = downloads(at)
    assert labels[0] in shown and labels[1] in shown
    printed = at.session_state["print_map"]
    assert Image.open(io.BytesIO(printed["png"])).size == mapprint.DEFAULT_SIZE_PX
    assert printed["pdf"].startswith(b"%PDF")
    words = pypdf.PdfReader(io.BytesIO(printed["pdf"])).pages[0].extract_text()
    assert tiny_project in words and labels[3] in words  # the project and the plan shown
    assert "甲街道" in words
    # a move changes the plan: the map drawn for the old state is not offered any more
    at.switch_page("views/boundaries.py").run()
    at.session_state["selection"] = [str(tiny_frames()["community"]["code"].iloc[0])]
    at.selectbox(key="move_target").set_value("370299002000").run()
    at.button(key="move_button").click().run()
    at.switch_page("views/export.py").run()
    assert labels[0] not in downloads(at)
