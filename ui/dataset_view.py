"""A suite's dataset: its rows (question, reference, gold sources), its version and the older
versions kept when rows were added (by a reviewer, or from the Ask page)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ragloom.core.settings import Settings
from ragloom.ui.state import pick_suite


def dataset_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """One table row per question; extra fields (type, reviewed_by, trace …) in one column."""
    known = {"id", "question", "reference", "gold_sources", "where", "synthetic"}
    out = []
    for r in rows:
        data = r.model_dump(mode="json")
        extra = {k: v for k, v in data.items() if k not in known and v not in (None, "", [])}
        out.append({"id": r.id, "question": r.question, "reference": r.reference or "—",
                    "gold sources": ", ".join(r.gold_sources) or "—",
                    "filter": "—" if r.where is None else str(r.where),
                    "more": ", ".join(f"{k}={v}" for k, v in extra.items()) or ""})
    return out


def render_dataset_tab(s: Settings) -> None:
    from ragloom.evals.dataset_versions import read_version, versions
    from ragloom.evals.runs import dataset_version

    suite = pick_suite("ev-ds-suite")
    name = suite.name
    current = suite.rows()
    now = dataset_version(current)
    older = [v for v in versions(s, suite) if v != now]
    where = (f"built-in dataset `{suite.dataset.builtin}`" if suite.dataset.builtin
             else f"`{suite.dataset.path}`")
    version = st.selectbox("Version", [now, *reversed(older)], key=f"ev-ds-version-{name}",
                           format_func=lambda v: f"{v} (current)" if v == now else v,
                           help="Every addition keeps the version before it; runs record theirs")
    rows = current if version == now else read_version(s, suite, version)
    st.caption(f"{len(rows)} row(s) · {where} · {len(older)} older version(s) kept")
    text = st.text_input("Search rows", key="ev-ds-search", placeholder="words in a question "
                         "or reference").strip().lower()
    table = [r for r in dataset_rows(rows)
             if not text or text in r["question"].lower() or text in r["reference"].lower()]
    st.dataframe(table, hide_index=True, width="stretch")
