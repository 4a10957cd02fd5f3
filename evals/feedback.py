"""Rated answers (thumbs + comment, stored with their traces) turned into suite dataset rows."""

from __future__ import annotations

from typing import Any

from ragloom.agents.service import rated_answers
from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.evals.metrics import doc_id
from ragloom.evals.suites import SuiteRow


def rows_from_feedback(settings: Settings, rating: str | None = None) -> list[SuiteRow]:
    """One row per rated answer, newest first.

    A thumbs-up answer becomes the reference and its cited files the gold sources; a thumbs-down
    answer is kept only as ``rated_answer`` (with the comment) for a person to write the reference.
    """
    if rating not in (None, "up", "down"):
        raise RagloomError(f"unknown rating '{rating}'", fix="use up or down")
    rows = []
    for fb in rated_answers(settings, rating):
        trace: dict[str, Any] = fb["trace"]
        good = fb["rating"] == "up"
        cited = sorted({doc_id(c["source"]) for c in trace.get("citations", [])})
        rows.append(SuiteRow(
            id=f"feedback-{fb['trace_id']}", question=trace["question"],
            reference=trace.get("answer") if good else None,
            gold_sources=cited if good else [], rating=fb["rating"], comment=fb["comment"],
            rated_answer=trace.get("answer"), collection=trace.get("collection"),
            trace_id=fb["trace_id"], prompts=trace.get("prompts", {})))
    return rows
