"""ragloom's Streamlit app, shipped in the package: ``ragloom ui`` runs this file with
``streamlit run``; ``app.py`` at the repository root calls the same :func:`main`.

One multipage app; each page is a thin module in ``ragloom.ui`` over the same functions the CLI
and the HTTP API call. Settings are loaded once per browser session (defaults < ragloom.toml <
RAGLOOM_*).
"""

from __future__ import annotations

import logging

import streamlit as st

from ragloom.core import private
from ragloom.ui import (
    page_ask,
    page_documents,
    page_evals,
    page_models,
    page_prompts,
    page_review,
    page_settings,
    page_traces,
)
from ragloom.ui.state import settings


def main() -> None:
    """One run of the script (Streamlit reruns it on every interaction)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    private.restrict_new_files()  # this script is the web app's process: what it writes is 0600/0700

    st.set_page_config(page_title="ragloom", page_icon="🧶", layout="wide")

    pages = [
        st.Page(page_ask.render, title="Ask", icon=":material/forum:", url_path="ask",
                default=True),
        st.Page(page_documents.render, title="Documents", icon=":material/description:",
                url_path="documents"),
        st.Page(page_prompts.render, title="Prompts", icon=":material/edit_note:",
                url_path="prompts"),
        st.Page(page_evals.render, title="Evaluations", icon=":material/bar_chart:",
                url_path="evaluations"),
        st.Page(page_review.render, title="Review", icon=":material/rate_review:",
                url_path="review"),
        st.Page(page_traces.render, title="Traces", icon=":material/timeline:",
                url_path="traces"),
        st.Page(page_models.render, title="Models", icon=":material/memory:", url_path="models"),
        st.Page(page_settings.render, title="Settings & health", icon=":material/settings:",
                url_path="settings"),
    ]

    page = st.navigation(pages)
    s = settings()
    private.private_dir(s.home)  # 0700, also an existing home made by an older version
    st.sidebar.caption(f"ragloom · chat `{s.chat}` · embedding `{s.embedding}` · home `{s.home}`")
    page.run()


if __name__ == "__main__":  # `streamlit run .../ragloom/ui/app.py`
    main()
