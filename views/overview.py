"""Overview: the district on a map, streets coloured by their status, the street table."""

import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.hierarchy import build_district
from geo.mapview import add_outlines, make_offline, unit_map
from geo.report import CheckReport, check_report

STATUS_COLORS = {"ok": "#2e7d32", "outside": "#c62828", "no rule": "#9e9e9e", "no data": "#f9a825"}
STATUS_LABELS = {
    "ok": "✅ within both bands",
    "outside": "❌ outside a band",
    "no rule": "— no rule for its kind",
    "no data": "— figure missing",
}


@st.cache_resource(show_spinner="Checking the plan…", max_entries=4)
def plan_report(key: str, _plan) -> CheckReport:
    rb = ui.rulebook()
    return check_report(build_district(_plan.to_units(), household_size=rb.household_size), rb)


plan, _, district = ui.plan()
_, label, path = ui.district()
state = f"{path}|{plan.name}|{hash(plan.assignment.tobytes())}|{len(plan.streets)}"
report = plan_report(state, plan)
streets = report.level_frame("street")

st.title(f"{ui.t('nav.check')} · {ui.plain(plan.name)}")
st.caption(ui.plain(f"{label} · rulebook: {report.rulebook.name}"))

in_band = int((streets["status"] == "ok").sum())
judged = int(streets["status"].isin(["ok", "outside"]).sum())
c1, c2, c3, c4 = st.columns(4)
c1.metric("Streets within both bands", f"{in_band} / {judged}")
c2.metric("Area", f"{streets['area_km2'].sum():,.1f} km²")
c3.metric("Residents", f"{streets['population'].sum():,.0f}")
c4.metric(
    "Communities / grids",
    " / ".join(
        f"{len(report.tables[lv]):,}" for lv in ("community", "grid") if lv in report.tables
    ),
)

streets["status_label"] = streets["status"].map(STATUS_LABELS)
m = unit_map(
    streets,
    color_column="status",
    category_colors=STATUS_COLORS,
    legend_title="status",
    tooltip_columns=["name", "code", "kind", "area_km2", "population", "status_label"],
    tooltip_aliases=["street", "code", "kind", "area km²", "residents", "status"],
    id_column="code",
    layer_name="streets",
    line_weight=2,
    fill_opacity=0.45,
    height=560,
)
if "community" in report.district.units:
    add_outlines(m, report.district.units["community"], name="communities", weight=0.6)
make_offline(m)

left, right = st.columns([3, 2])
with left:
    st_folium(
        m,
        key="overview_map",
        height=560,
        use_container_width=True,
        returned_objects=["last_object_clicked_tooltip"],
    )
with right:
    st.subheader("Street table")
    table = streets.drop(columns="geometry")[
        ["code", "name", "kind", "area_km2", "population", "households", "status", "broken"]
    ]
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=520,
        column_config={
            "area_km2": st.column_config.NumberColumn("area km²", format="%.2f"),
            "population": st.column_config.NumberColumn("residents", format="localized"),
            "households": st.column_config.NumberColumn("households", format="localized"),
            "broken": st.column_config.TextColumn("rules broken"),
        },
    )

findings = report.findings_frame()
sizing = findings[findings["level"].isin(["street", "district"])]
st.subheader(f"Street findings ({len(sizing)})")
st.dataframe(
    sizing[["severity", "rule", "name", "code", "message"]], hide_index=True, width="stretch"
)
with st.expander(
    f"All findings ({len(findings)}: "
    f"{report.summary['findings']['error']} errors, "
    f"{report.summary['findings']['warning']} warnings)"
):
    st.dataframe(
        findings[["severity", "level", "rule", "name", "code", "message"]],
        hide_index=True,
        width="stretch",
    )
