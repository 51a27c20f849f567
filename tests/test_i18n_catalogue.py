"""One catalogue for the interface: complete, in step with the code, and every page in Chinese.

The pages are rendered through AppTest in Chinese and every text a user can
read (titles, captions, messages, labels, options, help, table headers and
text cells, links, download buttons, metrics) is searched for English words.
Only names that are the same in both languages (file formats, CRS names,
units) are allowed; the audit's provenance (file and method names) is taken
from the result and left out. Findings are not: every one is translated from
its template (tests/test_i18n_findings.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from babel.messages.pofile import read_po
from streamlit.testing.v1 import AppTest

from geo.i18n import catalogue_path, compile_catalogues, text, translations

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "geojson", "geopackage", "shapefile", "csv", "json", "rfc", "wgs", "utf", "cpg", "zip",
    "png", "pdf",  # the printed map's file formats
    "km", "epsg", "gcj", "bd", "cgcs", "wkt", "lon", "lat", "shp", "dbf", "shx", "prj", "osm",
    "pbf", "npz", "mb", "url", "type", "name", "floor_area_m2",  # column names in the format
    "utm", "zone", "n",  # "WGS 84 / UTM zone 51N", the name of a CRS
    "english",  # the language switch names each language in itself
}
WORD = re.compile(r"[A-Za-z][A-Za-z_]+")


def _po():
    with catalogue_path("zh").open("rb") as f:
        return read_po(f, locale="zh")


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    cat = _po()
    ids = [m for m in cat if m.id]
    assert len(ids) > 150
    untranslated = [m.id for m in ids if not m.string or m.fuzzy]
    assert not untranslated, untranslated
    problems = [(m.id, err) for m in ids for err in m.check(cat)]
    assert not problems, problems
    for m in ids:  # names and format specs alike ({area:,.2f})
        assert set(re.findall(r"{(\w+[^}]*)}", m.id)) == set(re.findall(r"{(\w+[^}]*)}",
                                                                       m.string)), m.id


def test_the_catalogue_holds_every_string_the_app_marks():
    from babel.messages.extract import extract_from_file

    marked = set()
    sources = [ROOT / "app.py", ROOT / "ui.py", *sorted((ROOT / "views").glob("*.py")),
               *sorted((ROOT / "geo").rglob("*.py"))]
    for path in sources:  # the same files as `make messages` (findings' templates too)
        for _line, msg, _comments, _ctx in extract_from_file(
                "python", str(path), keywords={"_": None, "N_": None, "t": None}):
            marked.add(msg if isinstance(msg, str) else msg[0])
    known = {m.id for m in _po() if m.id}
    assert marked - known == set(), "run `make messages` and translate the new entries"
    assert known - marked == set(), "entries no longer used: run `make messages`"


def test_compiled_catalogue_translates_and_fills_placeholders(tmp_path):
    assert text("Boundaries", "zh") == "街道边界"
    assert text("Boundaries", "en") == "Boundaries"
    assert text("{n} residents", "zh", n="1,234") == "常住人口 1,234"
    assert text("no such message", "zh") == "no such message"
    # compiling writes a .mo that gettext reads back
    locale = tmp_path / "locale"
    (locale / "zh" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "zh" / "LC_MESSAGES" / "wangge.po").write_bytes(catalogue_path("zh").read_bytes())
    [mo] = compile_catalogues(locale)
    import gettext

    with mo.open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("Undo") == "撤销"
    assert translations("zh").gettext("Redo") == "重做"


def test_why_the_compactness_target_is_missed_reads_in_chinese():
    """The findings the roundest card shows, written from their figures in Chinese."""
    import ui
    from geo.findings import Finding

    ceiling = Finding(rule="propose.compactness_ceiling", level="district", severity="info",
                      value=0.3712, minimum=0.40, message="Even a mix ... not a proof.")
    target = Finding(rule="propose.compactness_target", level="district", severity="warning",
                     value=0.3088, minimum=0.40, message="the roundest plan found has ...")
    before = ui._last_lang[0]
    ui._last_lang[0] = "zh"
    try:
        texts = [ui.finding_message(f) for f in (ceiling, target)]
    finally:
        ui._last_lang[0] = before
    assert "0.37" in texts[0] and "0.40" in texts[0] and "估计" in texts[0]
    assert "0.31" in texts[1]
    assert not [w for t in texts for w in WORD.findall(t) if w.lower() not in ALLOWED]


def test_the_proposers_progress_stages_read_in_chinese():
    """Each stage the alternatives report ("search: stage", numbers inside) in Chinese."""
    import ui

    before = ui._last_lang[0]
    ui._last_lang[0] = "zh"
    try:
        texts = [
            f"{ui.stage_text(head)}: {ui.stage_text(tail)}"
            for head, tail in (
                ("round by design", "compact start 3/16"),
                ("least change, rounder", "recombining pairs of streets"),
                ("drawn afresh", "growing 9 streets"),
                ("least change, recombined", "searching (10 streets)"),
                ("round by design, fewer moved", "estimating how round the streets can be"),
            )
        ]
    finally:
        ui._last_lang[0] = before
    assert "3/16" in texts[0] and "9" in texts[2] and "10" in texts[3]
    assert ui.stage_text("{park} 2") == "{park} 2"  # a facility's name, braces and all
    assert ui.stage_text("{park}") == "{park}"
    assert not [w for t in texts for w in WORD.findall(t) if w.lower() not in ALLOWED], texts


def visible_texts(at: AppTest) -> list[str]:
    """Every text a user can read on the rendered page."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning",
                 "success", "error"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [f"{m.label} {m.value}" for m in at.metric]
    out += [e.label for e in at.expander]
    for kind in ("button", "checkbox", "text_input", "number_input", "toggle"):
        out += [e.label for e in getattr(at, kind)]
        out += [e.help or "" for e in getattr(at, kind)]
    for kind in ("selectbox", "radio", "multiselect"):
        for e in getattr(at, kind):
            out += [e.label, e.help or "", *map(str, e.options)]
    for kind in ("download_button", "page_link"):
        out += [e.proto.label for e in at.get(kind)]
    for df in at.dataframe:
        frame = df.value
        out += [str(c) for c in frame.columns]
        for col in frame.columns:  # text columns (object, or pandas' own string dtype)
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                out += [str(v) for v in frame[col]]
    return out


def english_words(texts: list[str], exempt: set[str]) -> dict[str, str]:
    """English words in ``texts``, leaving out the ``exempt`` passages wherever they occur."""
    found = {}
    for t in texts:
        for passage in sorted(exempt, key=len, reverse=True):
            if passage:
                t = t.replace(passage, " ")
        for w in WORD.findall(t):
            if w.lower() not in ALLOWED:
                found.setdefault(w, t[:120])
    return found


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("page", ["views/boundaries.py", "views/compare.py", "views/overview.py",
                                  "views/export.py", "views/data.py"])
def test_each_page_in_chinese_has_no_english_words(home, page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["lang"] = "zh"
    at.run()
    if page != "views/boundaries.py":
        at.switch_page(page).run()
    assert not at.exception
    import ui

    # the rulebook's own name is data; findings are all translated
    words = english_words(visible_texts(at), {ui.rulebook().name})
    assert not words, words


@pytest.mark.slow
def test_coverage_page_in_chinese_has_no_english_words(home):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["lang"] = "zh"
    at.run()
    at.switch_page("views/coverage.py").run()
    assert not at.exception
    at.button(key="propose_sites").click().run()
    assert not at.exception
    result = at.session_state["coverage_result"]
    assert at.session_state["siting"] is not None
    import ui

    # data the audit names, as typed and as shown (escaped): the rulebook's file, the CRS;
    # the provenance's words are translated
    data = (result.rulebook.name, result.rulebook.path, result.provenance["metric_crs"])
    # facility type keys name the rulebook table to edit ([facilities.health_station])
    library = {*data, *map(ui.plain, data), *result.rulebook.facilities}
    words = english_words(visible_texts(at), library)
    assert not words, words


@pytest.mark.slow
def test_alternatives_cards_in_chinese_have_no_english_words(home):
    """The cards of fewest / balanced / roundest, with their targets, read in Chinese."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params["lang"] = "zh"
    at.query_params["plan"] = "current"
    at.run()
    at.session_state["propose_time"] = 1
    at.button(key="alternatives_button").click().run(timeout=600)
    assert not at.exception
    cards = at.session_state["alternatives"]
    assert cards and any(c.get("targets") for c in cards)
    import ui

    # plan names are the planner's (or the tool's stems), data like the rulebook's name
    exempt = {ui.rulebook().name}
    assert all(c["plan"].startswith("备选-") for c in cards)  # named in Chinese too
    texts = visible_texts(at)
    assert any("平均紧凑度 ≥" in t for t in texts)  # each target with its figure
    words = english_words(texts, exempt)
    assert not words, words


@pytest.mark.parametrize("page", ["views/boundaries.py", "views/compare.py", "views/overview.py",
                                  "views/export.py", "views/data.py"])
def test_a_messy_real_shaped_district_reads_in_chinese_on_every_page(home, page):
    """Names without codes, residents missing for some communities, a community spilling
    over its street: the findings, notes and refusals the pages show are all Chinese."""
    from conftest import UTM

    from geo.district.hierarchy import build_district
    from geo.io import write_units
    from geo.project import district_fingerprint
    from geo.sample.build import sample_district

    frames = {lv: f.drop(columns=["code", "parent_code"]) for lv, f in
              sample_district().items() if lv != "grid"}
    comm = frames["community"]
    comm.loc[comm.index[:4], ["population", "households"]] = None  # not given: never zero
    moved = comm.loc[[comm.index[5]], "geometry"].to_crs(UTM).translate(150, 0).to_crs(4326)
    comm.loc[comm.index[5], "geometry"] = moved.iloc[0]  # overlaps its neighbour
    d = build_district(frames, link="spatial")
    key = district_fingerprint(d)
    write_units(d.units, home / f"district-{key}.gpkg", fmt="gpkg")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=240)
    at.query_params["lang"] = "zh"
    at.query_params["project"] = key
    at.query_params["plan"] = "current"
    at.run()
    if page != "views/boundaries.py":
        at.switch_page(page).run()
    assert not at.exception
    import ui

    texts = visible_texts(at)
    if page == "views/overview.py":  # the check names the gap and the missing figures
        assert any("空隙" in t for t in texts) and any("没有常住人口" in t for t in texts)
    words = english_words(texts, {ui.rulebook().name, key})  # the project's key is a hash
    assert not words, words
