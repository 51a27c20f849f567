"""wangge — the browser app. Navigation and shared state live in ui.py; no GIS logic here."""

import streamlit as st

import ui

st.set_page_config(page_title="wangge 网格", page_icon="🗺️", layout="wide")
ui.app()
