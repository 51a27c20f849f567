"""Compare two plans: which communities moved, each street before and after, a map."""

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.maps.view import MapSetup, UnitStyle, add_legend, add_outlines, unit_map

_ = ui._
st.title(_("Compare plans"))
district, _label, _path = ui.district()
if (problem := ui.edit_problem(district)) is not None:  # nothing to edit: no plans to compare
    st.info(problem)
    st.page_link("views/overview.py", label=_("Check this district"), icon="🏙️",
                 query_params=ui.carried())
    st.stop()
plan, store, _district = ui.plan()
plans = ui.plan_names(store)
if plan.name not in plans:  # the open plan, not stored until its first edit
    plans = [*plans, plan.name]
if len(plans) < 2:
    st.info(_("Save the current plan under a new name (sidebar) to compare two plans."))
    st.stop()
c1, c2 = st.columns(2)
before_default = ui.ORIGINAL if ui.ORIGINAL in plans else plans[0]
after_default = plan.name if plan.name in plans else plans[-1]
before_name = c1.selectbox(_("Before"), plans, index=plans.index(before_default),
                           key="cmp_before", format_func=ui.plan_label)
after_name = c2.selectbox(_("After"), plans, index=plans.index(after_default), key="cmp_after",
                          format_func=ui.plan_label)
before = plan if before_name == plan.name else store.load_plan(before_name, plan.base)
after = plan if after_name == plan.name else store.load_plan(after_name, plan.base)
moved, streets = before.compare(after, rulebook=ui.rulebook())

st.metric(_("Communities moved"), ui.number(len(moved)),
          help=_("{n} residents", n=ui.number(moved["population"].sum(min_count=1)))
          if len(moved) else None)
st.subheader(_("Streets"))
st.dataframe({
    _("name"): streets["name"].astype(str),
    _("area km² before"): streets["area_km2_before"].map(lambda v: ui.number(v, 2)),
    _("area km² after"): streets["area_km2_after"].map(lambda v: ui.number(v, 2)),
    _("residents before"): streets["population_before"].map(ui.number),
    _("residents after"): streets["population_after"].map(ui.number),
    _("status before"): streets["status_before"].map(ui.status_text),
    _("status after"): streets["status_after"].map(ui.status_text),
    _("code"): streets["code"].astype(str),
}, hide_index=True, width="stretch")
st.subheader(_("Communities moved"))
st.session_state["compare_moved"] = moved
st.dataframe({
    _("name"): moved["name"].astype(str),
    _("code"): moved["code"].astype(str),
    _("from"): moved["from_name"].astype(str),
    _("to"): moved["to_name"].astype(str),
    _("residents"): moved["population"].map(ui.number),
    _("area km²"): moved["area_km2"].map(lambda v: ui.number(v, 2)),
}, hide_index=True, width="stretch")

base = plan.base
blocks = gpd.GeoDataFrame({"code": base.codes, "name": base.names},
                          geometry=ui.block_shapes(plan), crs=4326)
moved_label, same_label = _("moved"), _("unchanged")
blocks["change"] = blocks["code"].isin(set(moved["code"])).map({True: moved_label,
                                                                  False: same_label})
blocks["from"] = blocks["code"].map(dict(zip(moved["code"], moved["from_name"], strict=True)))
blocks["to"] = blocks["code"].map(dict(zip(moved["code"], moved["to_name"], strict=True)))
m = unit_map(blocks,
             style=UnitStyle(color_column="change", legend=False, fill_opacity=0.7,
                             category_colors={moved_label: "#ee8866", same_label: "#e2e8f0"}),
             setup=MapSetup(height=560), tooltip_columns=["name", "code", "from", "to"],
             tooltip_aliases=[_("name"), _("code"), _("from"), _("to")])
add_outlines(m, after.street_geometries(), name=after_name, color="#004488", weight=2.5)
add_outlines(m, before.street_geometries(), name=before_name, color="#a50026", weight=1.5,
             dash="6 4")
add_legend(m, _("Legend"), [("#ee8866", moved_label, "fill"), ("#e2e8f0", same_label, "fill"),
                            ("#004488", ui.plan_label(after_name), "line"),
                            ("#a50026", ui.plan_label(before_name), "dash")])
ui.with_basemap(m)
st_folium(m, key="compare_map", height=560, use_container_width=True, returned_objects=[])
