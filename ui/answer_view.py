"""One answered turn: text with linked citations, the sources panel, feedback, and the trace."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ragloom.ui.citations import (
    anchor,
    claims_for,
    evidence_range,
    highlighted_html,
    link_markers,
    mark_unverified_html,
    source_label,
    supporting_span,
)
from ragloom.ui.state import settings, shown_errors

if TYPE_CHECKING:
    from ragloom.agents.service import Answer

CSS = """<style>
.ragloom-answer { line-height: 1.6; }
a.ragloom-cite { text-decoration: none; font-weight: 600; padding: 0 1px; }
.ragloom-source { border-left: 3px solid #d0d4dc; padding: 0.3rem 0.8rem; margin: 0.4rem 0; }
.ragloom-source:target { border-left-color: #ff4b4b; background: rgba(255, 75, 75, 0.06); }
.ragloom-source mark { background: #ffe58a; padding: 0 2px; }
.ragloom-unverified { text-decoration: underline wavy #e8833a; color: #8a4b12; }
</style>"""


def _verdict(answer: Answer) -> str:
    """Green "grounded", orange "not verified" (Streamlit colour markup), with the claim count."""
    check = {True: ":green[**grounded**]", False: ":orange[**not verified**]",
             None: "unchecked"}[answer.grounded]
    if answer.claims:
        supported = sum(c.supported for c in answer.claims)
        check += f" · {supported}/{len(answer.claims)} claims supported"
    return check


def _summary(answer: Answer) -> str:
    check = _verdict(answer)
    calls = sum(answer.model_calls.values())
    prompts = " ".join(answer.prompts.values()) or "no prompt"
    u = answer.usage
    tokens = f" · {u.total_tokens:,} tokens" if u.calls else ""
    cost = f" · ${u.cost_usd:.4f}" if u.calls and u.cost_usd else ""  # a free model shows none
    return (f"{answer.graph} · {check} · {calls} model call(s){tokens}{cost} · {prompts} · "
            f"{answer.models.get('chat', '?')} · {answer.timings.get('total', 0.0):.1f}s")


def render_sources(answer: Answer, turn: int) -> None:
    """Every cited chunk with its source, page and the span that supports the claim marked."""
    if not answer.citations:
        if not answer.refused:
            st.caption("No citations: the answer could not be tied to a source chunk.")
        return
    with st.expander(f"Sources · {len(answer.citations)} cited", expanded=True):
        for c in answer.citations:
            # The claim check's evidence sentence(s) in this chunk; the word-overlap guess only
            # for answers saved before claims were checked (nothing else may pick a span).
            spans = [evidence_range(c.text, v.spans[v.support.index(c.n)])
                     for v in answer.claims if c.n in v.support]
            span = next((s for s in spans if s), None) if answer.claims else supporting_span(
                c.text, claims_for(answer.answer, c.n))
            how = "" if c.method == "model" else " · attributed by the claim check"
            st.markdown(
                f'<div class="ragloom-source" id="{anchor(turn, c.n)}"><b>[{c.n}] '
                f'{source_label(c.source, c.page, c.chunk_index)}</b>'
                f'<span style="opacity:.6">{how}</span><br>{highlighted_html(c.text, span)}</div>',
                unsafe_allow_html=True)
            label = f"Open page {c.page}" if c.page else "Open the document"
            if answer.collection and st.toggle(label, key=f"open-{turn}-{c.n}"):
                from ragloom.ui.document_view import render_document

                render_document(settings(), answer.collection, c.source, c.page, c.text,
                                c.text[span[0]:span[1]] if span else None)


def render_feedback(answer: Answer, turn: int) -> None:
    """Thumbs up/down and a comment, stored with the answer's trace."""
    if not answer.trace_id:
        return
    done = st.session_state.setdefault("ragloom_rated", {})
    cols = st.columns([1, 4, 1], vertical_alignment="bottom")
    with cols[0]:
        thumbs = st.feedback("thumbs", key=f"thumbs-{answer.trace_id}")
    with cols[1]:
        comment = st.text_input("Comment", key=f"comment-{answer.trace_id}",
                                placeholder="What was right or wrong? (optional)",
                                label_visibility="collapsed")
    with cols[2]:
        send = st.button("Send", key=f"send-{answer.trace_id}", disabled=thumbs is None)
    if send and thumbs is not None:
        from ragloom.agents.service import rate_answer

        with shown_errors("saving feedback"):
            rate_answer(settings(), answer.trace_id, "up" if thumbs == 1 else "down", comment)
            done[answer.trace_id] = "up" if thumbs == 1 else "down"
    if answer.trace_id in done:
        st.caption(f"Feedback saved ({done[answer.trace_id]}) with trace {answer.trace_id}.")


def render_trace(answer: Answer) -> None:
    """The "why this answer" view: the trace view of the Traces page, under the answer."""
    if not answer.trace_id:
        return
    with st.expander("Why this answer?"):
        from ragloom.agents.service import get_trace
        from ragloom.ui.trace_view import render_trace_detail

        with shown_errors("loading the trace"):
            render_trace_detail(get_trace(settings(), answer.trace_id))


def render_answer(answer: Answer, turn: int) -> None:
    cited = {c.n for c in answer.citations}
    linked = mark_unverified_html(link_markers(answer.answer, turn, cited))
    st.markdown(f'<div class="ragloom-answer">{linked}</div>', unsafe_allow_html=True)
    st.caption(_summary(answer))
    for claim in answer.claims:
        if not claim.supported:
            why = ", ".join(claim.missing[:5]) or "no source supports it"
            st.caption(f":orange[not verified]: {claim.text} (missing: {why})")
    render_sources(answer, turn)
    render_feedback(answer, turn)
    render_trace(answer)
