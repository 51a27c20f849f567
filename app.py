"""wangge — the browser app. Navigation and shared state only; no GIS logic here."""

import streamlit as st

st.set_page_config(page_title="wangge 网格", page_icon="🗺️", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Streets 街道", icon="🏙️", default=True),
    st.Page("pages/coverage.py", title="Coverage 服务覆盖", icon="🏥"),
]
st.navigation(pages).run()
