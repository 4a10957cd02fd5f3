"""The review queue over HTTP: collect and list, read an item with its trace, accept it into a
shipped suite's dataset or discard it (admin keys, audited)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ragloom.api.deps import Caller, Service, require_admin

router = APIRouter(prefix="/review", tags=["review"])
SUITE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$"  # a shipped suite by name: no paths from clients


class Accept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(pattern=SUITE, description="The shipped suite whose dataset gets the row.")
    reference: str = Field(min_length=1, max_length=4000, description="The right answer.")
    gold_sources: list[str] = Field(default_factory=list, max_length=20)


class Discard(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str = Field("", max_length=1000)


def _queue(svc: Any) -> Any:
    from ragloom.evals.review import ReviewQueue

    return ReviewQueue.for_settings(svc.settings)


@router.get("", summary="Collect new items (👎, dropped citations, low scores), then list them")
def list_items(svc: Service, who: Caller,
               status: Literal["open", "accepted", "discarded", "all"] = "open",
               collect: bool = True) -> dict[str, Any]:
    from ragloom.evals.review import collect as collect_items

    require_admin(who, "read the review queue")
    queue = _queue(svc)
    try:
        added = collect_items(svc.settings, queue) if collect else 0
        return {"collected": added, "items": queue.items(None if status == "all" else status)}
    finally:
        queue.close()


@router.get("/{item_id}", summary="One item, with the trace of its answer when there is one")
def show(item_id: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.agents.service import get_trace

    require_admin(who, "read the review queue")
    queue = _queue(svc)
    try:
        item = queue.get(item_id)
    finally:
        queue.close()
    trace = get_trace(svc.settings, item["trace_id"]) if item.get("trace_id") else None
    return {**item, "trace": trace}


@router.post("/{item_id}/accept", summary="Append the reviewed row to a suite's dataset")
def accept(item_id: str, body: Accept, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.review import accept as accept_item
    from ragloom.evals.suites import load_suite

    require_admin(who, "review answers")
    suite = load_suite(body.suite)
    queue = _queue(svc)
    try:
        decision = accept_item(svc.settings, queue, item_id, suite, body.reference,
                               body.gold_sources, reviewer=who.name)
    finally:
        queue.close()
    svc.audit.record(who, "review.accept", target=item_id, suite=body.suite,
                     dataset=decision["dataset_after"])
    return decision


@router.post("/{item_id}/discard", summary="Drop the item: nothing is added")
def discard(item_id: str, body: Discard, svc: Service, who: Caller) -> dict[str, str]:
    from ragloom.evals.review import discard as discard_item

    require_admin(who, "review answers")
    queue = _queue(svc)
    try:
        discard_item(queue, item_id, reviewer=who.name, why=body.why)
    finally:
        queue.close()
    svc.audit.record(who, "review.discard", target=item_id)
    return {"id": item_id, "status": "discarded"}
