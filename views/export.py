"""Export: the current plan as GeoJSON, GeoPackage, zipped Shapefile and the CSV table."""

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

import ui
from geo.errors import WanggeError
from geo.hierarchy import build_district
from geo.io import write_csv, write_units
from geo.report import check_report

t = ui.t
plan, store, district = ui.plan()
rb = ui.rulebook()
st.title(f"{t('export.title')} · {ui.plain(plan.name)}")


@st.cache_data(show_spinner="Preparing the files…", max_entries=8)
def exports(plan_name: str, state_key: str, _plan) -> dict[str, bytes]:
    units = _plan.to_units()
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = write_units(units, d / "geojson", fmt="geojson")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, f.name)
        out["geojson.zip"] = buf.getvalue()
        out["streets.geojson"] = (d / "geojson" / "streets.geojson").read_bytes()
        out["gpkg"] = write_units(units, d / "plan.gpkg", fmt="gpkg")[0].read_bytes()
        out["shp.zip"] = write_units(units, d / "plan.zip", fmt="shp")[0].read_bytes()
        out["csv"] = write_units(units, d / "plan.csv", fmt="csv")[0].read_bytes()
        report = check_report(build_district(units, household_size=rb.household_size), rb)
        out["report.json"] = report.to_json().encode("utf-8")
        findings = io.StringIO()
        write_csv(report.findings_frame(), findings)
        out["findings.csv"] = findings.getvalue().encode("utf-8-sig")
    return out


state_key = f"{len(plan.undo_stack)}-{len(plan.redo_stack)}-{hash(plan.assignment.tobytes())}"
try:
    files = exports(plan.name, state_key, plan)
except WanggeError as exc:  # e.g. the server's disk is full: say so, no traceback
    st.error(ui.plain(exc))
    st.stop()
stem = f"wangge-{plan.name}"
st.download_button("GeoJSON (streets, communities, grids) · .zip", files["geojson.zip"],
                   f"{stem}-geojson.zip", "application/zip", key="dl_geojson")
st.download_button("GeoJSON streets only", files["streets.geojson"], f"{stem}-streets.geojson",
                   "application/geo+json", key="dl_streets")
st.download_button("GeoPackage", files["gpkg"], f"{stem}.gpkg", "application/geopackage+sqlite3",
                   key="dl_gpkg")
st.download_button("Shapefile · .zip", files["shp.zip"], f"{stem}-shp.zip", "application/zip",
                   key="dl_shp")
st.download_button("Unit → street CSV", files["csv"], f"{stem}.csv", "text/csv", key="dl_csv")
st.subheader(t("export.report"))
st.download_button("Check report · JSON", files["report.json"], f"{stem}-check.json",
                   "application/json", key="dl_report")
st.download_button("Findings · CSV", files["findings.csv"], f"{stem}-findings.csv", "text/csv",
                   key="dl_findings")
st.caption("GeoJSON follows RFC 7946 (WGS-84, counter-clockwise exteriors); the Shapefile "
           "carries a .cpg and UTF-8 names; the CSV opens in spreadsheets with Chinese names.")
