"""Boundaries page: propose alternatives, see them side by side as cards, open one on Compare."""

from __future__ import annotations

from urllib.parse import parse_qs

from test_app_pages import app, assert_clean, home  # noqa: F401 - home is a fixture


def test_alternatives_as_cards_each_saved_and_opened_on_compare(home):  # noqa: F811
    at = app(plan="current", lang="en").run()
    assert "round by design" in at.radio(key="propose_mode").options  # the compact mode
    at.session_state["propose_time"] = 1
    at.button(key="alternatives_button").click().run(timeout=600)
    assert_clean(at, "alternatives")
    cards = at.session_state["alternatives"]
    keys = [c["key"] for c in cards]
    assert keys[0] == "fewest" and 1 <= len(cards) <= 3
    assert keys[-1] == "roundest" or len(cards) == 1
    # one card each: a mini map, the figures, a link to Compare carrying the plan
    images = at.get("image")
    assert len(images) >= len(cards)
    text = " ".join(m.value for m in at.markdown)
    for label in ("Residents moved", "Communities moved", "Compactness mean / min",
                  "Margin to the band edges", "Streets in both bands"):
        assert label in text
    for c in cards:
        assert c["svg"].startswith("<svg") and c["svg"].count("<path") >= 9
        assert f"{c['residents_moved']:,.0f}" in text
    compare_links = [parse_qs(el.proto.query_string) for el in at.get("page_link")
                     if "compare" in el.proto.page]
    plans = [c["plan"] for c in cards]
    assert {q["plan"][0] for q in compare_links if q["plan"][0] in plans} == set(plans)
    # the roundest card says whether it meets the compactness target (and why not)
    roundest = cards[-1]
    assert roundest["targets"] is not None
    if not roundest["targets"]["met"]:
        assert any("Compactness target not met" in w.value for w in at.warning)
        assert roundest["why_text"]
    # the link opens the plan on Compare
    at.query_params["plan"] = plans[-1]
    at.switch_page("views/compare.py").run()
    assert_clean(at, "compare")
    assert at.selectbox(key="cmp_after").value == plans[-1]
    # each is saved as a named plan in the project: Compare lists them all
    assert set(plans) <= set(at.selectbox(key="cmp_after").options)
