"""Coverage: who lives within walking reach of each service, and floor area against the norms."""

import streamlit as st
from streamlit_folium import st_folium

from geo.audit import run_audit
from geo.coverage import CoverageResult
from geo.hierarchy import build_district
from geo.mapview import make_offline
from geo.report import coverage_map
from geo.rules import load_rulebook
from geo.sample import DISTRICT_NAME, sample_district


@st.cache_resource(show_spinner="Auditing the sample district's services…")
def sample_audit() -> CoverageResult:
    rulebook = load_rulebook()
    district = build_district(sample_district(), household_size=rulebook.household_size)
    return run_audit(district, rulebook, sample=True)


result = sample_audit()
st.title("Coverage 服务覆盖")
st.caption(f"{DISTRICT_NAME} · network: {result.provenance['network']}")
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
