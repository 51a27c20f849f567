"""Check: the open plan (or the district as loaded) against the rulebook, on a map and in tables."""

import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.district.hierarchy import build_district
from geo.maps.view import MapSetup, UnitStyle, add_outlines, unit_map
from geo.report import CheckReport, check_report

STATUS_COLORS = {"ok": "#004488", "outside": "#a50026", "no rule": "#bbbbbb",
                 "no data": "#ddaa33"}
_ = ui._


@st.cache_resource(show_spinner=False, max_entries=8)
def plan_report(key: str, _plan, _district) -> CheckReport:
    rb = ui.rulebook()
    units = _plan.to_units() if _plan is not None else _district.units
    return check_report(build_district(units, household_size=rb.household_size), rb)


state, plan, district = ui.open_units()
_d, label, _path = ui.district()
with st.spinner(_("Checking the plan…")):
    report = plan_report(state, plan, district)
shown = "street" if "street" in report.tables else report.district.levels[0]
units = report.level_frame(shown)

title = ui.plan_label(plan.name) if plan is not None else _("as loaded")
st.title(f"{_('Check')} · {ui.plain(title)}")
rb_name = (report.rulebook.name_zh if ui.lang() == "zh" and report.rulebook.name_zh
           else report.rulebook.name)
st.caption(ui.plain(_("{district} · rulebook: {rulebook}", district=label,
                      rulebook=rb_name)))
if plan is None:
    st.info(ui.edit_problem(district))

in_band = int((units["status"] == "ok").sum())
judged = int(units["status"].isin(["ok", "outside"]).sum())
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("Units within their bands ({level})", level=_(ui.LEVEL_NAMES[shown])),
          f"{in_band} / {judged}")
c2.metric(_("Area"), f"{ui.number(units['area_km2'].sum(), 1)} km²")
c3.metric(_("Residents"), ui.number(units["population"].sum(min_count=1)))
c4.metric(_("Units per level"), " / ".join(
    f"{_(ui.LEVEL_NAMES[lv])} {ui.number(len(report.tables[lv]))}"
    for lv in report.district.levels))

units["status_label"] = units["status"].map(ui.status_text)
units["area_text"] = units["area_km2"].map(lambda v: ui.number(v, 2))
units["population_text"] = units["population"].map(ui.number)
m = unit_map(
    units,
    style=UnitStyle(color_column="status_label", legend_title=_("status"), line_weight=2,
                    fill_opacity=0.45,
                    category_colors={ui.status_text(k): v for k, v in STATUS_COLORS.items()}),
    setup=MapSetup(height=560),
    tooltip_columns=["name", "code", "area_text", "population_text", "status_label"],
    tooltip_aliases=[_("name"), _("code"), _("area km²"), _("residents"), _("status")],
    id_column="code",
    layer_name=shown,
)
if shown == "street" and "community" in report.district.units:
    add_outlines(m, report.district.units["community"], name="communities", weight=0.6)
from geo.maps.view import add_labels  # noqa: E402

add_labels(m, units, column="name")
ui.with_basemap(m)

left, right = st.columns([3, 2])
with left:
    st_folium(m, key="overview_map", height=560, use_container_width=True, returned_objects=[])
with right:
    st.subheader(_("Units: {level}", level=_(ui.LEVEL_NAMES[shown])))
    table = units.drop(columns="geometry")
    st.dataframe(
        {
            _("name"): table["name"].astype(str),
            _("status"): table["status_label"],
            _("area km²"): table["area_text"],
            _("residents"): table["population_text"],
            _("households"): table["households"].map(ui.number),
            _("code"): table["code"].astype(str),
        },
        hide_index=True, width="stretch", height=520,
    )

findings = report.findings
sev = report.summary["findings"]
st.subheader(_("Findings ({n}: {errors} errors, {warnings} warnings)", n=len(findings),
               errors=sev["error"], warnings=sev["warning"]))
level_filter = st.multiselect(
    _("Levels"), ["district", *report.district.levels], key="check_levels",
    default=[lv for lv in ("district", shown)], format_func=lambda lv: _(ui.LEVEL_TEXT[lv]))
rows = [f for f in findings if f.level in level_filter]
st.dataframe(
    {
        _("severity"): [_(ui.SEVERITY_TEXT.get(f.severity, f.severity)) for f in rows],
        _("level"): [_(ui.LEVEL_TEXT.get(f.level, f.level)) for f in rows],
        _("name"): [f.name or f.code or "—" for f in rows],
        _("finding"): [ui.finding_message(f) for f in rows],
    },
    hide_index=True, width="stretch",
    column_config={_("finding"): st.column_config.TextColumn(width="large")},
)
