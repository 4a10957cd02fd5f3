"""What nodes share: the trace record of each step, and guarded model calls announced as
step events."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from langchain_core.messages import BaseMessage, convert_to_messages
from langgraph.runtime import Runtime
from langgraph.types import Overwrite
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


Node = Callable[[RagState, Runtime[RagContext]], dict[str, Any]]


def traced(node: Node) -> Node:
    """Time a node and add its trace record: ``{"node", "seconds", **detail}``, where ``detail``
    is what the node returned under that key. The ``steps`` reducer appends the record."""

    @functools.wraps(node)
    def run(state: RagState, runtime: Runtime[RagContext]) -> dict[str, Any]:
        start, at = time.perf_counter(), time.time()
        update = dict(node(state, runtime))
        # ``at`` (wall clock) places the step on the trace view's timeline.
        record = {"node": node.__name__, "seconds": round(time.perf_counter() - start, 4),
                  "at": round(at, 4), **update.pop("detail", {})}
        steps = update.get("steps")
        # The first node of a turn resets the trace (Overwrite) and starts it with its record.
        update["steps"] = (Overwrite([*steps.value, record]) if isinstance(steps, Overwrite)
                           else [*(steps or []), record])
        return update

    return run


# A model call tagged with this writes the answer the user sees: its tokens are streamed
# (ragloom.agents.service.ask_stream), whatever the node is called, in any graph.
ANSWER_TAG = "ragloom:answer"


def chat(ctx: RagContext, messages: list[Any], *, answer: bool = False,
         **kwargs: Any) -> BaseMessage:
    """One chat call; ``answer=True`` marks it as writing the user's answer (streamed)."""
    config = {"tags": [ANSWER_TAG]} if answer else None
    if answer:  # the wait before the first token is the model reading: say how much
        say(f"reading about {context_tokens(messages):,} tokens of context")
    with ctx.model_guard("chat"):
        return ctx.chat_model.invoke(messages, config=config, **kwargs)


def context_tokens(messages: list[Any]) -> int:
    """An estimate of the prompt's length in tokens (about four characters per token for
    English text with these tokenizers), for a progress line: not a count to bill on."""
    chars = sum(len(m.text) for m in convert_to_messages(messages))
    return max(1, round(chars / 4))


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
