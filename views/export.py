"""Export: the open plan (or the district as loaded) as GeoJSON, GeoPackage, Shapefile and CSV."""

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

import ui
from geo.errors import WanggeError
from geo.hierarchy import build_district, renumber_units
from geo.io import write_csv, write_units
from geo.report import check_report

_ = ui._
rb = ui.rulebook()


@st.cache_data(show_spinner=False, max_entries=8)
def exports(state_key: str, renumber: bool, _plan, _district) -> dict[str, bytes]:
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
        findings = io.StringIO()
        write_csv(report.findings_frame(), findings)
        out["findings.csv"] = findings.getvalue().encode("utf-8-sig")
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
        files = exports(state, renumber, plan, district)
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
st.subheader(_("Check report"))
st.download_button(_("Check report · JSON"), files["report.json"], f"{stem}-check.json",
                   "application/json", key="dl_report")
st.download_button(_("Findings · CSV"), files["findings.csv"], f"{stem}-findings.csv",
                   "text/csv", key="dl_findings")
st.caption(_("GeoJSON follows RFC 7946 (WGS-84, counter-clockwise exteriors); the Shapefile "
             "carries a .cpg and UTF-8 names; the CSV opens in spreadsheets with Chinese "
             "names."))
