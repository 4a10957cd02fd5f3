"""Model calls from inside nodes: guarded, counted per role, and announced as step events."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, TypeVar

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

from ragloom.agents.state import RagContext, RagState
from ragloom.core.models.structured import StructuredOutputError, call_structured

T = TypeVar("T", bound=BaseModel)
log = logging.getLogger(__name__)


def say(text: str) -> None:
    """A step event ("grading 5 chunks") for streaming callers; a no-op when not streaming."""
    from langgraph.config import get_stream_writer

    with contextlib.suppress(RuntimeError):  # outside a graph run (a node called directly)
        get_stream_writer()({"event": "step", "text": text})


def counted(state: RagState, role: str, n: int = 1) -> dict[str, int]:
    calls = dict(state.get("model_calls") or {})
    calls[role] = calls.get(role, 0) + n
    return calls


def step(state: RagState, node: str, start: float, **detail: Any) -> list[dict[str, Any]]:
    """The trace's step list with this node's record appended."""
    record = {"node": node, "seconds": round(time.perf_counter() - start, 4), **detail}
    return [*(state.get("steps") or []), record]


# A model call tagged with this writes the answer the user sees: its tokens are streamed
# (ragloom.agents.service.ask_stream), whatever the node is called, in any graph.
ANSWER_TAG = "ragloom:answer"


def chat(ctx: RagContext, messages: list[Any], *, answer: bool = False,
         **kwargs: Any) -> BaseMessage:
    """One chat call; ``answer=True`` marks it as writing the user's answer (streamed)."""
    config = {"tags": [ANSWER_TAG]} if answer else None
    with ctx.model_guard("chat"):
        return ctx.chat_model.invoke(messages, config=config, **kwargs)


def structured(ctx: RagContext, messages: list[Any], schema: type[T], what: str
               ) -> tuple[T | None, int, str | None]:
    """(value, calls, None), or (None, calls, error) when the model failed even after a retry.

    The caller decides, on purpose and visibly in the trace, what to do without the value.
    """
    try:
        with ctx.model_guard("chat"):
            value, calls = call_structured(ctx.chat_model, ctx.chat_provider, messages, schema,
                                           what=what)
        return value, calls, None
    except StructuredOutputError as exc:
        log.warning("%s", exc)
        return None, 2, str(exc)
