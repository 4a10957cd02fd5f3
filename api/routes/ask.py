"""Ask a question: one JSON answer, or Server-Sent Events (steps, tokens, then the answer)."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ragloom.agents.graphs import GraphName
from ragloom.agents.service import Answer, ask_stream, check_question
from ragloom.agents.state import RagContext, Turn
from ragloom.api.deps import Caller, Service, ServiceState, require
from ragloom.api.errors import ApiError, describe
from ragloom.api.keys import Principal
from ragloom.core.errors import RagloomError
from ragloom.retrieval.store import validate_collection_name
from ragloom.retrieval.where import EXAMPLE, MAX_CONDITIONS, MAX_DEPTH, validate_where

log = logging.getLogger(__name__)
router = APIRouter(tags=["ask"])
PROMPT_REF = r"^[a-z][a-z0-9_-]{0,40}([@][0-9]{1,6}|:[A-Za-z0-9_-]{1,40})$"


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, description="At most agent.max_question_chars "
                          "characters (default 4000); longer is a 422.")
    collection: str | None = Field(None, description="Default: the `collection` setting.")
    graph: GraphName | None = Field(None, description="A registered graph: simple, corrective, "
                                    "adaptive, or one a package or the process registered.")
    prompts: list[Annotated[str, StringConstraints(pattern=PROMPT_REF)]] = Field(
        default_factory=list, max_length=10, description="Pinned versions, e.g. answer@2.")
    thread: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$",
                               description="Conversation id; follow-ups remember earlier turns.")
    where: dict[str, Any] | None = Field(None, description=(
        f"Metadata filter, e.g. {EXAMPLE}: $eq $ne $gt $gte $lt $lte $in $nin on fields, "
        f"$and/$or over 2+ filters; at most {MAX_CONDITIONS} conditions, {MAX_DEPTH} levels."))


class Asked:
    """One admitted question: its context is built before any byte is sent, so a missing
    collection or a store outage is a plain 404/503, not a broken stream."""

    def __init__(self, svc: ServiceState, who: Principal, body: AskRequest,
                 history: list[Turn] | None = None, headers: Mapping[str, str] | None = None):
        self.svc, self.who, self.body, self.history = svc, who, body, history
        # The caller's W3C trace context: the answer's span joins the caller's trace.
        self.trace_parent = {k: v for k, v in (headers or {}).items()
                             if k.lower() in ("traceparent", "tracestate")}
        check_question(body.question, svc.settings)  # a 422 naming the limit, before any work
        self.collection = body.collection or svc.settings.collection
        validate_collection_name(self.collection)
        require(who, self.collection, "read")
        # A malformed or oversized filter is a 422 naming the problem, before any search.
        self.where = validate_where(body.where)
        # Conversations belong to the key that started them.
        self.thread = f"{who.id}.{body.thread}" if body.thread else None
        from ragloom.agents.service import prompt_overrides
        from ragloom.evals.experiments import assignment

        # A live experiment on a prompt the request does not pin: one variant per conversation,
        # else per API key (sticky: the same key always lands in the same variant).
        self.prompts, self.experiment = assignment(
            svc.settings, prompt_overrides(body.prompts), self.thread or f"key:{who.id}")
        self.context: RagContext | None = None
        self._held = False

    def release(self) -> None:
        """Give the slot back (idempotent: a stream dropped before it started also calls it)."""
        if self._held:
            self._held = False
            self.svc.ask_slots.release()

    def admit(self) -> None:
        """Take a slot (bounded concurrency) and build the context; run in a worker thread."""
        if not self.svc.ask_slots.acquire(timeout=30):
            raise ApiError(503, "too many questions in progress", "retry in a few seconds",
                           {"Retry-After": "5"})
        self._held = True
        try:
            self.context = self.svc.context_factory(self.svc.settings, self.collection,
                                                    self.prompts, self.where)
        except BaseException:
            self.release()
            raise

    def events(self) -> Iterator[tuple[str, Any]]:
        """ask_stream's events; releases the slot and writes the audit entry when done."""
        outcome, trace = "error", None
        try:
            for kind, value in ask_stream(self.body.question, self.svc.settings,
                                          graph=self.body.graph, thread=self.thread,
                                          context=self.context, history=self.history,
                                          experiment=self.experiment,
                                          trace_parent=self.trace_parent):
                if kind == "answer":
                    outcome, trace = "ok", value.trace_id
                yield kind, value
        finally:
            self.release()
            self.svc.audit.record(self.who, "ask", collection=self.collection, target=trace,
                                  outcome=outcome, question=self.body.question,
                                  graph=self.body.graph, prompts=self.body.prompts)


def run_to_answer(asked: Asked) -> Answer:
    asked.admit()
    for kind, value in asked.events():
        if kind == "answer":
            return value  # type: ignore[no-any-return]
    raise RagloomError("the graph ended without an answer", subject=asked.body.question[:80])


@router.post("/ask", response_model=Answer, summary="Answer a question, with citations")
def ask(body: AskRequest, svc: Service, who: Caller, request: Request) -> Answer:
    return run_to_answer(Asked(svc, who, body, headers=request.headers))


async def sse_events(asked: Asked) -> AsyncIterator[dict[str, str]]:
    """step / token / answer-reset / answer events; an error after the stream started is an
    ``error`` event."""
    iterator = asked.events()
    try:
        async for kind, value in iterate_in_threadpool(iterator):
            data = value.model_dump_json() if kind == "answer" else json.dumps({"text": value})
            yield {"event": kind, "data": data}
    except Exception as exc:
        status, error, fix = describe(exc)
        yield {"event": "error", "data": json.dumps({"status": status, "error": error,
                                                      "fix": fix})}
    finally:
        with contextlib.suppress(Exception):
            await run_in_threadpool(iterator.close)
        asked.release()


@router.post("/ask/stream",
             summary="Answer as Server-Sent Events: step, token, answer-reset, answer (or error)")
async def ask_sse(body: AskRequest, svc: Service, who: Caller,
                  request: Request) -> EventSourceResponse:
    asked = Asked(svc, who, body, headers=request.headers)
    await run_in_threadpool(asked.admit)
    return EventSourceResponse(sse_events(asked), ping=15)
