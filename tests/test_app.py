"""The Streamlit pages through AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    return at.run()


def test_overview_page_shows_streets_and_status():
    at = run_page("overview.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    in_band, judged = metrics["Streets within both bands"].split(" / ")
    assert 0 < int(in_band) < int(judged)
    table = at.dataframe[0].value
    assert {"code", "name", "area_km2", "population", "status"} <= set(table.columns)
    assert {"ok", "outside"} <= set(table["status"])


@pytest.mark.slow
def test_coverage_page_shows_types_and_tables():
    at = run_page("coverage.py")
    assert not at.exception
    assert len(at.metric) >= 4
    assert all(m.value.endswith("%") for m in at.metric)
    assert at.radio[0].value == "community"
    at.selectbox(key="table_type").set_value("health_station").run()
    assert not at.exception
    shown = at.dataframe[2].value
    assert set(shown["type"]) == {"health_station"}
