"""Data: use the built-in sample or upload a district, map its layers and columns, check it."""

from pathlib import Path

import pandas as pd
import streamlit as st

import ui
from geo import LEVELS, settings
from geo.errors import WanggeError
from geo.hierarchy import FIELDS, assign_levels, build_district, guess_columns, guess_level
from geo.io import read_layers, save_uploads
from geo.project import new_upload_dir
from geo.report import check_report

t = ui.t
st.title(t("nav.data"))

if st.button(t("data.sample"), key="use_sample"):
    st.query_params["project"] = "sample"
    st.query_params["plan"] = "current"
    for k in ("plan", "selection", "upload_layers"):
        st.session_state.pop(k, None)
    st.switch_page("views/boundaries.py", query_params={"project": "sample", "plan": "current"})

st.subheader(t("data.upload"))
st.caption(f"GeoJSON, GeoPackage, Shapefile (.shp with .dbf/.shx/.prj/.cpg, or zipped), CSV with "
           f"lon/lat or WKT. Up to {settings.upload_max_mb} MB in all.")
uploads = st.file_uploader("files", accept_multiple_files=True, key="uploads",
                           label_visibility="collapsed")
coords = st.radio("coordinates", ["wgs84", "gcj02", "bd09"], horizontal=True, key="coords",
                  format_func={"wgs84": "WGS-84 / CGCS2000", "gcj02": "GCJ-02 (Amap, Tencent)",
                               "bd09": "BD-09 (Baidu)"}.get)
o1, o2, o3 = st.columns(3)
crs_text = o1.text_input("CRS for files without one (e.g. EPSG:4549)", key="upload_crs")
repair = o2.checkbox("Repair invalid polygons", key="upload_repair",
                     help="Otherwise invalid polygons are only reported.")
spatial = o3.checkbox("Link parents by largest overlap", key="upload_spatial",
                      help="When there is no parent code column and codes do not nest.")
if uploads:
    try:
        workdir = Path(st.session_state.get("upload_dir") or new_upload_dir())
        if not workdir.is_dir():  # removed as stale while the tab stood idle
            workdir = new_upload_dir()
        st.session_state["upload_dir"] = str(workdir)
        for old in workdir.glob("*"):
            if old.is_file():
                old.unlink()
        save_uploads([(u.name, u.getvalue()) for u in uploads], workdir)
        layers = read_layers(workdir, coords=coords, crs=crs_text.strip() or None)
    except WanggeError as exc:
        st.error(ui.plain(exc))
        st.stop()
    st.markdown(f"**{len(layers)} layer(s) found.** Check each layer's level and columns.")
    chosen: dict[str, str] = {}
    per_layer: dict[str, dict[str, str]] = {}
    for k, lay in enumerate(layers):
        guess, why = guess_level(lay)
        opts = ["—", *LEVELS]
        c1, c2 = st.columns([1, 3])
        level = c1.selectbox(lay.source, opts, index=opts.index(guess) if guess else 0,
                             key=f"level_{k}", help=f"guessed from {why}" if why else None)
        if level != "—":
            chosen[lay.name] = level
        found = guess_columns(list(lay.frame.columns))
        cols = ["—", *[str(c) for c in lay.frame.columns if c != "geometry"]]
        with c2:
            fc = st.columns(len(FIELDS))
            for j, fld in enumerate(FIELDS):
                pick = fc[j].selectbox(fld, cols, index=cols.index(found[fld]) if fld in found
                                       else 0, key=f"col_{k}_{fld}")
                if pick != "—" and found.get(fld) != pick:
                    per_layer.setdefault(lay.name, {})[fld] = pick
        st.dataframe(pd.DataFrame(lay.frame.drop(columns="geometry").head(3)), hide_index=True)
    if st.button("Check", key="check_upload", type="primary"):
        try:
            picked, notes = assign_levels(layers, layer_levels=chosen)
            level_columns = {lv: per_layer[lay.name] for lv, lay in picked.items()
                             if lay.name in per_layer}
            d = build_district(picked, level_columns=level_columns, notes=notes, repair=repair,
                               link="spatial" if spatial else "auto",
                               household_size=ui.rulebook().household_size)
            st.session_state["upload_district"] = d
        except WanggeError as exc:
            st.error(ui.plain(exc))
    d = st.session_state.get("upload_district")
    if d is not None:
        report = check_report(d, ui.rulebook())
        s = report.summary
        st.success(" · ".join(f"{lv}: {v['units']}" for lv, v in s["levels"].items())
                   + f" · findings: {s['findings']['error']} errors, "
                   f"{s['findings']['warning']} warnings")
        st.dataframe(report.findings_frame()[["severity", "rule", "level", "name", "code",
                                              "message"]], hide_index=True, width="stretch")
        if "street" not in d.units:
            st.warning("The district has no street level, so boundaries cannot be edited yet.")
        elif st.button(t("data.use"), key="use_upload"):
            try:
                key = ui.open_project(d)
            except WanggeError as exc:  # e.g. the server's disk is full
                st.error(ui.plain(exc))
                st.stop()
            st.switch_page("views/boundaries.py",
                           query_params={"project": key, "plan": "current"})
