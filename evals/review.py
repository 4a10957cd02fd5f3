"""The review queue: answers a person should look at, turned into dataset rows they vouch for.

``collect`` brings in, once each, every thumbs-down answer (with its comment), every recent
answer whose citations the claim check dropped, and every evaluation row scored under its suite's
threshold; a reviewer reads the question, the answer, its
sources and trace, writes or corrects the reference and the gold sources, and ``accept`` appends
that row to a suite's dataset (a new content-hashed dataset version,
``ragloom.evals.dataset_versions``), or ``discard`` drops the item. Stored with the rest of the
shared state: ``HOME/review.sqlite``, or the shared PostgreSQL.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import select, update

from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target
from ragloom.core.storage.schema import review_items as _items
from ragloom.evals.metrics import LOWER_IS_BETTER
from ragloom.evals.suites import Suite, SuiteRow

STATUSES = ("open", "accepted", "discarded")


class ReviewQueue(SqlStore):
    tables = [_items]

    @classmethod
    def for_settings(cls, settings: Settings) -> ReviewQueue:
        return cls(store_target(settings.database, settings.home / "review.sqlite"))

    def add(self, source: str, kind: str, item: dict[str, Any]) -> bool:
        """Queue ``item`` unless ``source`` was queued before (whatever became of it)."""
        with self.engine.begin() as db:
            if db.execute(select(_items.c.id).where(_items.c.source == source)).first():
                return False
            db.execute(_items.insert().values(id=uuid.uuid4().hex[:16], source=source,
                                              kind=kind, created=time.time(), status="open",
                                              item=json.dumps(item)))
        return True

    def items(self, status: str | None = "open") -> list[dict[str, Any]]:
        """Newest first."""
        query = select(_items).order_by(_items.c.created.desc())
        if status is not None:
            query = query.where(_items.c.status == status)
        with self.engine.connect() as db:
            return [_item(r) for r in db.execute(query)]

    def get(self, item_id: str) -> dict[str, Any]:
        with self.engine.connect() as db:
            row = db.execute(select(_items).where(_items.c.id == item_id)).first()
        if row is None:
            raise RagloomError(f"no review item '{item_id}'", fix="see `ragloom review list`")
        return _item(row)

    def decide(self, item_id: str, status: str, decision: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            done = db.execute(update(_items).where(_items.c.id == item_id,
                                                   _items.c.status == "open")
                              .values(status=status, decision=json.dumps(decision)))
        if done.rowcount != 1:
            self.get(item_id)  # a missing id says so
            raise RagloomError(f"review item '{item_id}' was already decided",
                               fix="see `ragloom review list --status all`")


def _item(row: Any) -> dict[str, Any]:
    return {"id": row.id, "source": row.source, "kind": row.kind, "created": row.created,
            "status": row.status, **json.loads(row.item),
            "decision": json.loads(row.decision) if row.decision else None}


def collect(settings: Settings, queue: ReviewQueue, runs: int = 20, traces: int = 500) -> int:
    """Queue new thumbs-down answers, answers of the last ``traces`` whose citations the claim
    check dropped, and under-threshold rows of the last ``runs`` runs; returns how many were
    added."""
    from ragloom.agents.service import rated_answers, recent_trace_bodies
    from ragloom.evals.store import RunStore

    added = 0
    for trace in recent_trace_bodies(settings, traces):
        dropped = int(trace.get("dropped_citations") or 0)
        if dropped and not trace.get("refused"):  # the model cited what its source did not say
            added += queue.add(f"dropped:{trace['id']}", "citations-dropped", {
                "question": trace["question"], "answer": trace.get("answer"),
                "comment": f"{dropped} citation(s) dropped: the cited source did not support "
                           "the sentence", "collection": trace.get("collection"),
                "trace_id": trace["id"], "prompts": trace.get("prompts", {}),
                "sources": [c.get("source") for c in trace.get("citations", [])]})
    for fb in rated_answers(settings, "down"):
        trace = fb["trace"]
        added += queue.add(f"feedback:{fb['trace_id']}", "thumbs-down", {
            "question": trace["question"], "answer": trace.get("answer"),
            "comment": fb["comment"], "collection": trace.get("collection"),
            "trace_id": fb["trace_id"], "prompts": trace.get("prompts", {}),
            "sources": [c.get("source") for c in trace.get("citations", [])]})
    store = RunStore.for_settings(settings)
    for run in store.list_runs(limit=runs):
        thresholds = run["config"].get("thresholds") or {}
        if not thresholds or run["status"] != "done":
            continue
        for row in store.rows(run["id"]):
            low = {m: v for m, v in _scores(row).items() if m in thresholds
                   and (v > thresholds[m] if m in LOWER_IS_BETTER else v < thresholds[m])}
            if low:
                added += queue.add(f"row:{run['id']}:{row['id']}", "low-score", {
                    "question": row.get("question"), "answer": row.get("answer"),
                    "comment": ", ".join(f"{m} {v:.2f} < {thresholds[m]}" for m, v in low.items()),
                    "suite": run["suite"], "run_id": run["id"], "row_id": row["id"],
                    "reference": row.get("reference"), "trace_id": row.get("trace_id"),
                    "sources": row.get("sources", [])})
    return added


def _scores(row: dict[str, Any]) -> dict[str, float]:
    return {m: float(s["value"]) for m, s in (row.get("scores") or {}).items()
            if isinstance(s, dict) and s.get("value") is not None}


def accept(settings: Settings, queue: ReviewQueue, item_id: str, suite: Suite, reference: str,
           gold_sources: list[str], reviewer: str = "") -> dict[str, Any]:
    """Append the reviewed row to ``suite``'s dataset; returns the decision (with the dataset
    versions before and after)."""
    from ragloom.evals.dataset_versions import append_rows

    item = queue.get(item_id)
    if item["status"] != "open":
        raise RagloomError(f"review item '{item_id}' was already {item['status']}",
                           fix="see `ragloom review list --status all`")
    if not reference.strip():
        raise RagloomError("an accepted item needs a reference answer",
                           fix="write what the right answer is (--reference …)")
    row = SuiteRow(id=f"review-{item_id}", question=item["question"], reference=reference.strip(),
                   gold_sources=gold_sources, reviewed_by=reviewer, review_source=item["source"])
    before, after = append_rows(settings, suite, [row])
    decision = {"reviewer": reviewer, "reference": row.reference, "gold_sources": gold_sources,
                "suite": suite.name, "row_id": row.id, "dataset_before": before,
                "dataset_after": after, "decided": time.time()}
    queue.decide(item_id, "accepted", decision)
    return decision


def discard(queue: ReviewQueue, item_id: str, reviewer: str = "", why: str = "") -> None:
    queue.decide(item_id, "discarded", {"reviewer": reviewer, "why": why, "decided": time.time()})
