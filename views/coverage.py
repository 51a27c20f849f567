"""Coverage: who lives within walking reach of each service, and floor area against the norms."""

import folium
import streamlit as st
from streamlit_folium import st_folium

import ui
from geo.access.audit import run_audit
from geo.access.coverage import CoverageResult
from geo.district.hierarchy import build_district
from geo.io import save_uploads
from geo.project import new_upload_dir
from geo.report import coverage_map
from geo.rules.rulebook import load_rulebook

_ = ui._
LANG = ui.lang()


def sample_audit(plan) -> CoverageResult:
    """The sample's audit for this plan's state, computed once per state (a bar while it runs)."""

    def compute() -> CoverageResult:
        slot = st.empty()
        rulebook = load_rulebook()
        district = build_district(plan.to_units(), household_size=rulebook.household_size)
        result = run_audit(district, rulebook, sample=True,
                           progress=ui.progress_bar(_("Auditing the services for this plan…"),
                                                    slot))
        slot.empty()
        return result

    return ui.shared_result("audit", ui.plan_state(plan), compute)


def upload_key(uploads: list[tuple[str, bytes]]) -> str:
    """A key naming the open district and the uploaded files' contents."""
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for name, data in uploads:
        h.update(name.encode())
        h.update(hashlib.blake2b(data, digest_size=16).digest())
    return f"{path}|{h.hexdigest()}"


def type_name(ftype: str) -> str:
    return ui.facility_name(result.rulebook, ftype)


pct = ui.percent


st.title(_("Coverage"))
basemap = ui.basemap_picker()
district, label, path = ui.district()
if ui.sample_based(path) and ui.edit_problem(district) is None:
    # Per-street figures follow the open plan; communities and grids are the sample's (after a
    # split too: the sample's facilities and walking network still apply).
    plan, _store, _d = ui.plan()
    st.caption(_("Plan {name}", name=ui.plan_label(plan.name)))
    result = sample_audit(plan)
    audit_key = ui.plan_state(plan)
else:
    st.caption(_("Upload the facilities (points or polygons with type, name, floor_area_m2) and, "
                 "for walking distances, a .osm.pbf extract or a saved .npz network."))
    fac_up = st.file_uploader(_("Facilities"), key="fac_upload",
                              type=["geojson", "json", "gpkg", "csv", "zip"])
    net_up = st.file_uploader(_("Walking network (.osm.pbf / .npz)"), key="net_upload",
                              type=["pbf", "npz"])
    if st.button(_("Run the audit"), key="run_audit", disabled=fac_up is None):
        uploads = [(fac_up.name, fac_up.getvalue())]
        if net_up is not None:
            uploads.append((net_up.name, net_up.getvalue()))

        def audit_uploads() -> CoverageResult:
            saved = save_uploads(uploads, new_upload_dir())
            return run_audit(
                district, ui.rulebook(), facilities=saved[0],
                network=saved[1] if net_up is not None else None, straight_line=net_up is None,
                progress=ui.progress_bar(_("Auditing the services…")))

        key = upload_key(uploads)
        st.session_state["audit_result"] = (key, ui.shared_result("audit", key, audit_uploads))
    held = st.session_state.get("audit_result")
    if held is None:
        st.stop()
    audit_key, result = held
st.session_state["coverage_result"] = result
if result.approximate:
    st.warning(_("No walking network: distances are straight-line × a detour factor."))

types = result.type_table
cols = st.columns(max(1, len(types)))
for col, (_k, row) in zip(cols, types.iterrows(), strict=False):
    col.metric(f"{type_name(row['type'])} ≤ {ui.number(row['service_radius_m'])} m",
               pct(row["share_covered"]))



def map_labels(ftype: str) -> dict[str, str]:
    """The coverage map's words in the chosen language, coloured by ``ftype``."""
    return {"share": _("Residents within {radius} m of {name}, per cent", radius="{radius}",
                       name=type_name(ftype)),
            "facilities": _("facilities"), "sites": _("proposed sites"),
            "service_area": _("service area"), "type": _("type"), "name": _("name"),
            "floor_area": _("floor area m²"), "rank": _("rank"),
            "newly_covered": _("newly covered")}


def areas_of(result: CoverageResult):
    """The audit's service areas: the same whatever the colouring, computed once per audit."""
    from geo.access.coverage import service_areas

    return ui.shared_result("service_areas", audit_key, lambda: service_areas(result))


AREA_COLOURS = ("#2563eb", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#ea580c")


def base_coverage_map():
    """The map under the colouring: the facilities on the basemap (the same for every type)."""
    import shapely

    from geo.maps.view import add_points, base_map

    # built anew each time (st_folium adds the layers it is given to the map it draws)
    units = result.district.units
    level = "community" if "community" in units else result.district.building_block
    bounds = ui.shared_result("coverage_bounds", audit_key, lambda: shapely.total_bounds(
        units[level].to_crs(4326).geometry.values))
    m = base_map(bounds, height=600)
    add_points(m, result.facilities.to_crs(4326), name=_("facilities"), color_column="type",
               tooltip_columns=["type", "name", "floor_area_m2"],
               tooltip_aliases=[_("type"), _("name"), _("floor area m²")])
    return ui.with_basemap(m, basemap)  # on GCJ-02 the facilities move with the units


@ui.fragment
def coloured_map() -> None:
    """The map and its colouring: a new colour reruns only this, the map stays in the browser.

    The units' shapes and the facilities are sent once; a colouring sends the
    units' fills and tooltips and that type's service areas (held layers, drawn
    under the facilities).
    """
    from geo.maps.held import HeldLayer, HeldLayers
    from geo.report import coverage_layer_texts

    map_type = st.selectbox(_("Colour communities by"), list(types["type"]), key="map_type",
                            format_func=type_name)
    k = list(types["type"]).index(map_type)
    texts = ui.shared_result(
        "coverage_layers", f"{audit_key}|{map_type}|{LANG}|{basemap.shifted}",
        lambda: coverage_layer_texts(result, map_type, areas=areas_of(result),
                                     labels={**map_labels(map_type), "code": _("code")},
                                     gcj=basemap.shifted, missing_label=_("no data")),
        max_entries=16)
    colour = AREA_COLOURS[k % len(AREA_COLOURS)]
    group = folium.FeatureGroup(name="coverage")
    HeldLayers([
        HeldLayer("units", url=ui.browser_file(texts["shapes"], "coverage-units"),
                  paint=ui.browser_file(texts["paint"], "coverage-paint"),
                  style={"color": "#33415c", "weight": 1, "fillOpacity": 0.45},
                  aliases=texts["aliases"], interactive=True, z=380),
        HeldLayer("area", url=ui.browser_file(texts["area"], "coverage-area"),
                  style={"color": colour, "weight": 2.5 if texts["lines"] else 0.5,
                         "opacity": 0.8, "fillColor": colour, "fillOpacity": 0.15}, z=390),
    ], legend=texts["legend"]).add_to(group)
    st_folium(base_coverage_map(), key="coverage_map", height=600, use_container_width=True,
              feature_group_to_add=group, returned_objects=[])


coloured_map()

st.subheader(_("By facility type"))
st.dataframe({
    _("facility type"): types["type"].map(type_name),
    _("radius m"): types["service_radius_m"].map(ui.number),
    _("facilities"): types["facilities"].map(ui.number),
    _("residents"): types["residents"].map(ui.number),
    _("covered"): types["covered"].map(ui.number),
    _("share covered"): types["share_covered"].map(pct),
    _("median distance m"): types["median_distance_m"].map(ui.number),
}, hide_index=True, width="stretch")
st.subheader(_("By category of public affairs"))
cats = result.category_table
st.dataframe({
    _("category"): cats["name_zh"] if LANG == "zh" else cats["name"],
    _("facility types"): cats["category"].map(lambda c: "、".join(
        type_name(t) for t in types.loc[types["category"] == c, "type"]) or "—")
    if LANG == "zh" else cats["facility_types"].astype(str),
    _("lowest share covered"): cats["lowest_share_covered"].map(pct),
}, hide_index=True, width="stretch")

levels = [lv for lv in ("street", "community", "grid") if lv in result.unit_tables]
level = st.radio(_("Units"), levels, horizontal=True, key="cov_level",
                 index=levels.index("community") if "community" in levels else 0,
                 format_func=lambda lv: _(ui.LEVEL_NAMES[lv]))
table = result.unit_tables[level]
ftype = st.selectbox(_("Facility type"), list(types["type"]), key="table_type",
                     format_func=type_name)
shown = table[table["type"] == ftype].sort_values("share_covered")
st.session_state["coverage_rows"] = shown
st.dataframe({
    _("name"): shown["name"].astype(str),
    _("share covered"): shown["share_covered"],
    _("residents"): shown["residents"].map(ui.number),
    _("covered"): shown["covered"].map(ui.number),
    _("farthest m"): shown["farthest_m"].map(ui.number),
    _("m² per 100 households"): shown["m2_per_100hh"].map(lambda v: ui.number(v, 1)),
    _("code"): shown["code"].astype(str),
}, hide_index=True, width="stretch",
    column_config={_("share covered"): st.column_config.ProgressColumn(
        min_value=0.0, max_value=1.0, format="percent")})

st.subheader(_("Facilities"))
fac = result.facility_table
st.dataframe({
    _("name"): fac["name"].astype(str),
    _("facility type"): fac["type"].map(type_name),
    _("floor area m²"): fac["floor_area_m2"].map(ui.number),
    _("minimum m²"): fac["min_floor_area_m2"].map(ui.number),
    _("m² per 100 households"): fac["m2_per_100hh_in_catchment"].map(lambda v: ui.number(v, 1)),
    _("status"): fac["status"].map(lambda v: _(ui.FACILITY_STATUS.get(v, "—"))),
}, hide_index=True, width="stretch")
with st.expander(_("Findings ({n})", n=len(result.findings))):
    st.dataframe({
        _("severity"): [_(ui.SEVERITY_TEXT.get(f.severity, f.severity))
                        for f in result.findings],
        _("name"): [f.name or f.code or "—" for f in result.findings],
        _("finding"): [ui.finding_message(f) for f in result.findings],
    }, hide_index=True, width="stretch",
        column_config={_("finding"): st.column_config.TextColumn(width="large")})
with st.expander(_("Where the figures come from")):
    st.caption(" · ".join(f"**{_(ui.PROVENANCE_TEXT.get(k, k))}**: {ui.plain(ui.said(v))}"
                          for k, v in result.provenance.items()))

# ------------------------------------------------------------------ where to add sites
st.subheader(_("Where new facilities would cover most"))
c1, c2, c3 = st.columns(3)
site_type = c1.selectbox(_("Facility type"), list(types["type"]), key="site_type",
                         format_func=type_name)
k = c2.number_input(_("New sites"), min_value=1, max_value=50, value=3, key="site_k")
capacity = c3.checkbox(_("Respect capacity (floor area per 100 households)"),
                       key="site_capacity")
if st.button(_("Propose sites"), key="propose_sites"):
    from geo.siting.api import propose_sites

    st.session_state["siting"] = propose_sites(
        result.district, result.rulebook, facility_type=site_type, k=int(k),
        capacity=capacity, network=result.network, demand=result.demand,
        facilities=result.facilities, progress=ui.progress_bar(_("Choosing the sites…")))
siting = st.session_state.get("siting")
if siting is not None and siting.summary.get("facility_type") != site_type:
    siting = None  # a result for another type is not shown under this one
if siting is not None:
    s = siting.summary
    st.success(_("{before} → {after} residents covered ({method})",
                 before=ui.number(s.get("covered_before")),
                 after=ui.number(s.get("covered_after")),
                 method=ui.said(s.get("method_text", s.get("method", "")))))
    sites = siting.sites
    st.dataframe({
        _("rank"): sites["rank"].map(ui.number),
        _("name"): sites["name"].astype(str),
        _("newly covered"): sites["newly_covered"].map(ui.number),
    }, hide_index=True, width="stretch")
    sm = coverage_map(result, facility_type=site_type, sites=sites,
                      labels=map_labels(site_type), areas=areas_of(result))
    ui.with_basemap(sm, basemap)
    st_folium(sm, key="siting_map", height=520, use_container_width=True, returned_objects=[])
