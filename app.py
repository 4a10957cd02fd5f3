"""ragloom's Streamlit app: `streamlit run app.py`.

One multipage app; each page is a thin module in ``ui/`` over the same functions the CLI and the
HTTP API call. Settings are loaded once per browser session (defaults < ragloom.toml < RAGLOOM_*).
"""

from __future__ import annotations

import logging

import streamlit as st

from core import private
from ui import page_ask, page_documents, page_evals, page_prompts, page_settings
from ui.state import settings

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
private.restrict_new_files()  # this script is the web app's process: what it writes is 0600/0700

st.set_page_config(page_title="ragloom", page_icon="🧶", layout="wide")

PAGES = [
    st.Page(page_ask.render, title="Ask", icon=":material/forum:", url_path="ask", default=True),
    st.Page(page_documents.render, title="Documents", icon=":material/description:", url_path="documents"),
    st.Page(page_prompts.render, title="Prompts", icon=":material/edit_note:", url_path="prompts"),
    st.Page(page_evals.render, title="Evaluations", icon=":material/bar_chart:", url_path="evaluations"),
    st.Page(page_settings.render, title="Settings & health", icon=":material/settings:", url_path="settings"),
]

page = st.navigation(PAGES)
s = settings()
private.private_dir(s.home)  # 0700, also an existing home made by an older version
st.sidebar.caption(f"ragloom · chat `{s.chat}` · embedding `{s.embedding}` · home `{s.home}`")
page.run()
