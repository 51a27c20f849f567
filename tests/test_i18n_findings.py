"""Every finding and every error the library writes can be read in Chinese.

A finding carries its message as an English template and the values that fill
it (:func:`geo.findings.worded`); so does an error raised with
:meth:`geo.errors.WanggeError.worded`. The app translates the template through
the catalogue. The few rules the app writes from a finding's figures instead
(band breaches, the proposer's compactness findings) are listed in
``FROM_FIGURES``. The tests read the library's source, so a new finding or
error without a template fails here, not in front of a planner. The command
line (``geo/cli``) speaks English only and is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FROM_FIGURES = {
    "plan.empty_street", "plan.noncontiguous", "propose.compactness_target",
    "propose.compactness_ceiling", "propose.dense_core", "propose.compactness_search",
}
"""Rules :func:`ui.finding_message` writes from the finding's figures."""


def _finding_calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Finding":
            yield node


def _worded(call: ast.Call) -> bool:
    """``**worded(N_("..."), ...)`` (or a template chosen among such literals earlier)."""
    for kw in call.keywords:
        if kw.arg is None and isinstance(kw.value, ast.Call) and \
                getattr(kw.value.func, "id", None) == "worded":
            return _template(kw.value.args[0] if kw.value.args else None)
    return False


def _from_figures(call: ast.Call) -> bool:
    for kw in call.keywords:
        if kw.arg == "rule" and isinstance(kw.value, ast.Constant) and kw.value.value in \
                FROM_FIGURES:
            return True
        if kw.arg == "message" and isinstance(kw.value, ast.Call) and \
                getattr(kw.value.func, "id", None) == "breach_message":
            return True  # a band breach: written from value, band and deviation
    return False


SOURCES = sorted(p for p in (ROOT / "geo").rglob("*.py") if p.name != "findings.py")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_finding_has_a_template(path):
    bare = [call.lineno for call in _finding_calls(path)
            if not _worded(call) and not _from_figures(call)]
    assert not bare, f"{path.name}: findings without worded(N_(...)) at lines {bare}"


def _error_classes() -> set[str]:
    import inspect

    import geo.errors

    return {name for name, obj in vars(geo.errors).items()
            if inspect.isclass(obj) and issubclass(obj, geo.errors.WanggeError)}


def _marked(node: ast.expr) -> bool:
    """``N_("literal")``: a template the catalogue holds."""
    return (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "N_"
            and bool(node.args) and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str))


def _template(node: ast.expr | None) -> bool:
    """A template argument: ``N_("...")``, a choice between such, or one chosen earlier (a
    name, an item of a table of them, another message's own template)."""
    if isinstance(node, ast.IfExp):
        return _template(node.body) and _template(node.orelse)
    return node is not None and (_marked(node) or isinstance(node, (ast.Name, ast.Subscript,
                                                                      ast.Attribute)))


@pytest.mark.parametrize("path", [p for p in SOURCES if "cli" not in p.parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_error_is_raised_worded(path):
    """``raise SomeError(f"...")`` would show English in the app; ``SomeError.worded(N_(...))``."""
    classes = _error_classes()
    plain, unmarked = [], []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in classes:
            plain.append(node.lineno)
        elif (isinstance(func, ast.Attribute) and func.attr == "worded"
              and isinstance(func.value, ast.Name) and func.value.id in classes):
            if not _template(node.args[0] if node.args else None):
                unmarked.append(node.lineno)
    assert not plain, f"{path.name}: errors made without .worded( on lines {plain}"
    assert not unmarked, f"{path.name}: .worded( without N_(\"...\") on lines {unmarked}"


def test_words_and_phrases_inside_a_finding_are_translated_and_survive_pickling():
    """A band (a phrase with figures) and a level (a word) inside a template, in Chinese."""
    import pickle

    import ui
    from geo.findings import Finding, Phrase, Word, worded
    from geo.rules.bands import band_text

    band = band_text("population", 80_000, 120_000)
    f = Finding(rule="propose.locked", level="street",
                **worded("street {name} ({code}) is locked and breaks {broken}; a locked "
                         "street is left exactly as it is. Unlock it to let the proposal "
                         "change it.", name="宁远街道", code="370299001000",
                         broken=Phrase.joined([band_text("area_km2", 6, 8), band], ", ")))
    assert f.message.startswith("street 宁远街道 (370299001000) is locked and breaks 6–8 km², "
                                "80,000–120,000 residents;")
    again = pickle.loads(pickle.dumps(f))  # the app's caches pickle findings
    assert again == f and again.template == f.template
    before = ui._last_lang[0]
    ui._last_lang[0] = "zh"
    try:
        zh = ui.finding_message(again)
        level = ui.worded_text("{level} {name}", {"level": Word("community"), "name": "grid"})
    finally:
        ui._last_lang[0] = before
    assert "6–8 km²、常住人口 80,000–120,000" in zh and "已锁定" in zh  # joined the Chinese way
    assert level == "社区 grid"  # a word is translated, a name (even an English one) is not


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_phrase_has_a_marked_template(path):
    """``Phrase(f"...")`` would read English in the app: ``Phrase(N_("..."), ...)``."""
    bare = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Phrase":
            if not _template(node.args[0] if node.args else None):
                bare.append(node.lineno)
    assert not bare, f"{path.name}: Phrase without N_(\"...\") on lines {bare}"


def test_the_findings_file_a_planner_downloads_is_in_their_language():
    """Export's findings.csv: the library's columns, the message in the chosen language."""
    import io

    import pandas as pd
    from conftest import in_language

    import ui
    from geo.findings import Finding, Word, worded

    f = Finding(rule="propose.locked", level="street", code="370299001000", name="宁远街道",
                **worded("street {name} ({code}) is locked and breaks {broken}; a locked street "
                         "is left exactly as it is. Unlock it to let the proposal change it.",
                         name="宁远街道", code="370299001000", broken=Word("area")))
    with in_language("en"):
        english = pd.read_csv(io.BytesIO(ui.findings_csv([f])), dtype=str,
                              encoding="utf-8-sig")
    with in_language("zh"):
        chinese = pd.read_csv(io.BytesIO(ui.findings_csv([f])), dtype=str,
                              encoding="utf-8-sig")
    assert list(chinese.columns) == list(english.columns) and "template" not in chinese
    assert english.loc[0, "message"] == f.message
    assert chinese.loc[0, "message"].startswith("街道 宁远街道（370299001000）已锁定")
    assert chinese.loc[0, "code"] == "370299001000"
