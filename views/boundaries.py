"""Boundaries: move communities between streets, with live checks and a saved edit log."""

import time

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.crs import wgs84_to_gcj02
from geo.errors import WanggeError
from geo.mapview import CATEGORICAL_PALETTE, base_map, editor_layers, make_offline
from geo.selection import block_at, blocks_within, clicked_point, drawn_geometry, toggle

MAP_KEY = "edit_map"
t = ui.t
plan, store, district = ui.plan()
base = plan.base
rb = ui.rulebook()
STATUS_LINE = {"ok": "#15803d", "outside": "#dc2626", "no rule": "#475569"}
started = time.perf_counter()

st.title(f"{t('nav.boundaries')} · {ui.plain(plan.name)}")
st.caption(t("select.hint") + " " + t("plan.saved"))

# ---------------------------------------------------------------- map interactions
selection: list[str] = st.session_state.setdefault("selection", [])
state = st.session_state.get(MAP_KEY)
click = clicked_point(state)
if click is not None and click != st.session_state.get("handled_click"):
    st.session_state["handled_click"] = click
    code = block_at(base, *click)
    if code is not None:
        selection = toggle(selection, [code])
drawing = drawn_geometry(state)
if drawing is not None and drawing != st.session_state.get("handled_drawing"):
    st.session_state["handled_drawing"] = drawing
    if drawing["type"] in ("Polygon", "MultiPolygon"):
        picked = blocks_within(base, drawing)
        selection = list(dict.fromkeys(selection + picked))
    elif drawing["type"] in ("LineString", "MultiLineString"):
        st.session_state["split_line"] = drawing
st.session_state["selection"] = selection


# ------------------------------------------------------------------- edit callbacks
def do_move() -> None:
    target = st.session_state.get("move_target")
    chosen = st.session_state.get("selection", [])
    if target and chosen:
        ui.apply(lambda p: p.move(chosen, target))
        st.session_state["selection"] = []


def do_new_street() -> None:
    name = (st.session_state.get("new_street_name") or "").strip()
    if not name:
        st.session_state["edit_error"] = "Give the new street a name."
        return

    def create(p):
        street = p.new_street(name=name)
        st.session_state["move_target"] = street.code
        return p.last_edit

    ui.apply(create)


def do_undo() -> None:
    ui.apply(lambda p: p.undo())


def do_redo() -> None:
    ui.apply(lambda p: p.redo())


def do_split() -> None:
    chosen = st.session_state.get("selection", [])
    line = st.session_state.get("split_line")
    if len(chosen) != 1 or line is None:
        st.session_state["edit_error"] = t("split.hint")
        return
    try:
        info = ui.split_and_reopen(chosen[0], line)
    except WanggeError as exc:
        st.session_state["edit_error"] = str(exc)
        return
    st.session_state["edit_note"] = (
        f"{info['old']} → {info['new'][0]}, {info['new'][1]} ({info['method']}); "
        "every plan was carried over to the new district.")


def do_propose() -> None:
    from geo.redistrict import propose_plan

    p, s, _ = ui.plan()
    mode = st.session_state.get("propose_mode", "least_change")
    try:
        proposal = propose_plan(p, ui.rulebook(), mode=mode,
                                time_limit_s=float(st.session_state.get("propose_time", 30)),
                                compactness_weight=1.0 if st.session_state.get("propose_round")
                                else 0.0)
    except WanggeError as exc:
        st.session_state["edit_error"] = str(exc)
        return
    name = proposal.plan.name
    taken = set(s.list_plans()["name"])
    n = 2
    while name in taken:
        name, n = f"{proposal.plan.name}-{n}", n + 1
    proposal.plan.name = name
    s.save_plan(p, if_absent=True)  # the plan it started from, if not stored yet
    s.save_plan(proposal.plan)
    st.query_params["plan"] = name
    sm = proposal.summary
    st.session_state["edit_note"] = (
        f"{t('propose.saved')} {name}: {sm['in_band_before']} → {sm['in_band_after']} "
        f"{t('propose.in_band')}; {sm['communities_moved']} {t('propose.moved')} "
        f"({sm['residents_moved']:,.0f} {t('col.population')}). "
        + ("" if sm["feasible"] else t("propose.infeasible"))
        + (f" {t('col.compactness')} {sm['compactness_mean_before']} → "
           f"{sm['compactness_mean_after']}"
           + (f" — {t('propose.elongated')}" if sm["elongated"] else "")))
    st.session_state["proposal_findings"] = [f.message for f in proposal.findings
                                             if f.rule.startswith("propose.")]


def do_clear() -> None:
    st.session_state["selection"] = []


def do_locks() -> None:
    edits = st.session_state.get("street_editor", {}).get("edited_rows", {})
    table = st.session_state.get("street_rows")
    for row, change in edits.items():
        if "locked" in change and table is not None:
            code = table.iloc[int(row)]["code"]
            ui.apply(lambda p, c=code, v=bool(change["locked"]): p.set_locked(c, v))


def do_save_as() -> None:
    name = (st.session_state.get("save_as_name") or "").strip()
    p, s, _ = ui.plan()
    if not name:
        st.session_state["edit_error"] = "Give the new plan a name."
        return
    if s.has_plan(name):
        st.session_state["edit_error"] = f"A plan named {name!r} exists already; choose another."
        return
    s.save_plan(p, if_absent=True)  # the plan it started from, if not stored yet
    s.save_plan(p.copy(name=name))
    st.query_params["plan"] = name


if msg := st.session_state.pop("edit_error", None):
    st.error(ui.plain(msg))
if note := st.session_state.pop("edit_note", None):
    st.success(ui.plain(note))

# ------------------------------------------------------------------------- layout
table = plan.street_table(rb)
streets = plan.street_geometries()
colour = {code: CATEGORICAL_PALETTE[k % len(CATEGORICAL_PALETTE)]
          for k, code in enumerate(table["code"])}
status_of = dict(zip(table["code"], table["status"], strict=True))
locked = dict(zip(table["code"], table["locked"], strict=True))
names = dict(zip(table["code"], table["name"], strict=True))

assign = plan.assignment_frame()
blocks = gpd.GeoDataFrame({"code": base.codes, "name": base.names}, geometry=ui.block_shapes(plan),
                          crs=4326)
blocks["street"] = assign["parent_code"].to_numpy()
blocks["street_name"] = assign["street_name"].to_numpy()
blocks["fill"] = blocks["street"].map(colour)
blocks["population"] = base.population
streets["line"] = streets["code"].map(lambda c: STATUS_LINE.get(status_of.get(c), "#475569"))
streets["dash"] = streets["code"].map(lambda c: "6 4" if locked.get(c) else "")

with st.sidebar:
    st.subheader(t("plan"))
    plans = store.list_plans()
    options = list(plans["name"]) if len(plans) else []
    if plan.name not in options:
        options.append(plan.name)
    st.session_state["plan_picker"] = plan.name  # follow the plan the URL names

    def pick_plan() -> None:
        st.query_params["plan"] = st.session_state["plan_picker"]

    st.selectbox(t("plan"), options, key="plan_picker", on_change=pick_plan)
    st.text_input(t("plan.name"), key="save_as_name")
    st.button(t("plan.new"), on_click=do_save_as)
    st.subheader(t("propose.title"))
    st.radio(t("propose.mode"), ["least_change", "scratch"], key="propose_mode",
             format_func=lambda m: t(f"propose.{m}"))
    st.checkbox(t("propose.round"), key="propose_round")
    st.button(t("propose.button"), on_click=do_propose, key="propose_button")
    for msg in st.session_state.get("proposal_findings", [])[:5]:
        st.caption(ui.plain(msg))
    show_grids = st.checkbox(t("grids.show"), key="show_grids")
    tile_url = st.text_input(t("basemap"), key="tile_url",
                             help="e.g. an intranet tile server; none by default (offline)")
    attribution = st.text_input("Attribution", key="tile_attr", value="")

gcj = bool(tile_url) and any(h in tile_url for h in ("amap", "autonavi", "gtimg", "qq.com"))
if gcj:
    st.info(t("basemap.gcj"))

    def to_gcj(frame):
        import shapely

        def shift(xy):
            lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return __import__("numpy").column_stack([lon, lat])

        return frame.set_geometry(shapely.transform(frame.geometry.values, shift))

    blocks, streets = to_gcj(blocks), to_gcj(streets)

left, right = st.columns([3, 2])
with right:
    n_sel = len(selection)
    sel_pop = float(blocks.loc[blocks["code"].isin(selection), "population"].sum())
    st.markdown(f"**{t('select.count')}: {n_sel}** · {sel_pop:,.0f} "
                f"{t('col.population')}")
    if n_sel:
        st.caption(ui.plain(", ".join(str(base.names[base.index[c]] or c) for c in selection[:12]))
                   + (" …" if n_sel > 12 else ""))
    street_codes = list(table["code"])
    st.selectbox(t("move.to"), street_codes, key="move_target",
                 format_func=lambda c: f"{names.get(c) or c} ({c})"
                 + (" 🔒" if locked.get(c) else ""))
    c1, c2, c3, c4 = st.columns(4)
    c1.button(t("move.button"), on_click=do_move, disabled=not n_sel, type="primary",
              key="move_button")
    c2.button(t("select.clear"), on_click=do_clear, disabled=not n_sel)
    c3.button("↶ " + t("undo"), on_click=do_undo, disabled=not plan.can_undo, key="undo_button")
    c4.button("↷ " + t("redo"), on_click=do_redo, disabled=not plan.can_redo, key="redo_button")
    with st.expander(t("street.create")):
        st.text_input(t("street.new"), key="new_street_name")
        st.button(t("street.create"), on_click=do_new_street)
    with st.expander(t("split.title")):
        st.caption(t("split.hint"))
        has_line = st.session_state.get("split_line") is not None
        st.button(t("split.button"), on_click=do_split, key="split_button",
                  disabled=not (n_sel == 1 and has_line))
    if plan.last_edit is not None:
        st.caption(ui.plain(plan.last_edit.describe(base.noun, base.nouns)))

    rows = table[["code", "name", "status", "area_km2", "population", "households",
                  "change_area_km2", "change_population", "compactness", "pieces",
                  "locked"]].copy()
    st.session_state["street_rows"] = rows.copy()
    rows["status"] = rows["status"].map(lambda v: t(f"status.{v}"))
    st.subheader(t("streets.table"))
    st.data_editor(
        rows, key="street_editor", hide_index=True, width="stretch", on_change=do_locks,
        disabled=[c for c in rows.columns if c != "locked"],
        column_config={
            "code": t("col.code"), "name": t("col.name"), "status": t("col.status"),
            "area_km2": st.column_config.NumberColumn(t("col.area_km2"), format="%.2f"),
            "population": st.column_config.NumberColumn(t("col.population"),
                                                        format="localized"),
            "households": st.column_config.NumberColumn(t("col.households"),
                                                        format="localized"),
            "change_area_km2": st.column_config.NumberColumn("Δ km²", format="%+.2f"),
            "change_population": st.column_config.NumberColumn("Δ " + t("col.population"),
                                                               format="%+d"),
            "compactness": st.column_config.NumberColumn(t("col.compactness"), format="%.2f"),
            "pieces": t("col.pieces"),
            "locked": st.column_config.CheckboxColumn(t("col.locked")),
        },
    )

findings = plan.findings(rb)
focus = None
with right:
    st.subheader(f"{t('findings')} ({len(findings)})")
    if findings:
        ftable = pd.DataFrame([{"rule": f.rule, "street": f.name or f.code,
                                "message": f.message, "lon": f.lon, "lat": f.lat}
                               for f in findings])
        picked = st.dataframe(ftable[["rule", "street", "message"]], hide_index=True,
                              width="stretch", on_select="rerun",
                              selection_mode="single-row", key="findings_table")
        rows_sel = picked.selection.rows if hasattr(picked, "selection") else []
        if rows_sel:
            f = ftable.iloc[rows_sel[0]]
            if pd.notna(f["lon"]):
                focus = (float(f["lat"]), float(f["lon"]))
        st.caption(t("findings.zoom"))

grids = None
if show_grids and "grid" in district.units:
    grids = district.units["grid"][["geometry"]]
selected_mask = blocks["code"].isin(selection).to_list()
layers = editor_layers(
    blocks, streets, fill_column="fill",
    tooltip_columns=["name", "code", "street_name", "population"],
    tooltip_aliases=[t("col.name"), t("col.code"), t("street"), t("col.population")],
    street_color_column="line", selected=selected_mask, extra_outlines=grids)
m = base_map(blocks.total_bounds, height=640, tile_url=tile_url or None,
             attribution=attribution or (tile_url and "basemap") or None)
from folium.plugins import Draw  # noqa: E402

Draw(export=False, draw_options={"polyline": True, "circle": False, "marker": False,
                                 "circlemarker": False, "polygon": True, "rectangle": True},
     edit_options={"edit": False, "remove": True}).add_to(m)
make_offline(m)
make_offline(layers)
with left:
    st_folium(m, key=MAP_KEY, height=640, use_container_width=True,
              feature_group_to_add=layers, center=focus, zoom=15 if focus else None,
              returned_objects=["last_object_clicked", "last_active_drawing"])
    st.caption(f"server step {1000 * (time.perf_counter() - started):,.0f} ms")
