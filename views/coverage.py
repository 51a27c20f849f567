"""Coverage: who lives within walking reach of each service, and floor area against the norms."""

import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.audit import run_audit
from geo.coverage import CoverageResult
from geo.errors import WanggeError
from geo.hierarchy import build_district
from geo.io import save_uploads
from geo.mapview import make_offline
from geo.project import new_upload_dir
from geo.report import coverage_map
from geo.rules import load_rulebook


@st.cache_resource(show_spinner="Auditing the services for this plan…", max_entries=4)
def sample_audit(key: str, _plan) -> CoverageResult:
    rulebook = load_rulebook()
    district = build_district(_plan.to_units(), household_size=rulebook.household_size)
    return run_audit(district, rulebook, sample=True)


st.title(ui.t("nav.coverage"))
plan, _, _ = ui.plan()
district, label, path = ui.district()
if st.query_params.get("project", "sample") == "sample":
    # Per-street figures follow the open plan; communities and grids are the sample's.
    result = sample_audit(f"{plan.name}|{hash(plan.assignment.tobytes())}|{len(plan.streets)}",
                          plan)
else:
    st.caption("Upload the facilities (points or polygons with type, name, floor_area_m2) and, "
               "for walking distances, a .osm.pbf extract or a saved .npz network.")
    fac_up = st.file_uploader("facilities", key="fac_upload",
                              type=["geojson", "json", "gpkg", "csv", "zip"])
    net_up = st.file_uploader("walking network (.osm.pbf / .npz)", key="net_upload",
                              type=["pbf", "npz"])
    if st.button("Run the audit", key="run_audit", disabled=fac_up is None):
        try:
            work = new_upload_dir()
            uploads = [(fac_up.name, fac_up.getvalue())]
            if net_up is not None:
                uploads.append((net_up.name, net_up.getvalue()))
            saved = save_uploads(uploads, work)
            st.session_state["audit_result"] = run_audit(
                district, ui.rulebook(), facilities=saved[0],
                network=saved[1] if net_up is not None else None,
                straight_line=net_up is None)
        except WanggeError as exc:
            st.error(ui.plain(exc))
    result = st.session_state.get("audit_result")
    if result is None:
        st.stop()
st.caption(f"{label} · network: {result.provenance['network']}")
if result.approximate:
    st.warning("No walking network: distances are straight-line × a detour factor.")

types = result.type_table
cols = st.columns(max(1, len(types)))
for col, (_, row) in zip(cols, types.iterrows(), strict=False):
    col.metric(f"{row['name_zh']} ≤ {row['service_radius_m']:,.0f} m",
               f"{row['share_covered']:.0%}", help=row["name"])

map_type = st.selectbox("Colour communities by", list(types["type"]), key="map_type",
                        format_func=lambda t: result.rulebook.facility(t).label)
m = coverage_map(result, facility_type=map_type)
make_offline(m)
st_folium(m, key="coverage_map", height=600, use_container_width=True, returned_objects=[])

st.subheader("By facility type")
st.dataframe(types, hide_index=True, width="stretch")
st.subheader("By category of public affairs")
st.dataframe(result.category_table, hide_index=True, width="stretch")

level = st.radio("Units", [lv for lv in ("street", "community", "grid")
                           if lv in result.unit_tables], horizontal=True, index=1)
table = result.unit_tables[level]
ftype = st.selectbox("Facility type", list(types["type"]), key="table_type",
                     format_func=lambda t: result.rulebook.facility(t).label)
st.dataframe(table[table["type"] == ftype].sort_values("share_covered"), hide_index=True,
             width="stretch",
             column_config={"share_covered": st.column_config.ProgressColumn(
                 "share covered", min_value=0.0, max_value=1.0, format="percent")})

st.subheader("Facilities")
st.dataframe(result.facility_table, hide_index=True, width="stretch")
findings = [f.to_dict() for f in result.findings]
with st.expander(f"Findings ({len(findings)})"):
    st.dataframe(findings, width="stretch")
st.caption(" · ".join(f"**{k}**: {v}" for k, v in result.provenance.items()))

# ------------------------------------------------------------------ where to add sites
st.subheader("Where new facilities would cover most · 选址建议")
c1, c2, c3 = st.columns(3)
site_type = c1.selectbox("Facility type", list(types["type"]), key="site_type",
                         format_func=lambda t: result.rulebook.facility(t).label)
k = c2.number_input("New sites", min_value=1, max_value=50, value=3, key="site_k")
capacity = c3.checkbox("Respect capacity (floor area per 100 households)", key="site_capacity")
if st.button("Propose sites", key="propose_sites"):
    from geo.siting import propose_sites

    try:
        with st.spinner("Solving…"):
            st.session_state["siting"] = propose_sites(
                result.district, result.rulebook, facility_type=site_type, k=int(k),
                capacity=capacity, network=result.network, demand=result.demand,
                facilities=result.facilities)
    except WanggeError as exc:
        st.error(ui.plain(exc))
siting = st.session_state.get("siting")
if siting is not None and siting.summary.get("facility_type") != site_type:
    siting = None  # a result for another type is not shown under this one
if siting is not None:
    s = siting.summary
    st.success(f"{s.get('covered_before', 0):,.0f} → {s.get('covered_after', 0):,.0f} residents "
               f"covered ({s.get('method_text', s.get('method', ''))})")
    st.dataframe(siting.sites.drop(columns="geometry"), hide_index=True, width="stretch")
    sm = coverage_map(result, facility_type=siting.summary.get("facility_type", site_type))
    from geo.mapview import add_points

    add_points(sm, siting.sites.assign(label="proposed"), name="proposed sites",
               color="#facc15", radius=9, tooltip_columns=["rank", "name", "newly_covered"])
    make_offline(sm)
    st_folium(sm, key="siting_map", height=520, use_container_width=True, returned_objects=[])
