"""Count the chat model's tokens while one question is answered (a LangChain callback).

Providers report usage differently: OpenAI-style ``usage_metadata`` on the message, llama.cpp's
``token_usage`` in ``llm_output``; a streamed call reports nothing, so its generated tokens are
counted as they stream (llama.cpp streams one token per chunk) and its prompt stays uncounted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

_current: ContextVar[TokenCounter | None] = ContextVar("ragloom_eval_tokens", default=None)
register_configure_hook(_current, inheritable=True)


class TokenCounter(BaseCallbackHandler):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.prompt = 0
        self.completion = 0
        self.calls = 0
        self.unreported_prompts = 0  # calls whose prompt size the provider did not report
        self._streamed: dict[Any, int] = {}

    def on_llm_new_token(self, token: str, *, run_id: Any = None, **kwargs: Any) -> None:
        with self._lock:
            self._streamed[run_id] = self._streamed.get(run_id, 0) + 1

    def on_llm_end(self, response: LLMResult, *, run_id: Any = None, **kwargs: Any) -> None:
        usage = _usage(response)
        with self._lock:
            self.calls += 1
            streamed = self._streamed.pop(run_id, 0)
            if usage is None:
                self.completion += streamed
                self.unreported_prompts += 1
            else:
                self.prompt += usage[0]
                self.completion += usage[1]

    def as_dict(self) -> dict[str, int]:
        return {"prompt": self.prompt, "completion": self.completion, "calls": self.calls,
                "unreported_prompts": self.unreported_prompts}


def _usage(response: LLMResult) -> tuple[int, int] | None:
    gen = response.generations[0][0] if response.generations and response.generations[0] else None
    meta = getattr(gen.message, "usage_metadata", None) if isinstance(gen, ChatGeneration) else None
    if meta:
        return int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
    usage = (response.llm_output or {}).get("token_usage") or {}
    if usage.get("prompt_tokens") is not None:
        return int(usage["prompt_tokens"]), int(usage.get("completion_tokens", 0))
    return None


@contextlib.contextmanager
def count_tokens() -> Iterator[TokenCounter]:
    """Every chat model call made inside the block (in this thread or context) is counted."""
    counter = TokenCounter()
    token = _current.set(counter)
    try:
        yield counter
    finally:
        _current.reset(token)
