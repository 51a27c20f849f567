"""Compare two plans: which communities moved, each street before and after, a map."""

import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.errors import WanggeError
from geo.mapview import add_outlines, make_offline, unit_map

t = ui.t
plan, store, district = ui.plan()
st.title(t("nav.compare"))
plans = list(store.list_plans()["name"])
if len(plans) < 2:
    st.info(t("compare.need_two"))
    st.stop()
c1, c2 = st.columns(2)
before_name = c1.selectbox(t("compare.before"), plans, index=0, key="cmp_before")
after_name = c2.selectbox(t("compare.after"), plans,
                          index=plans.index(plan.name) if plan.name in plans else 1,
                          key="cmp_after")
try:
    before = store.load_plan(before_name, plan.base)
    after = plan if after_name == plan.name else store.load_plan(after_name, plan.base)
    moved, streets = before.compare(after, rulebook=ui.rulebook())
except WanggeError as exc:
    st.error(ui.plain(exc))
    st.stop()

st.metric(t("compare.moved"), f"{len(moved)}",
          help=f"{moved['population'].sum():,.0f} residents" if len(moved) else None)
st.subheader(t("streets.table"))
st.dataframe(streets, hide_index=True, width="stretch")
st.subheader(t("compare.moved"))
st.dataframe(moved, hide_index=True, width="stretch")

base = plan.base
blocks = gpd.GeoDataFrame({"code": base.codes, "name": base.names},
                          geometry=ui.block_shapes(plan), crs=4326)
blocks["change"] = blocks["code"].isin(set(moved["code"])).map({True: "moved",
                                                                  False: "unchanged"})
to_name = dict(zip(moved["code"], moved["to_name"], strict=True))
from_name = dict(zip(moved["code"], moved["from_name"], strict=True))
blocks["from"] = blocks["code"].map(from_name)
blocks["to"] = blocks["code"].map(to_name)
m = unit_map(blocks, color_column="change",
             category_colors={"moved": "#f59e0b", "unchanged": "#e2e8f0"},
             tooltip_columns=["name", "code", "from", "to"], legend_title="",
             fill_opacity=0.7, height=560)
add_outlines(m, after.street_geometries(), name=after_name, color="#1e293b", weight=2.5)
add_outlines(m, before.street_geometries(), name=before_name, color="#dc2626", weight=1.5,
             dash="6 4")
make_offline(m)
st_folium(m, key="compare_map", height=560, use_container_width=True, returned_objects=[])
st.caption(f"— {ui.plain(after_name)}   \\- \\- {ui.plain(before_name)}")
