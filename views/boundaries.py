"""Boundaries: move communities between streets, with live checks and a saved edit log."""

import json
import logging
import time

import folium
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from folium.plugins import Draw
from streamlit_folium import st_folium

import ui
from geo import settings
from geo.maps.basemaps import (
    add_basemap,
    geometry_to_wgs84,
    point_to_display,
    point_to_wgs84,
)
from geo.maps.editor import (
    MIN_TOLERANCE_M,
    features,
    geojson_texts,
    label_points,
    street_outlines,
    tooltip_values,
)
from geo.maps.held import HeldLayer, HeldLayers
from geo.maps.view import (
    CATEGORICAL_PALETTE,
    STATUS_LINE,
    MapSetup,
    add_legend,
    base_map,
    make_offline,
    unit_map,
)
from geo.plan.selection import (
    block_at,
    blocks_within,
    click_number,
    clicked_point,
    drawn_geometry,
    toggle,
)

MAP_KEY = "edit_map"
MODES = ui.PROPOSAL_MODES
_ = ui._
log = logging.getLogger("wangge.app")
started = time.perf_counter()

# ------------------------------------------------------- a district that cannot be edited
district, label, _path = ui.district()
problem = ui.edit_problem(district)
if problem is not None:
    st.title(_("Boundaries"))
    st.info(problem)
    c1, c2 = st.columns(2)
    c1.page_link("views/overview.py", label=_("Check this district"), icon="🏙️",
                 query_params=ui.carried())
    c2.page_link("views/export.py", label=_("Export it as it is"), icon="📦",
                 query_params=ui.carried())
    finest = district.building_block
    units = district.units[finest]
    view = unit_map(units, setup=MapSetup(height=560), tooltip_columns=["name", "code"],
                    tooltip_aliases=[_("name"), _("code")], layer_name=finest)
    add_legend(view, label, [("#4c78a8", _(ui.LEVEL_NAMES[finest]))])
    ui.with_basemap(view)
    st_folium(view, key="view_only_map", height=560, use_container_width=True,
              returned_objects=[])
    st.stop()

plan, store, _district = ui.plan()
base = plan.base
rb = ui.rulebook()
read_only = plan.name == ui.ORIGINAL

st.title(f"{_('Boundaries')} · {ui.plain(ui.plan_label(plan.name))}")
st.caption(_("Click communities on the map to select them, or draw a rectangle or polygon.")
           + " " + _("Every step is saved as it happens."))
if read_only:
    st.info(_("The original plan is kept as it was loaded. Save it under a new name (sidebar) "
              "and edit that plan."))

# ---------------------------------------------------------------- map interactions
def take_map_input(base) -> list[str]:
    """Apply the map's last click or drawing to the selection (each once); return the selection."""
    selection: list[str] = st.session_state.setdefault("selection", [])
    state = st.session_state.get(MAP_KEY)
    click = clicked_point(state)
    if click is not None:  # clicks and drawings come back in the basemap's coordinates
        click = point_to_wgs84(*click, basemap)
    stamp = None if click is None else (click, click_number(state))
    if stamp is not None and stamp != st.session_state.get("handled_click"):
        st.session_state["handled_click"] = stamp
        code = block_at(base, *click)
        if code is not None:
            selection = toggle(selection, [code])
    drawing = drawn_geometry(state)
    if drawing is not None:
        drawing = geometry_to_wgs84(drawing, basemap)
    if drawing is not None and drawing != st.session_state.get("handled_drawing"):
        st.session_state["handled_drawing"] = drawing
        if drawing["type"] in ("Polygon", "MultiPolygon"):
            picked = blocks_within(base, drawing)
            selection = list(dict.fromkeys(selection + picked))
        elif drawing["type"] in ("LineString", "MultiLineString"):
            st.session_state["split_line"] = drawing
    selection = [c for c in selection if c in base.index]  # a split or another district
    st.session_state["selection"] = selection
    return selection


# ------------------------------------------------------------------- edit callbacks
@ui.callback
def do_find() -> None:
    """Select the communities whose name (or whose street's name) holds the text; zoom there."""
    text = (st.session_state.get("find_text") or "").strip()
    if not text:
        return
    p, _s, _d = ui.plan()
    b = p.base
    hits = [str(c) for c, n in zip(b.codes, b.names, strict=True) if text in str(n or "")]
    if not hits:
        assign = p.assignment_frame()
        hits = [str(c) for c, sn in zip(assign["code"], assign["street_name"], strict=True)
                if text in str(sn or "")]
    if not hits:
        st.session_state["edit_error"] = _("No community or street is named like {text}.",
                                           text=text)
        return
    st.session_state["selection"] = hits
    k = b.index[hits[0]]
    st.session_state["find_focus"] = (float(b.lat[k]), float(b.lon[k]))


@ui.callback
def do_move() -> None:
    target = st.session_state.get("move_target")
    chosen = st.session_state.get("selection", [])
    if target and chosen:
        ui.apply(lambda p: p.move(chosen, target))
        st.session_state["selection"] = []


@ui.callback
def do_new_street() -> None:
    name = (st.session_state.get("new_street_name") or "").strip()
    if not name:
        st.session_state["edit_error"] = _("Give the new street a name.")
        return

    def create(p):
        street = p.new_street(name=name)
        st.session_state["move_target"] = street.code
        return p.last_edit

    ui.apply(create)


@ui.callback
def do_undo() -> None:
    p, s, _d = ui.plan()
    link = ui.split_step(p, s, "undo")
    if link is not None:  # nothing left to undo here: go back to the plan before the split
        ui.cross_split(link)
        return
    ui.apply(lambda p: p.undo())


@ui.callback
def do_redo() -> None:
    p, s, _d = ui.plan()
    link = ui.split_step(p, s, "redo")
    if link is not None:  # nothing left to redo here: go forward to the plan after the split
        ui.cross_split(link)
        return
    ui.apply(lambda p: p.redo())


@ui.callback
def do_split() -> None:
    chosen = st.session_state.get("selection", [])
    line = st.session_state.get("split_line")
    if len(chosen) != 1 or line is None:
        st.session_state["edit_error"] = _("Select one community, draw a line across it, then "
                                           "split.")
        return
    info = ui.split_and_reopen(chosen[0], line)
    st.session_state["edit_note"] = _(
        "{old} → {a}, {b} ({method}); every plan was carried over to the new district. Undo "
        "takes the split back.",
        old=info["old"], a=info["new"][0], b=info["new"][1], method=info["method"])


def chosen_mode() -> str:
    """The proposal mode the radio holds, whatever language its label was drawn in."""
    return ui.proposal_mode(st.session_state.get("propose_mode"))


@ui.callback
def do_propose() -> None:
    from geo.propose.search import propose_plan

    p, s, _d = ui.plan()
    proposal = propose_plan(p, ui.rulebook(), mode=chosen_mode(),
                            time_limit_s=float(st.session_state.get("propose_time", 30)),
                            compactness_weight=1.0 if st.session_state.get("propose_round")
                            else 0.0, progress=ui.progress_bar(_("Proposing a plan…")))
    name = proposal.plan.name = s.free_name(proposal.plan.name)
    s.save_plan(p, if_absent=True)  # the plan it started from, if not stored yet
    s.save_plan(proposal.plan)
    st.query_params["plan"] = name
    sm = proposal.summary
    note = _("Saved as {name}: {before} → {after} streets within both bands; {moved} "
             "communities moved ({residents} residents).", name=name,
             before=sm["in_band_before"], after=sm["in_band_after"],
             moved=sm["communities_moved"], residents=ui.number(sm["residents_moved"]))
    if not sm["feasible"]:
        note += " " + _("Not every street can meet both bands; see the notes below the button.")
    before, after = sm.get("compactness_mean_before"), sm.get("compactness_mean_after")
    if after is not None and before:
        note += " " + _("Compactness {before} → {after}.", before=ui.number(before, 2),
                        after=ui.number(after, 2))
        if sm.get("elongated"):
            note += " " + _("The bands were met with elongated streets; look at the shapes, or "
                            "tick 'prefer rounder streets'.")
    bound = sm.get("lower_bound") or {}
    if bound.get("lower_bound") is not None:
        note += " " + _("At least {n} residents must move for every street to be in band (a "
                        "bound that ignores contiguity).", n=ui.number(bound["lower_bound"]))
    st.session_state["edit_note"] = note
    st.session_state["proposal_moves"] = (name, sm.get("moves", []))
    st.session_state["proposal_findings"] = [ui.finding_message(f) for f in proposal.findings
                                             if f.rule.startswith("propose.")]


@ui.callback
def do_alternatives() -> None:
    from geo.maps.minimap import plan_svg
    from geo.propose.alternatives import (
        WHY_RULES,
        compare_alternatives,
        propose_alternatives,
    )

    p, s, _d = ui.plan()
    taken = set(s.list_plans()["name"])
    word = _("alternative")  # plans are named in the planner's language: 备选-调整最少 …
    stem, n = word, 1
    while any(name.startswith(f"{stem}-") for name in taken):
        n += 1
        stem = f"{word}{n}"
    alts = propose_alternatives(p, ui.rulebook(), seed=20170419,
                                time_limit_s=float(st.session_state.get("propose_time", 30)),
                                name=stem, progress=ui.progress_bar(_("Proposing alternatives…")))
    s.save_plan(p, if_absent=True)  # the plan they started from, if not stored yet
    for alt in alts:
        kind = alt.key.split("-")[0]
        alt.proposal.plan.name = f"{stem}-{_(ALTERNATIVE_NAMES.get(kind, kind))}"
        alt.proposal.summary["plan"] = alt.proposal.plan.name
    cards = []
    for alt, row in zip(alts, compare_alternatives(alts), strict=True):
        s.save_plan(alt.proposal.plan)
        why = [ui.finding_message(f) for f in alt.proposal.findings if f.rule in WHY_RULES]
        cards.append({**row, "svg": plan_svg(alt.proposal.plan), "why_text": why})
    st.session_state["alternatives"] = cards
    st.session_state["edit_note"] = _(
        "Saved {n} alternatives: {names}. Compare them below the map.",
        n=len(cards), names=", ".join(c["plan"] for c in cards))


ALTERNATIVE_TITLES = {"fewest": ui.N_("Fewest moved"), "balanced": ui.N_("Balanced"),
                      "roundest": ui.N_("Roundest")}
# the last part of an alternative's plan name (alternative-fewest, 备选-调整最少)
ALTERNATIVE_NAMES = {"fewest": ui.N_("fewest"), "balanced": ui.N_("balanced"),
                     "roundest": ui.N_("roundest")}


def target_lines(card: dict, target: dict) -> list[str]:
    """Each target of an alternative with its figure, ✓ met or ✗ not."""
    lines = {
        "mean_min": _("mean compactness ≥ {target}: {value}",
                      target=ui.number(target.get("mean_min"), 2),
                      value=ui.number(card["compactness_mean"], 2)),
        "street_min": _("least compact street ≥ {target}: {value}",
                        target=ui.number(target.get("street_min"), 2),
                        value=ui.number(card["compactness_min"], 2)),
        "moved_max": _("residents moved ≤ {target}: {value}",
                       target=ui.number(target.get("moved_max")),
                       value=ui.number(card["residents_moved"])),
    }
    return [("✓ " if met else "✗ ") + lines[key] for key, met in target["each"].items()]


def alternative_cards(cards: list[dict]) -> None:
    """The alternatives side by side: mini map, figures, targets, a link to Compare."""
    st.subheader(_("Alternatives"))
    for col, card in zip(st.columns(len(cards)), cards, strict=True):
        with col.container(border=True):
            key = str(card["key"]).split("-")[0]
            st.markdown(f"**{_(ALTERNATIVE_TITLES.get(key, key))}** · `{card['plan']}`")
            st.image(card["svg"], width="stretch")
            # each label its own _() call (outside the f-strings, where the catalogue finds it)
            in_band, moved = _("Streets in both bands"), _("Residents moved")
            communities, shape = _("Communities moved"), _("Compactness mean / min")
            margin = _("Margin to the band edges")
            st.markdown("\n".join([
                f"- {in_band}: {card['in_band']}",
                f"- {moved}: {ui.number(card['residents_moved'])}"
                + ("" if card.get("moved_vs_fewest") is None
                   else f" (×{ui.number(card['moved_vs_fewest'], 2)})"),
                f"- {communities}: {ui.number(card['communities_moved'])}",
                f"- {shape}: {ui.number(card['compactness_mean'], 2)}"
                f" / {ui.number(card['compactness_min'], 2)}",
                f"- {margin}: "
                + ("—" if card["margin_min"] is None else f"{card['margin_min']:.1%}"),
            ]))
            target = card.get("targets")
            if target is not None:
                (st.success if target["met"] else st.warning)(
                    _("Compactness target met") if target["met"]
                    else _("Compactness target not met"))
                st.caption("  \n".join(target_lines(card, target)))
            for text in card.get("why_text", [])[:3]:
                st.caption(ui.plain(text))
            st.page_link("views/compare.py", label=_("Open on Compare"), icon="⚖️",
                         query_params={**ui.carried(), "plan": card["plan"]})


@ui.callback
def do_clear() -> None:
    st.session_state["selection"] = []


@ui.callback
def do_lock() -> None:
    code = st.session_state.get("lock_street")
    if code:
        ui.apply(lambda p: p.set_locked(code, not p.street(code).locked))


@ui.callback
def do_save_as() -> None:
    name = (st.session_state.get("save_as_name") or "").strip()
    p, s, _d = ui.plan()
    if not name:
        st.session_state["edit_error"] = _("Give the new plan a name.")
        return
    if s.has_plan(name):
        st.session_state["edit_error"] = _("A plan named {name} exists already; choose another.",
                                           name=name)
        return
    s.save_plan(p, if_absent=True)  # the plan it started from, if not stored yet
    s.save_plan(p.copy(name=name))
    st.query_params["plan"] = name


# ------------------------------------------------------------------------- layout
with st.sidebar:
    st.text_input(_("New plan name"), key="save_as_name")
    st.button(_("Save as a new plan"), on_click=do_save_as)
    st.subheader(_("Propose a plan"))
    if st.session_state.get("propose_mode") not in MODES:
        st.session_state["propose_mode"] = chosen_mode()
    st.radio(_("Mode"), list(MODES), key="propose_mode", format_func=lambda m: _(MODES[m]))
    st.checkbox(_("Prefer rounder streets (moves more residents)"), key="propose_round")
    st.button(_("Propose"), on_click=do_propose, key="propose_button")
    st.button(_("Propose alternatives"), on_click=do_alternatives, key="alternatives_button",
              help=_("Fewest moved, balanced and roundest plans side by side, each saved."))
    for msg in st.session_state.get("proposal_findings", [])[:5]:
        st.caption(ui.plain(msg))
    show_grids = st.checkbox(_("Show grids"), key="show_grids")

basemap = ui.basemap_picker()  # clicks and drawings come back in the basemap's coordinates
gcj = basemap.shifted  # on a GCJ-02 basemap every layer is drawn shifted, clicks come back


def plan_view(p) -> dict:
    """What the page shows of the plan's current state (computed once per plan revision)."""
    table = p.street_table(rb)
    colour = {code: CATEGORICAL_PALETTE[k % len(CATEGORICAL_PALETTE)]
              for k, code in enumerate(table["code"])}
    return {"table": table, "colour": colour, "assign": p.assignment_frame(),
            "findings": p.findings(rb),
            "status": dict(zip(table["code"], table["status"], strict=True)),
            "locked": dict(zip(table["code"], table["locked"], strict=True)),
            "names": dict(zip(table["code"], table["name"], strict=True))}


GRID_MIN_ZOOM = 15  # grids are drawn from this zoom in: a city's 17,000 at the whole view are noise


def plan_layers(p, view: dict, with_grids: bool) -> dict:
    """The map's plan layers as JSON texts (computed once per plan revision and options).

    The blocks' shapes are the same for every revision (one text per district,
    drawn once by the browser); a revision brings their paint (fill colour and
    tooltip row per block), the street outlines and the labels.
    """
    b = p.base
    coarse = ui.drawing_blocks(p, gcj=gcj)
    shapes, texts, tolerance = coarse.shapes, coarse.texts, coarse.tolerance
    # Up close a city's whole-view shapes look coarse: from settings.map_detail_zoom in the
    # browser swaps in outlines simplified to the finest tolerance (same blocks, same order;
    # geo.maps.held)
    fine = (ui.drawing_blocks(p, gcj=gcj, fine=True)
            if tolerance >= settings.map_detail_factor * MIN_TOLERANCE_M else None)
    assign = view["assign"]
    population = np.where(b.population_missing, np.nan, b.population)
    tips = tooltip_values([b.names, b.codes, assign["street_name"], population])
    fills = assign["parent_code"].map(view["colour"]).tolist()
    paint = json.dumps({"f": fills, "t": tips}, ensure_ascii=False)
    codes = [s.code for s in p.streets]
    outlines = street_outlines(shapes, p.assignment, len(codes))
    keep = [k for k, g in enumerate(outlines) if not g.is_empty]
    keep.sort(key=lambda k: bool(view["locked"].get(codes[k])))  # locked (dashed) on top
    streets_json = features(
        geojson_texts(outlines[keep]),
        [{"l": STATUS_LINE.get(view["status"].get(codes[k]), "#475569"),
          "d": "8 5" if view["locked"].get(codes[k]) else ""} for k in keep])
    labels = label_points(outlines[keep], [view["names"].get(codes[k]) or codes[k] for k in keep])
    fine_streets = None
    if fine is not None:
        fine_outlines = street_outlines(fine.shapes, p.assignment, len(codes))
        fine_streets = features(geojson_texts(fine_outlines[keep]), [{}] * len(keep))
    grids_json = ui.drawing_grids(district, p, gcj=gcj).layer if with_grids else None
    size = len(paint) + len(streets_json) + len(labels)
    log.debug("boundaries: map layers %d bytes per revision, %d per district (tolerance %.1f m)",
              size, len(coarse.layer) + len(grids_json or ""), tolerance)
    return {"texts": texts if fine is None else fine.texts, "tips": tips,
            "blocks": coarse.layer, "paint": paint,
            "streets": streets_json, "labels": labels, "grids": grids_json, "bytes": size,
            "blocks_fine": None if fine is None else fine.layer, "streets_fine": fine_streets,
            "tolerance_m": tolerance, "bounds": shapely.total_bounds(list(shapes))}


def _detail(text: str | None, name: str) -> list[tuple[int, str]]:
    """A held layer's finer outlines from ``settings.map_detail_zoom`` in, if there are any."""
    return [] if text is None else [(settings.map_detail_zoom, ui.browser_file(text, name))]


@ui.fragment
def editor(page_plan, show_grids: bool) -> None:
    """The map and the panel beside it: a click or a move reruns only this part of the page."""
    began = time.perf_counter()
    plan, _store, _d = ui.plan()
    if plan is not page_plan:  # a split opened another district, or another plan: redraw all
        st.rerun()
    base = plan.base
    selection = take_map_input(base)
    ui.show_messages()
    view = ui.per_revision("editor_view", plan, lambda: plan_view(plan), ui.lang())
    table, colour, findings = view["table"], view["colour"], view["findings"]
    locked, names = view["locked"], view["names"]
    population = np.where(base.population_missing, np.nan, base.population)

    left, right = st.columns([3, 2])
    with right:
        f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
        f1.text_input(_("Find a community or street"), key="find_text",
                      placeholder=_("part of a name"))
        f2.button(_("Find"), on_click=do_find, key="find_button")
        n_sel = len(selection)
        sel_pop = population[[int(base.index[c]) for c in selection]]
        # a selection holding a community without residents has no total (shown as —)
        total = None if not n_sel or np.isnan(sel_pop).any() else float(sel_pop.sum())
        selected_word, residents_word = _("Selected"), _("residents")
        st.markdown(f"**{selected_word}: {n_sel}** · {ui.number(total)} {residents_word}")
        if n_sel:
            st.caption(ui.plain(", ".join(str(base.names[base.index[c]] or c)
                                          for c in selection[:12]))
                       + (" …" if n_sel > 12 else ""))
        street_codes = list(table["code"])
        st.selectbox(_("Move selection to street"), street_codes, key="move_target",
                     format_func=lambda c: f"{names.get(c) or c} ({c})"
                     + (" 🔒" if locked.get(c) else ""))
        c1, c2, c3, c4 = st.columns(4)
        c1.button(_("Move"), on_click=do_move, disabled=not n_sel or read_only, type="primary",
                  key="move_button")
        c2.button(_("Clear selection"), on_click=do_clear, disabled=not n_sel)
        undo_split = ui.split_step(plan, _store, "undo")
        redo_split = ui.split_step(plan, _store, "redo")
        c3.button("↶ " + _("Undo"), on_click=do_undo, key="undo_button",
                  disabled=read_only or not (plan.can_undo or undo_split is not None),
                  help=_("Takes back the split of community {old}.", old=undo_split.code)
                  if undo_split is not None else None)
        c4.button("↷ " + _("Redo"), on_click=do_redo, key="redo_button",
                  disabled=read_only or not (plan.can_redo or redo_split is not None),
                  help=_("Splits community {old} again.", old=redo_split.code)
                  if redo_split is not None else None)
        l1, l2 = st.columns([3, 1])
        l1.selectbox(_("Lock or unlock a street"), street_codes, key="lock_street",
                     format_func=lambda c: ("🔒 " if locked.get(c) else "")
                     + f"{names.get(c) or c}")
        picked_lock = st.session_state.get("lock_street")
        l2.button(_("Unlock") if locked.get(picked_lock) else _("Lock"), on_click=do_lock,
                  key="lock_button", disabled=read_only)
        with st.expander(_("Create street")):
            st.text_input(_("New street name"), key="new_street_name")
            st.button(_("Create street"), on_click=do_new_street, disabled=read_only)
        with st.expander(_("Split a community")):
            st.caption(_("Select one community, draw a line across it, then split."))
            has_line = st.session_state.get("split_line") is not None
            st.button(_("Split along the line"), on_click=do_split, key="split_button",
                      disabled=not (n_sel == 1 and has_line))
        if plan.last_edit is not None:
            st.caption(ui.plain(ui.describe_edit(plan.last_edit, base.noun)))
        elif undo_split is not None:
            st.caption(ui.plain(_("Last step: split community {old} into {a} and {b}",
                                  old=undo_split.code, a=undo_split.new_codes[0],
                                  b=undo_split.new_codes[1])))

        st.subheader(_("Streets"))
        reach_types, reach_rules = ui.reach_types(plan, _path)
        reach_type = st.selectbox(
            _("Residents within reach of"), [None, *reach_types], key="reach_type",
            format_func=lambda t: _("— none —") if t is None
            else ui.facility_name(reach_rules, t),
            help=_("Per street, the share of residents within walking reach of the chosen "
                   "facility type, updated with every move."))
        if not reach_types:
            st.caption(_("Run the audit on the Coverage page to see coverage per street here."))
        table = table.copy()  # the cached view is shared between reruns
        rows = ui.street_rows(table)
        if reach_type is not None:
            from geo.access.street_coverage import street_reach

            with st.spinner(_("Working out who lives within reach…")):
                per_street = street_reach(plan, ui.block_reach(plan, _path, reach_type))
            table["reach_share"] = table["code"].map(per_street["share"])
            rows.insert(2, _("{type} within reach",
                             type=ui.facility_name(reach_rules, reach_type)),
                        table["reach_share"].map(ui.percent).to_numpy())
        st.session_state["street_rows"] = table  # already this rerun's own copy
        st.dataframe(rows, hide_index=True, width="stretch",
                     column_config=ui.street_columns(), key="street_table")

    focus = st.session_state.pop("find_focus", None)
    with right:
        st.subheader(_("Findings ({n})", n=len(findings)))
        if findings:
            street_word, finding_word = _("street"), _("finding")
            ftable = pd.DataFrame([{street_word: f.name or f.code or "—",
                                    finding_word: ui.finding_message(f), "lon": f.lon,
                                    "lat": f.lat} for f in findings])
            # keyed by the plan's state: a selection made before an edit never points past the end
            revision = (f"{plan.name}-{len(plan.undo_stack)}-{len(plan.redo_stack)}-"
                        f"{len(findings)}")
            picked = st.dataframe(ftable[[street_word, finding_word]], hide_index=True,
                                  width="stretch", on_select="rerun",
                                  selection_mode="single-row",
                                  key=f"findings_table-{revision}",
                                  column_config={finding_word: st.column_config.TextColumn(
                                      width="large")})
            rows_sel = [r for r in picked.selection.rows if 0 <= r < len(ftable)] \
                if hasattr(picked, "selection") else []
            if rows_sel:
                f = ftable.iloc[rows_sel[0]]
                st.info(f"**{ui.plain(f[street_word])}** — {ui.plain(f[finding_word])}")
                if pd.notna(f["lon"]):
                    focus = (float(f["lat"]), float(f["lon"]))
            st.caption(_("Select a finding to zoom to it."))
        moved_for, moves = st.session_state.get("proposal_moves", (None, []))
        if moves and moved_for == plan.name:
            with st.expander(_("Why each community moved ({n})", n=len(moves))):
                st.dataframe({
                    _("community"): [str(m["name"] or m["code"]) for m in moves],
                    _("from → to"): [f"{m['from_name']} → {m['to_name']}" for m in moves],
                    _("residents"): [ui.number(m["population"]) for m in moves],
                    _("reason"): [ui.move_reason(m["reasons"]) for m in moves],
                }, hide_index=True, width="stretch")

    with_grids = bool(show_grids) and "grid" in district.units
    layers = ui.per_revision("editor_layers", plan, lambda: plan_layers(plan, view, with_grids),
                             ui.lang(), gcj, with_grids)
    st.session_state["map_payload_bytes"] = layers["bytes"]
    aliases = [_("name"), _("code"), _("street"), _("residents")]
    picked_rows = [int(base.index[c]) for c in selection]
    held = [
        HeldLayer("blocks", url=ui.browser_file(layers["blocks"], "blocks"),
                  paint=ui.browser_file(layers["paint"], "paint"),
                  detail=_detail(layers["blocks_fine"], "blocks-fine"),
                  style={"color": "#94a3b8", "weight": 0.6, "fillOpacity": 0.45},
                  aliases=aliases, interactive=True, z=410),
        HeldLayer("streets", url=ui.browser_file(layers["streets"], "streets"),
                  detail=_detail(layers["streets_fine"], "streets-fine"),
                  style={"weight": 2.5, "fill": False}, z=420),
        HeldLayer("selected", data=features([layers["texts"][k] for k in picked_rows],
                                            [{"t": layers["tips"][k]} for k in picked_rows]),
                  style={"fillColor": "#facc15", "color": "#111827", "weight": 3,
                         "fillOpacity": 0.75}, aliases=aliases, interactive=True, z=430),
        HeldLayer("labels", url=ui.browser_file(layers["labels"], "labels"), labels=True, z=440),
    ]
    if layers["grids"] is not None:
        held.insert(1, HeldLayer("grids", url=ui.browser_file(layers["grids"], "grids"),
                                 style={"color": "#94a3b8", "weight": 0.4, "fill": False},
                                 min_zoom=GRID_MIN_ZOOM, z=415))
    group = folium.FeatureGroup(name="plan")
    HeldLayers(held).add_to(group)
    # the layers are drawn already shifted for a GCJ-02 basemap (bounds included)
    m = add_basemap(base_map(layers["bounds"], height=640), basemap)
    add_legend(m, _("Legend"), ui.editor_legend(table, colour))
    Draw(export=False, draw_options={"polyline": True, "circle": False, "marker": False,
                                     "circlemarker": False, "polygon": True, "rectangle": True},
         edit_options={"edit": False, "remove": True}).add_to(m)
    make_offline(m)
    if focus is not None:
        focus = point_to_display(*focus, basemap)
    with left:
        st_folium(m, key=MAP_KEY, height=640, use_container_width=True,
                  feature_group_to_add=group, center=focus,
                  zoom=15 if focus else None,
                  returned_objects=["last_object_clicked", "last_active_drawing"])
    log.debug("boundaries: editor step %.0f ms (page %.0f ms)",
              1000 * (time.perf_counter() - began), 1000 * (time.perf_counter() - started))


editor(plan, show_grids)
if st.session_state.get("alternatives"):
    alternative_cards(st.session_state["alternatives"])
