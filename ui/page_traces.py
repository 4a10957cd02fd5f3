"""Traces: the recent answers, searchable and filtered by collection, graph, rating and refusal;
open one to see its timeline, model calls (prompt and completion) and chunks. ``?trace=ID`` opens
that trace directly (evaluation rows link here)."""

from __future__ import annotations

import datetime

import streamlit as st

from ragloom.ui.state import settings, shown_errors
from ragloom.ui.trace_view import render_trace_detail

ANY = "any"


def render() -> None:
    from ragloom.agents.service import get_trace, search_traces, trace_facets

    s = settings()
    st.title("Traces")
    wanted = st.query_params.get("trace")
    collections, graphs = trace_facets(s)
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 1, 1])
    text = c1.text_input("Search questions and answers", key="traces-search")
    collection = c2.selectbox("Collection", [ANY, *collections], key="traces-collection")
    graph = c3.selectbox("Graph", [ANY, *graphs], key="traces-graph")
    rating = c4.selectbox("Rating", [ANY, "up", "down", "unrated"], key="traces-rating")
    refused = c5.selectbox("Refused", [ANY, "yes", "no"], key="traces-refused")
    found: list[dict[str, object]] = []
    with shown_errors("listing traces"):
        found = search_traces(s, text=text.strip() or None,
                              collection=None if collection == ANY else collection,
                              graph=None if graph == ANY else graph,
                              rating=None if rating == ANY else rating,
                              refused=None if refused == ANY else refused == "yes")
    if not found and not wanted:
        st.info("No trace matches. Every answer (Ask page, CLI, API, evaluations) leaves one.")
        return
    st.dataframe([{"trace": t["id"], "when": _when(t["created"]), "collection": t["collection"],
                   "graph": t["graph"], "question": t["question"], "rating": t["rating"] or "—",
                   "refused": t["refused"]} for t in found], hide_index=True, width="stretch")
    ids = [str(t["id"]) for t in found]
    if wanted and wanted not in ids:
        ids.insert(0, wanted)
    labels = {str(t["id"]): f"{t['id']} · {str(t['question'])[:80]}" for t in found}
    chosen = st.selectbox("Open trace", ids, index=ids.index(wanted) if wanted else 0,
                          key="traces-open", format_func=lambda i: labels.get(i, i))
    if chosen:
        with shown_errors(f"loading trace {chosen}"):
            render_trace_detail(get_trace(s, chosen))


def _when(created: object) -> str:
    return datetime.datetime.fromtimestamp(float(created)).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]
