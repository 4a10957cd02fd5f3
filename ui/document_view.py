"""The document viewer behind a citation: the PDF page rendered with the supporting passage
highlighted, or a text document's words around the cited chunk with the chunk marked."""

from __future__ import annotations

import html

import streamlit as st

from ragloom.core.settings import Settings
from ragloom.ui.state import shown_errors


def render_document(s: Settings, collection: str, source: str, page: int | None, chunk: str,
                    passage: str | None) -> None:
    """Show ``source`` of ``collection`` where ``chunk`` is, ``passage`` (the evidence) marked."""
    from ragloom.retrieval.documents import opened_source, render_pdf_page, text_view

    name = source.removeprefix("upload://").rsplit("/", 1)[-1]
    with shown_errors(f"opening {name}"), opened_source(s, collection, source) as path:
        if path.suffix.lower() == ".pdf" and page:
            image = render_pdf_page(path, page, passage or chunk)
            if not image.highlighted and passage:  # the span's lines did not match: the chunk
                image = render_pdf_page(path, page, chunk)
            note = ("the cited passage is highlighted" if image.highlighted
                    else "the passage could not be located on the page (scanned or reflowed text)")
            st.image(image.png, caption=f"{name} · page {page} of {image.pages} · {note}",
                     width=720)
            return
        view = text_view(path, chunk)
        if not view.found:
            st.caption(f"{name}: the chunk could not be located in the file as it is now.")
        st.markdown(
            '<div class="ragloom-document" style="max-height:28em;overflow-y:auto;'
            'white-space:pre-wrap;border:1px solid rgba(128,128,128,.3);padding:.6em">'
            f"{html.escape(view.before)}<mark>{html.escape(view.passage)}</mark>"
            f"{html.escape(view.after)}</div>", unsafe_allow_html=True)
        st.caption(f"{name} around the cited chunk")
