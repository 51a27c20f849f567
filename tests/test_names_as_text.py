"""Names are text in every Streamlit element; a URL never creates a stored plan."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import ROOT
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

import ui

HOSTILE = "![i](http://127.0.0.1:9/t.png) <img src=x> **bold** [link](http://x) `c` $x$"


@pytest.mark.parametrize(
    "name", [HOSTILE, "一社区\n# heading", "a_b*c*", "http://127.0.0.1:9/t.png", "\\![x](y)"]
)
def test_plain_renders_as_the_text_itself(name):
    html = MarkdownIt("commonmark").enable("linkify").render(ui.plain(name))
    assert "<img" not in html and "<a " not in html and "<strong" not in html
    assert "<code" not in html and "<h1" not in html
    shown = MarkdownIt("commonmark").render(ui.plain(name))
    expect = " ".join(name.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert shown.strip() == f"<p>{expect}</p>".replace('"', "&quot;")


def test_a_hostile_plan_name_in_the_url_is_shown_as_text_and_not_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["plan"] = HOSTILE
    at.run()
    assert not at.exception
    assert at.session_state["plan"].name == HOSTILE
    titles = [el.value for el in at.title]
    assert titles and all("![i](" not in v for v in titles)
    assert any(ui.plain(HOSTILE) in v for v in titles)
    with sqlite3.connect(tmp_path / "sample.gpkg") as con:
        names = [r[0] for r in con.execute("SELECT name FROM wangge_plans")]
    assert HOSTILE not in names  # visiting stored nothing


def test_export_page_says_when_the_disk_is_full(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "views" / "export.py"), default_timeout=120)
    at.query_params["plan"] = "current"
    import errno
    import os

    import pyogrio

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pyogrio, "write_dataframe", full)
    import streamlit as st

    st.cache_data.clear()  # another test may have left this plan's files in the page's cache
    at.run()
    assert not at.exception
    assert any("磁盘已满" in e.value for e in at.error)  # in the interface language (Chinese)
    assert all("/" not in e.value for e in at.error)  # no server path
