"""Data: use the built-in sample or upload a district, map its layers and columns, check it."""

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

import ui
from geo import LEVELS, settings
from geo.district.hierarchy import build_district
from geo.district.ingest import assign_levels, guess_columns, guess_level
from geo.district.model import FIELDS
from geo.errors import WanggeError
from geo.io import read_layers, save_uploads
from geo.maps.preview import preview_map
from geo.maps.view import make_offline
from geo.project import new_upload_dir
from geo.report import check_report

_ = ui._
st.title(_("Data"))

if st.button(_("Built-in sample district (fictional)"), key="use_sample"):
    st.query_params["project"] = "sample"
    st.query_params["plan"] = "current"
    for k in ("plan", "selection", "upload_layers"):
        st.session_state.pop(k, None)
    st.switch_page("views/boundaries.py", query_params={**ui.carried(), "project": "sample",
                                                         "plan": "current", "lang": ui.lang()})

st.subheader(_("Upload your own district"))
st.caption(_("GeoJSON, GeoPackage, Shapefile (.shp with .dbf/.shx/.prj/.cpg, or zipped), CSV "
             "with lon/lat or WKT. Up to {mb} MB in all.", mb=settings.upload_max_mb))
uploads = st.file_uploader(_("Files"), accept_multiple_files=True, key="uploads",
                           label_visibility="collapsed")
coords = st.radio(_("Coordinates"), ["wgs84", "gcj02", "bd09"], horizontal=True, key="coords",
                  format_func={"wgs84": "WGS-84 / CGCS2000", "gcj02": _("GCJ-02 (Amap, Tencent)"),
                               "bd09": _("BD-09 (Baidu)")}.get)
o1, o2, o3 = st.columns(3)
crs_text = o1.text_input(_("CRS for files without one (e.g. EPSG:4549)"), key="upload_crs")
repair = o2.checkbox(_("Repair invalid polygons"), key="upload_repair",
                     help=_("Otherwise invalid polygons are only reported."))
spatial = o3.checkbox(_("Link parents by largest overlap"), key="upload_spatial",
                      help=_("When there is no parent code column and codes do not nest."))
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
        st.error(ui.friendly(exc))
        st.stop()
    st.markdown(_("**{n} layer(s) found.** Check each layer's level and columns.", n=len(layers)))
    chosen: dict[str, str] = {}
    per_layer: dict[str, dict[str, str]] = {}
    for k, lay in enumerate(layers):
        guess, why = guess_level(lay)
        opts = ["—", *LEVELS]
        c1, c2 = st.columns([1, 3])
        level = c1.selectbox(ui.said(lay.source), opts,
                             index=opts.index(guess) if guess else 0, key=f"level_{k}",
                             help=_("guessed from {why}", why=ui.said(why)) if why else None,
                             format_func=lambda lv: _(ui.LEVEL_TEXT.get(lv, lv)))
        if level != "—":
            chosen[lay.name] = level
        found = guess_columns(list(lay.frame.columns), level=guess)
        cols = ["—", *[str(c) for c in lay.frame.columns if c != "geometry"]]
        with c2:
            fc = st.columns(len(FIELDS))
            for j, fld in enumerate(FIELDS):
                pick = fc[j].selectbox(_(ui.FIELD_TEXT.get(fld, fld)), cols,
                                       index=cols.index(found[fld]) if fld in found else 0,
                                       key=f"col_{k}_{fld}")
                if pick != "—" and found.get(fld) != pick:
                    per_layer.setdefault(lay.name, {})[fld] = pick
        st.dataframe(pd.DataFrame(lay.frame.drop(columns="geometry").head(3)), hide_index=True)
    st.subheader(_("Where the layers lie"))
    try:
        preview = preview_map(
            [(ui.said(lay.source), lay.frame, chosen.get(lay.name)) for lay in layers],
            legend_title=_("Layers"), unknown_name=_("level not chosen"),
            level_names={lv: _(ui.LEVEL_NAMES[lv]) for lv in LEVELS})
    except WanggeError as exc:
        st.warning(ui.friendly(exc))
    else:
        make_offline(preview)
        st_folium(preview, key="data_preview", height=460, use_container_width=True,
                  returned_objects=[])
        st.caption(_("Outlines only: streets on top, then communities and grids; a dashed layer "
                     "has no level yet. A layer far from the others usually has the wrong "
                     "coordinates (set the CRS or GCJ-02 above)."))
    if st.button(_("Check"), key="check_upload", type="primary"):
        try:
            picked, notes = assign_levels(layers, layer_levels=chosen)
            level_columns = {lv: per_layer[lay.name] for lv, lay in picked.items()
                             if lay.name in per_layer}
            d = build_district(picked, level_columns=level_columns, notes=notes, repair=repair,
                               link="spatial" if spatial else "auto",
                               household_size=ui.rulebook().household_size)
            st.session_state["upload_district"] = d
        except WanggeError as exc:
            st.error(ui.friendly(exc))
    d = st.session_state.get("upload_district")
    if d is not None:
        report = check_report(d, ui.rulebook())
        s = report.summary
        st.success(" · ".join(f"{_(ui.LEVEL_TEXT[lv])}: {v['units']}"
                              for lv, v in s["levels"].items())
                   + " · " + _("findings: {errors} errors, {warnings} warnings",
                               errors=s["findings"]["error"],
                               warnings=s["findings"]["warning"]))
        found = report.findings
        st.dataframe({
            _("severity"): [_(ui.SEVERITY_TEXT.get(f.severity, f.severity)) for f in found],
            _("level"): [_(ui.LEVEL_TEXT.get(f.level, f.level)) for f in found],
            _("name"): [f.name or f.code or "—" for f in found],
            _("finding"): [ui.finding_message(f) for f in found],
        }, hide_index=True, width="stretch",
            column_config={_("finding"): st.column_config.TextColumn(width="large")})
        problem = ui.edit_problem(d)
        if problem is not None:
            st.warning(ui.plain(problem))
        if st.button(_("Use this data"), key="use_upload"):
            key = ui.open_project(d)
            st.switch_page("views/boundaries.py" if problem is None else "views/overview.py",
                           query_params={**ui.carried(), "project": key, "plan": "current",
                                         "lang": ui.lang()})
