"""Review page: the queue of answers to look at (👎, citations the check dropped, low eval
scores). A reviewer reads the question, answer, sources and trace, writes the reference and the
gold sources, and accepts the item into a suite's dataset (a new dataset version) or discards it."""

from __future__ import annotations

import datetime
import getpass
from typing import Any

import streamlit as st

from ragloom.core.settings import Settings
from ragloom.ui.state import settings, shown_errors
from ragloom.ui.trace_view import render_trace_detail

KINDS = {"thumbs-down": "👎", "citations-dropped": "✂️ citations dropped", "low-score": "📉 low score"}
DONE_KEY = "ragloom_review_done"


def _label(item: dict[str, Any]) -> str:
    when = datetime.datetime.fromtimestamp(item["created"]).strftime("%m-%d %H:%M")
    return f"{KINDS.get(item['kind'], item['kind'])} · {when} · {item['question'][:70]}"


def _trace(s: Settings, item: dict[str, Any]) -> dict[str, Any] | None:
    from ragloom.agents.service import get_trace

    if not item.get("trace_id"):
        return None
    with shown_errors("loading the trace") as outcome:
        return get_trace(s, item["trace_id"])
    st.caption(outcome.get("error", ""))
    return None


def _show(item: dict[str, Any], trace: dict[str, Any] | None) -> None:
    st.markdown(f"**Question:** {item['question']}")
    st.markdown(f"**Answer:** {item.get('answer') or '(none)'}")
    if item.get("comment"):
        st.info(item["comment"], icon=":material/comment:")
    if item.get("reference"):
        st.caption(f"Current reference: {item['reference']}")
    for c in (trace or {}).get("citations", []):
        st.markdown(f"> **[{c['n']}] {c['source'].rsplit('/', 1)[-1]}** {c.get('text', '')[:400]}")
    if trace:
        with st.expander("Trace"):
            render_trace_detail(trace)


def _suite(choice: str, path: str) -> Any:
    from ragloom.evals.suites import load_suite

    return load_suite(path.strip() or choice)


def _decide(s: Settings, queue: Any, item: dict[str, Any], trace: dict[str, Any] | None) -> None:
    from ragloom.evals.review import accept, discard
    from ragloom.evals.suites import list_suites

    key = item["id"]
    cols = st.columns(2)
    choice = cols[0].selectbox("Suite", list_suites(), key=f"rv-suite-{key}")
    path = cols[1].text_input("…or a suite YAML path", key=f"rv-path-{key}")
    reference = st.text_area("Reference answer", value=item.get("reference") or "",
                             key=f"rv-ref-{key}", placeholder="What the right answer is")
    shown = [c["source"] for c in (trace or {}).get("citations", [])]
    options = list(dict.fromkeys([*shown, *(item.get("sources") or [])]))
    gold = st.multiselect("Gold sources", options, default=options[:1], key=f"rv-gold-{key}",
                          accept_new_options=True)
    why = st.text_input("Why discard (optional)", key=f"rv-why-{key}")
    a, d = st.columns(2)
    if a.button("Accept into the dataset", key=f"rv-accept-{key}", type="primary"):
        with shown_errors("accepting the item") as outcome:
            decision = accept(s, queue, key, _suite(choice, path), reference,
                              [g.rsplit("/", 1)[-1] for g in gold], reviewer=getpass.getuser())
            st.session_state[DONE_KEY] = (f"Accepted into {decision['suite']}: dataset "
                                          f"{decision['dataset_before']} → "
                                          f"{decision['dataset_after']}")
            st.rerun()
        if "error" in outcome:
            st.error(outcome["error"])
    if d.button("Discard", key=f"rv-discard-{key}"):
        with shown_errors("discarding the item") as outcome:
            discard(queue, key, reviewer=getpass.getuser(), why=why)
            st.session_state[DONE_KEY] = "Discarded."
            st.rerun()
        if "error" in outcome:
            st.error(outcome["error"])


def render() -> None:
    from ragloom.evals.review import ReviewQueue, collect

    st.title("Review")
    s = settings()
    if done := st.session_state.pop(DONE_KEY, None):
        st.success(done)
    queue = ReviewQueue.for_settings(s)
    try:
        if st.button("Collect new items", key="rv-collect") or "rv-collected" not in st.session_state:
            with shown_errors("collecting review items"):
                st.session_state["rv-collected"] = collect(s, queue)
        st.caption(f"{st.session_state.get('rv-collected', 0)} new item(s) collected this visit · "
                   "👎 answers, answers whose citations the claim check dropped, evaluation rows "
                   "under their suite's thresholds")
        status = st.segmented_control("Status", ["open", "accepted", "discarded"], default="open",
                                      key="rv-status") or "open"
        items = queue.items(status)
        if not items:
            st.info(f"No {status} items.")
            return
        chosen = st.selectbox("Item", items, format_func=_label, key="rv-item")
        trace = _trace(s, chosen)
        _show(chosen, trace)
        if status == "open":
            _decide(s, queue, chosen, trace)
        elif chosen.get("decision"):
            st.json(chosen["decision"])
    finally:
        queue.close()
