"""Tokens and estimated cost of every model call, from the provider's own counts.

A ``UsageRecorder`` is a LangChain callback handler: passed in a run's config it sees every chat
model call below it (LangGraph hands callbacks down to the nodes), reads the ``usage_metadata``
LangChain's chat models attach to their answers (OpenAI's and Ollama's ``usage``; the embedded
model's llama.cpp counts, ``core.models.embedded_chat``) and prices it with ``settings.prices``.

A call whose provider said nothing has ``counted: false`` and no tokens: we never invent
counts. Cost is an estimate from the price table (USD per million tokens, per ``provider/model``);
the embedded and Ollama models cost nothing by default, and a hosted model without a price has
``cost_usd: null`` ("not priced"), not zero.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from pydantic import BaseModel, Field, computed_field

from ragloom.core.settings import Price

FREE_PROVIDERS = ("local", "ollama")  # on your own machine: no per-token price
_TRANSCRIPT_CHARS = 20_000  # of each message kept in a trace


class ModelCall(BaseModel):
    model: str = Field(description="provider/model")
    node: str | None = Field(None, description="the graph step that made the call")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    counted: bool = Field(True, description="False: the provider reported no token counts")
    cost_usd: float | None = None
    seconds: float | None = Field(None, description="the call's latency")


class Usage(BaseModel):
    """The calls of one answer (or evaluation row), and their totals."""

    calls: list[ModelCall] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_usd(self) -> float | None:
        """None when any call is unpriced: a partial sum would read as the whole cost."""
        costs = [c.cost_usd for c in self.calls]
        return None if any(c is None for c in costs) else round(sum(costs), 8)  # type: ignore[misc]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @computed_field  # type: ignore[prop-decorator]
    @property
    def uncounted_calls(self) -> int:
        return sum(not c.counted for c in self.calls)


def total_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over many answers' ``usage`` (as stored in traces and eval rows); cost None when
    any part is unpriced, ``answers`` how many carried a usage record at all."""
    known = [u for u in usages if u]
    costs = [u.get("cost_usd") for u in known]
    return {"answers": len(known),
            "prompt_tokens": sum(int(u.get("prompt_tokens", 0)) for u in known),
            "completion_tokens": sum(int(u.get("completion_tokens", 0)) for u in known),
            "total_tokens": sum(int(u.get("total_tokens", 0)) for u in known),
            "cost_usd": None if any(c is None for c in costs) else round(sum(costs), 8),
            "uncounted_calls": sum(int(u.get("uncounted_calls", 0)) for u in known)}


def price_of(spec: str, prompt_tokens: int, completion_tokens: int,
             prices: dict[str, Price], counted: bool = True) -> float | None:
    price = prices.get(spec)
    if price is None and spec.split("/", 1)[0] in FREE_PROVIDERS:
        return 0.0
    if price is None or not counted:  # no price, or no counts to price: unknown, not zero
        return None
    return round((prompt_tokens * price.prompt_per_m
                  + completion_tokens * price.completion_per_m) / 1e6, 8)


def tokens_of(result: LLMResult) -> tuple[int, int] | None:
    """(prompt, completion) tokens the provider reported for one call, or None."""
    for generations in result.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if usage:
                return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    reported = (result.llm_output or {}).get("token_usage") or {}
    if reported.get("prompt_tokens") is not None:
        return int(reported["prompt_tokens"]), int(reported.get("completion_tokens") or 0)
    return None


class UsageRecorder(BaseCallbackHandler):
    """Collects a ``ModelCall`` per chat call of the run it is passed to (thread-safe: the
    multi-hop graph answers sub-questions in parallel)."""

    def __init__(self, spec: str, prices: dict[str, Price]):
        self.spec, self.prices = spec, prices
        self._started: dict[uuid.UUID, tuple[str | None, float, list[dict[str, str]]]] = {}
        self._calls: list[ModelCall] = []
        self._transcripts: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, *,
                            run_id: uuid.UUID, metadata: dict[str, Any] | None = None,
                            **kwargs: Any) -> None:
        sent = [{"role": m.type, "content": _text(m.content)} for m in (messages or [[]])[0]]
        with self._lock:
            self._started[run_id] = ((metadata or {}).get("langgraph_node"),
                                     time.perf_counter(), sent)

    def on_llm_end(self, response: LLMResult, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        counts = tokens_of(response)
        prompt, completion = counts or (0, 0)
        generations = response.generations[0] if response.generations else []
        text = generations[0].text if generations else ""
        with self._lock:
            node, start, sent = self._started.pop(run_id, (None, None, []))
            self._calls.append(ModelCall(
                model=self.spec, node=node, prompt_tokens=prompt,
                completion_tokens=completion, counted=counts is not None,
                cost_usd=price_of(self.spec, prompt, completion, self.prices, counts is not None),
                seconds=None if start is None else round(time.perf_counter() - start, 4)))
            self._transcripts.append({"messages": sent, "completion": _text(text)})

    def usage(self) -> Usage:
        with self._lock:
            return Usage(calls=list(self._calls))

    def transcripts(self) -> list[dict[str, Any]]:
        """What each call was sent and answered, in the order of ``usage().calls`` (for the
        trace view; never in API answers: the messages hold the documents' text)."""
        with self._lock:
            return list(self._transcripts)


def _text(content: Any) -> str:
    text = content if isinstance(content, str) else str(content)
    return text[:_TRANSCRIPT_CHARS]


def usage_line(usage: dict[str, Any]) -> str:
    """"1,234 tokens (1,100 prompt + 134 completion) · $0.0012 estimated" for any usage dict."""
    cost = usage.get("cost_usd")
    priced = "cost not priced" if cost is None else f"${cost:.4f} estimated"
    uncounted = usage.get("uncounted_calls") or 0
    return (f"{usage.get('total_tokens', 0):,} tokens ({usage.get('prompt_tokens', 0):,} prompt + "
            f"{usage.get('completion_tokens', 0):,} completion) · {priced}"
            + (f" · {uncounted} calls uncounted" if uncounted else ""))
