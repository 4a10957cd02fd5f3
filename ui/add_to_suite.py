"""Add an answered question to an evaluation suite's dataset, from the Ask page: the question,
a reference (the answer as a start, to correct), the cited files as gold sources."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import streamlit as st

from ragloom.ui.state import settings, shown_errors

if TYPE_CHECKING:
    from ragloom.agents.service import Answer

_MARKER = re.compile(r"\s*\[\d+\]")


def render_add_to_suite(answer: Answer, turn: int) -> None:
    from ragloom.evals.suites import list_suites

    key = f"ask-suite-{turn}"
    with st.popover("Add to suite", icon=":material/playlist_add:"):
        cols = st.columns(2)
        choice = cols[0].selectbox("Suite", list_suites(), key=f"{key}-name")
        path = cols[1].text_input("…or a suite YAML path", key=f"{key}-path")
        reference = st.text_area("Reference answer", key=f"{key}-ref",
                                 value=_MARKER.sub("", answer.answer).strip(),
                                 help="What the right answer is: correct it if it is wrong")
        cited = list(dict.fromkeys(c.source.rsplit("/", 1)[-1] for c in answer.citations))
        gold = st.multiselect("Gold sources", cited, default=cited, key=f"{key}-gold",
                              accept_new_options=True)
        if st.button("Add", key=f"{key}-add", type="primary"):
            with shown_errors("adding the question to the suite") as outcome:
                suite, before, after = add_answer(choice, path, answer, reference, gold)
                st.success(f"Added to {suite}: dataset {before} → {after}.")
            if "error" in outcome:
                st.error(outcome["error"])


def add_answer(choice: str, path: str, answer: Answer, reference: str, gold: list[str]
               ) -> tuple[str, str, str]:
    """(suite name, dataset version before, after); one row per answer (adding it twice
    replaces the row)."""
    from ragloom.core.errors import RagloomError
    from ragloom.evals.dataset_versions import append_rows
    from ragloom.evals.suites import SuiteRow, load_suite

    if not reference.strip():
        raise RagloomError("a suite row needs a reference answer", fix="write the right answer")
    suite = load_suite(path.strip() or choice)
    row = SuiteRow(id=f"ask-{answer.trace_id}", question=answer.question,
                   reference=reference.strip(), gold_sources=gold, added_from="ask",
                   trace=answer.trace_id)
    before, after = append_rows(settings(), suite, [row])
    return suite.name, before, after
