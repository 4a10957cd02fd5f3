"""Fine-tuning data from rated answers: what the model saw and what it should have said.

Each example is the chat the answer model was given — the prompt version the trace records,
rendered with the question and the sources it was shown (``trace["kept"]``, their text read back
from the collection, so PII redaction applied at ingest is in them too) — plus the answer: the
model's for a 👍, the reviewer's reference where the review queue accepted a correction (which
also turns a 👎 into a usable example). ``preference_pairs`` pairs a 👍 and a 👎 answer to the same
question (chosen / rejected).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragloom.agents.citations import format_sources
from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.retrieval.types import RetrievedChunk


def _key(question: str) -> str:
    return re.sub(r"\W+", " ", question.lower()).strip()


def _corrections(settings: Settings) -> dict[str, str]:
    """trace id -> the reference a reviewer accepted for its answer."""
    from ragloom.evals.review import ReviewQueue

    queue = ReviewQueue.for_settings(settings)
    try:
        return {i["source"].removeprefix("feedback:"): i["decision"]["reference"]
                for i in queue.items("accepted") if i["source"].startswith("feedback:")}
    finally:
        queue.close()


def _chunks(settings: Settings, collection: str, ids: list[str]) -> list[RetrievedChunk] | None:
    """The chunks by id in that order, or None if any is gone (the file was re-ingested)."""
    from ragloom.retrieval.store import open_client

    if not ids:
        return []
    try:
        found = open_client(settings).get_collection(collection).get(
            ids=ids, include=["documents", "metadatas"])
    except Exception:  # the collection was deleted: nothing to rebuild the prompt from
        return None
    by_id = {i: (d, m or {}) for i, d, m in zip(found["ids"], found["documents"],
                                                 found["metadatas"], strict=True)}
    if set(ids) - set(by_id):
        return None
    return [RetrievedChunk(id=i, text=by_id[i][0], source=str(by_id[i][1].get("source", "")),
                           chunk_index=int(by_id[i][1].get("chunk_index", 0)),
                           page=by_id[i][1].get("page"), score=0.0) for i in ids]


def _messages(settings: Settings, trace: dict[str, Any]) -> list[dict[str, str]] | None:
    from ragloom.prompts import prompt_store

    ref = (trace.get("prompts") or {}).get("answer")
    chunks = _chunks(settings, trace["collection"], list(trace.get("kept") or []))
    if not ref or chunks is None:
        return None
    rendered = prompt_store(settings).get(ref).render(question=trace["question"],
                                                      context=format_sources(chunks))
    return [{"role": role, "content": content} for role, content in rendered]


def finetune_examples(settings: Settings, rating: str | None = "up", since: float | None = None,
                      skipped: list[tuple[str, str]] | None = None) -> Iterator[dict[str, Any]]:
    """Chat-format examples, one per distinct (question, answer), newest rating first.
    ``skipped`` collects (trace id, reason) for rated answers that could not be rebuilt."""
    from ragloom.agents.service import rated_answers

    if rating not in (None, "up", "down"):
        raise RagloomError(f"unknown rating '{rating}'", fix="use up or down")
    corrections = _corrections(settings)
    seen: set[tuple[str, str]] = set()
    for fb in rated_answers(settings, rating):
        trace, trace_id = fb["trace"], fb["trace_id"]
        if since is not None and fb["rated"] < since:
            continue
        answer = corrections.get(trace_id) or (trace.get("answer") if fb["rating"] == "up"
                                               else None)
        if not answer:  # a 👎 nobody corrected says what not to answer, not what to answer
            continue
        key = (_key(trace["question"]), answer.strip())
        if key in seen:
            continue
        messages = _messages(settings, trace)
        if messages is None:
            if skipped is not None:
                skipped.append((trace_id, "its prompt version or sources are no longer there"))
            continue
        seen.add(key)
        yield {"messages": [*messages, {"role": "assistant", "content": answer}],
               "metadata": {"trace_id": trace_id, "rating": fb["rating"],
                            "corrected": trace_id in corrections,
                            "prompt": trace["prompts"]["answer"],
                            "model": (trace.get("models") or {}).get("chat"),
                            "collection": trace["collection"]}}


def preference_pairs(settings: Settings, since: float | None = None) -> Iterator[dict[str, Any]]:
    """(prompt, chosen, rejected) from a 👍 and a 👎 answer to the same question."""
    from ragloom.agents.service import rated_answers

    by_question: dict[str, dict[str, dict[str, Any]]] = {}
    for fb in rated_answers(settings):
        if since is None or fb["rated"] >= since:
            by_question.setdefault(_key(fb["trace"]["question"]), {}).setdefault(fb["rating"], fb)
    for pair in by_question.values():
        if {"up", "down"} <= set(pair):
            up, down = pair["up"]["trace"], pair["down"]["trace"]
            messages = _messages(settings, up)
            if messages is not None and up.get("answer") != down.get("answer"):
                yield {"prompt": messages, "chosen": up["answer"], "rejected": down["answer"],
                       "metadata": {"chosen_trace": pair["up"]["trace_id"],
                                    "rejected_trace": pair["down"]["trace_id"],
                                    "prompt": up["prompts"]["answer"]}}


def write_jsonl(items: Iterator[dict[str, Any]], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            n += 1
    return n
