"""wangge — the browser app. Navigation and shared state only; no GIS logic here."""

import streamlit as st

import ui

st.set_page_config(page_title="wangge 网格", page_icon="🗺️", layout="wide")
ui.language_picker()
t = ui.t

pages = [
    st.Page("views/boundaries.py", title=t("nav.boundaries"), icon="🗺️", default=True),
    st.Page("views/compare.py", title=t("nav.compare"), icon="⚖️", url_path="compare"),
    st.Page("views/overview.py", title=t("nav.check"), icon="🏙️", url_path="check"),
    st.Page("views/coverage.py", title=t("nav.coverage"), icon="🏥", url_path="coverage"),
    st.Page("views/export.py", title=t("nav.export"), icon="📦", url_path="export"),
    st.Page("views/data.py", title=t("nav.data"), icon="📂", url_path="data"),
]
st.navigation(pages).run()
