"""OpenAI-compatible chat: ``POST /v1/chat/completions`` (streamed or not) and ``GET /v1/models``.

The model name picks the collection and graph: ``ragloom:COLLECTION`` or
``ragloom:COLLECTION:GRAPH``. The last user message is the question; earlier user/assistant
pairs are the conversation, so a follow-up ("and in 2023?") is made stand-alone before the
search (system messages are not used: ragloom's own prompts decide how to answer). Citations
come twice: as a "Sources" list at the end of the message text, and as structured ``citations``
beside the choices (and in the last stream chunk).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from ragloom.agents.graphs import graph_names
from ragloom.agents.service import Answer
from ragloom.agents.state import Turn
from ragloom.api.deps import Caller, Service
from ragloom.api.errors import ApiError, describe
from ragloom.api.routes.ask import Asked, AskRequest, run_to_answer

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
PREFIX = "ragloom:"
SOURCES_HEADING, REVISED = "\n\nSources:\n", "\n\n(revised answer)\n"
MAX_TURNS, TURN_CHARS = 3, 2000  # the condense prompt reads the last 3 turns


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    # Unknown OpenAI parameters (temperature, max_tokens, ...) are accepted and not used.
    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=600)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


def parse_model(model: str) -> tuple[str, str | None]:
    """``ragloom:docs`` -> ("docs", None); ``ragloom:docs:simple`` -> ("docs", "simple")."""
    parts = model.split(":")
    if parts[0] + ":" != PREFIX or len(parts) not in (2, 3) or not parts[1]:
        raise ApiError(404, f"unknown model '{model}'",
                       "use ragloom:COLLECTION or ragloom:COLLECTION:GRAPH (see GET /v1/models)")
    graph = parts[2] if len(parts) == 3 else None
    if graph is not None and graph not in graph_names():
        raise ApiError(404, f"unknown graph '{graph}' in model '{model}'",
                       f"use one of {', '.join(graph_names())}")
    return parts[1], graph


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def history_of(body: ChatRequest) -> list[Turn]:
    """Earlier turns: each user message answered by the assistant message that follows it."""
    turns: list[Turn] = []
    asked: str | None = None
    for message in body.messages[:_last_user(body)]:
        text = _text(message.content).strip()
        if message.role == "user" and text:
            asked = text
        elif message.role == "assistant" and text and asked is not None:
            # Our own earlier reply: its final answer, without the draft it revised or the sources.
            answer = text.split(SOURCES_HEADING, 1)[0].rsplit(REVISED, 1)[-1].strip()
            turns.append({"question": asked[:TURN_CHARS], "answer": answer[:TURN_CHARS]})
            asked = None
    return turns[-MAX_TURNS:]


def _last_user(body: ChatRequest) -> int:
    for i in range(len(body.messages) - 1, -1, -1):
        if body.messages[i].role == "user" and _text(body.messages[i].content).strip():
            return i
    raise ApiError(422, "no user message with text", "end the messages with the user's question")


def question_of(body: ChatRequest) -> str:
    return _text(body.messages[_last_user(body)].content).strip()


def sources_text(answer: Answer) -> str:
    lines = [f"[{c.n}] {c.source.rsplit('/', 1)[-1]}" + (f", page {c.page}" if c.page else "")
             for c in answer.citations]
    return SOURCES_HEADING + "\n".join(lines) if lines else ""


def _citations(answer: Answer) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in answer.citations]


def _usage(answer: Answer) -> dict[str, Any]:
    """OpenAI's usage fields, summed over every model call the answer took (grading, rewriting,
    answering, checking), and ragloom's estimated cost (None: a model without a price)."""
    u = answer.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.total_tokens, "cost_usd": u.cost_usd,
            "model_calls": len(u.calls), "uncounted_calls": u.uncounted_calls}


def _asked(body: ChatRequest, svc: Service, who: Caller, headers: Any) -> Asked:
    collection, graph = parse_model(body.model)
    question = question_of(body)  # its length is checked by Asked, like /ask's
    return Asked(svc, who, AskRequest(question=question, collection=collection, graph=graph),
                 history=history_of(body), headers=headers)


@router.get("/models", summary="One model per readable collection: ragloom:COLLECTION")
def models(svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.retrieval.collections import list_collections

    names = [c["name"] for c in list_collections(svc.settings) if who.can(c["name"], "read")]
    return {"object": "list", "data": [{"id": f"{PREFIX}{n}", "object": "model", "created": 0,
                                        "owned_by": "ragloom"} for n in names]}


@router.post("/chat/completions", summary="OpenAI-compatible chat over a collection")
async def chat_completions(body: ChatRequest, svc: Service, who: Caller, request: Request) -> Any:
    asked = await run_in_threadpool(_asked, body, svc, who, request.headers)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if not body.stream:
        answer = await run_in_threadpool(run_to_answer, asked)
        return {"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                "model": body.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant",
                                         "content": answer.answer + sources_text(answer)}}],
                "usage": _usage(answer), "citations": _citations(answer),
                "trace_id": answer.trace_id}
    await run_in_threadpool(asked.admit)
    return EventSourceResponse(_stream(asked, completion_id, body.model), ping=15)


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None,
           **extra: Any) -> str:
    return json.dumps({"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                       "model": model, "choices": [{"index": 0, "delta": delta,
                                                    "finish_reason": finish}], **extra})


async def _stream(asked: Asked, cid: str, model: str) -> AsyncIterator[dict[str, str]]:
    """Tokens as deltas; a regenerated answer is announced in the text; sources come last."""
    yield {"data": _chunk(cid, model, {"role": "assistant", "content": ""})}
    iterator = asked.events()
    shown = ""  # the draft streamed since the last reset
    try:
        async for kind, value in iterate_in_threadpool(iterator):
            if kind == "token":
                shown += value
                yield {"data": _chunk(cid, model, {"content": value})}
            elif kind == "answer-reset":
                shown = ""
                yield {"data": _chunk(cid, model, {"content": REVISED})}
            elif kind == "answer":
                # A model that does not stream, or a checked answer that is not the streamed
                # draft (unsupported claims removed, or a refusal): the final text, said so.
                if shown.strip() != value.answer.strip():
                    final = (REVISED if shown else "") + value.answer
                    yield {"data": _chunk(cid, model, {"content": final})}
                yield {"data": _chunk(cid, model, {"content": sources_text(value)}, "stop",
                                      citations=_citations(value), trace_id=value.trace_id,
                                      usage=_usage(value))}
    except Exception as exc:
        status, error, fix = describe(exc)
        yield {"data": json.dumps({"error": {"message": f"{error}. Fix: {fix}", "code": status,
                                             "type": "server_error"}, "fix": fix})}
    finally:
        asked.release()
    yield {"data": "[DONE]"}
