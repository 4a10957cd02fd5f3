"""Traces of earlier answers, feedback on them, and the audit log (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ragloom.agents.service import get_trace, rate_answer, search_traces
from ragloom.api.deps import Caller, Service, require, require_admin
from ragloom.api.errors import ApiError
from ragloom.api.keys import Principal

router = APIRouter(tags=["traces"])


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=2000)


def _readable_trace(svc: Service, who: Principal, trace_id: str) -> dict[str, Any]:
    try:
        trace = get_trace(svc.settings, trace_id)
    except Exception:
        trace = None
    # An unreadable trace looks like a missing one: ids of others' answers are not confirmed.
    if trace is None or not who.can(str(trace.get("collection")), "read"):
        raise ApiError(404, f"no trace '{trace_id}'", "use a trace id returned with an answer")
    return trace


@router.get("/traces", summary="Recent answers in collections this key may read, searchable")
def list_traces(svc: Service, who: Caller,
                limit: Annotated[int, Query(ge=1, le=200)] = 20,
                q: Annotated[str | None, Query(max_length=200,
                                               description="text in the question or answer")
                             ] = None,
                collection: Annotated[str | None, Query(max_length=512)] = None,
                graph: Annotated[str | None, Query(max_length=64)] = None,
                rating: Annotated[Literal["up", "down", "unrated"] | None, Query()] = None,
                refused: Annotated[bool | None, Query()] = None) -> list[dict[str, Any]]:
    rows = []
    for t in search_traces(svc.settings, text=q, collection=collection, graph=graph,
                           rating=rating, refused=refused, limit=limit * 4):
        if len(rows) == limit:
            break
        if who.can(str(t["collection"]), "read"):
            rows.append({"trace_id": t["id"], "created": t["created"], "graph": t["graph"],
                         "collection": t["collection"], "question": t["question"],
                         "rating": t["rating"], "refused": t["refused"]})
    return rows


@router.get("/traces/{trace_id}", summary="Steps, latencies, model calls, chunks and prompts")
def show_trace(trace_id: str, svc: Service, who: Caller) -> dict[str, Any]:
    return _readable_trace(svc, who, trace_id)


@router.post("/traces/{trace_id}/feedback", summary="Thumbs up/down and a comment on an answer")
def give_feedback(trace_id: str, body: Feedback, svc: Service, who: Caller) -> dict[str, Any]:
    trace = _readable_trace(svc, who, trace_id)
    require(who, str(trace["collection"]), "read")
    rate_answer(svc.settings, trace_id, body.rating, body.comment)
    svc.audit.record(who, "feedback", collection=str(trace["collection"]), target=trace_id,
                     rating=body.rating)
    return {"trace_id": trace_id, "rating": body.rating}


@router.get("/audit", summary="The audit log, newest first (admin keys only)")
def audit_log(svc: Service, who: Caller,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              action: str | None = None, collection: str | None = None,
              key_id: str | None = None) -> list[dict[str, Any]]:
    require_admin(who, "read the audit log")
    return svc.audit.entries(limit=limit, action=action, collection=collection, key_id=key_id)
