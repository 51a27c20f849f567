"""Export: the open plan (or the district as loaded) as GeoJSON, GeoPackage, Shapefile and CSV."""

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

import ui
from geo.district.edit import renumber_units
from geo.district.hierarchy import build_district
from geo.errors import WanggeError
from geo.io import write_csv, write_units
from geo.report import check_report

_ = ui._
rb = ui.rulebook()


@st.cache_data(show_spinner=False, max_entries=8)
def exports(state_key: str, renumber: bool, lang: str, _plan, _district) -> dict[str, bytes]:
    """The plan's files; ``lang`` (the findings' language) is part of the cache key."""
    units = _plan.to_units() if _plan is not None else _district.units
    out: dict[str, bytes] = {}
    if renumber:
        units, table = renumber_units(units)
        buf_table = io.StringIO()
        write_csv(table, buf_table)
        out["renumbering.csv"] = buf_table.getvalue().encode("utf-8-sig")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = write_units(units, d / "geojson", fmt="geojson")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
        out["geojson.zip"] = buf.getvalue()
        for f in files:
            out[f.name] = f.read_bytes()
        out["gpkg"] = write_units(units, d / "plan.gpkg", fmt="gpkg")[0].read_bytes()
        out["shp.zip"] = write_units(units, d / "plan.zip", fmt="shp")[0].read_bytes()
        if len(units) > 1:
            out["csv"] = write_units(units, d / "plan.csv", fmt="csv")[0].read_bytes()
        report = check_report(build_district(units, household_size=rb.household_size), rb)
        out["report.json"] = report.to_json().encode("utf-8")
        out["findings.csv"] = ui.findings_csv(report.findings)
    return out


state, plan, district = ui.open_units()
name = plan.name if plan is not None else "as-loaded"
title = ui.plan_label(plan.name) if plan is not None else _("as loaded")
st.title(f"{_('Export')} · {ui.plain(title)}")
if plan is None:
    st.info(ui.edit_problem(district))
else:
    st.caption(ui.plain(_("Exporting the plan {name}; pick another plan in the sidebar.",
                          name=ui.plan_label(plan.name))))
renumber = st.checkbox(
    _("Renumber communities that moved to another street, and their grids"), key="renumber",
    help=_("Statistical codes carry their street's digits: a community moved to another street "
           "gets the next free code under it, its grids follow. The old → new table comes "
           "with the files."))
try:
    with st.spinner(_("Preparing the files…")):
        files = exports(state, renumber, ui.lang(), plan, district)
except WanggeError as exc:  # e.g. the server's disk is full: say so, no traceback
    st.error(ui.friendly(exc))
    st.stop()
st.session_state["export_files"] = files
stem = f"wangge-{name}"
st.download_button(_("GeoJSON (every level) · .zip"), files["geojson.zip"],
                   f"{stem}-geojson.zip", "application/zip", key="dl_geojson")
if "streets.geojson" in files:
    st.download_button(_("GeoJSON streets only"), files["streets.geojson"],
                       f"{stem}-streets.geojson", "application/geo+json", key="dl_streets")
st.download_button("GeoPackage", files["gpkg"], f"{stem}.gpkg",
                   "application/geopackage+sqlite3", key="dl_gpkg")
st.download_button(_("Shapefile · .zip"), files["shp.zip"], f"{stem}-shp.zip",
                   "application/zip", key="dl_shp")
if "csv" in files:
    st.download_button(_("Unit → street table · CSV"), files["csv"], f"{stem}.csv", "text/csv",
                       key="dl_csv")
if "renumbering.csv" in files:
    st.download_button(_("Renumbering: old → new codes · CSV"), files["renumbering.csv"],
                       f"{stem}-renumbering.csv", "text/csv", key="dl_renumbering")
st.subheader(_("Map for reports"))
if plan is None:
    st.caption(_("A printed map shows a plan's streets: open a district with streets and "
                 "communities."))
else:
    st.caption(_("The plan shown here as PNG or PDF: communities filled by street, streets "
                 "outlined by their status, legend, north arrow, scale bar and title."))
    printed = st.session_state.get("print_map")
    map_key = f"{state}|{ui.lang()}"
    if printed is not None and printed.get("key") != map_key:
        printed = None  # drawn for another state of the plan or in the other language
    if printed is None and st.button(_("Draw the map"), key="draw_print_map"):
        from geo.maps.mapprint import chinese_font, plan_map_bytes

        options = {"district_name": ui.district()[1], "plan_name": title, "lang": ui.lang()}
        try:
            with st.spinner(_("Drawing the map…")):
                printed = {"key": map_key,
                           **{fmt: plan_map_bytes(plan, rb, fmt=fmt, **options)
                              for fmt in ("png", "pdf")}}
        except WanggeError as exc:
            st.error(ui.friendly(exc))
            st.stop()
        st.session_state["print_map"] = printed
        if chinese_font() is None:
            st.warning(_("No font that draws Chinese is installed on the server: Chinese names "
                         "on the map show as empty boxes. Install fonts-noto-cjk or "
                         "fonts-wqy-microhei."))
    if printed is not None:
        m1, m2 = st.columns(2)
        m1.download_button(_("Map · PNG"), printed["png"], f"{stem}-map.png", "image/png",
                           key="dl_map_png")
        m2.download_button(_("Map · PDF"), printed["pdf"], f"{stem}-map.pdf",
                           "application/pdf", key="dl_map_pdf")
st.subheader(_("Check report"))
st.download_button(_("Check report · JSON"), files["report.json"], f"{stem}-check.json",
                   "application/json", key="dl_report")
st.download_button(_("Findings · CSV"), files["findings.csv"], f"{stem}-findings.csv",
                   "text/csv", key="dl_findings")
st.caption(_("GeoJSON follows RFC 7946 (WGS-84, counter-clockwise exteriors); the Shapefile "
             "carries a .cpg and UTF-8 names; the CSV opens in spreadsheets with Chinese "
             "names."))
