"""Structured outputs from chat models that often break JSON (small local ones especially).

Order of attempts: the provider's JSON mode (llama.cpp grammar, Ollama ``format``, OpenAI
``response_format``) → local repair of near-JSON → one retry that shows the model its error →
a typed ``StructuredOutputError`` that the graph handles on purpose. Never a silent default.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from ragloom.core.errors import RagloomError

T = TypeVar("T", bound=BaseModel)
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


class StructuredOutputError(RagloomError):
    """The model did not produce valid output for the schema, even after repair and a retry."""


def json_mode_kwargs(provider: str, schema: type[BaseModel]) -> dict[str, Any]:
    """Invocation kwargs that turn on each provider's JSON mode."""
    json_schema = schema.model_json_schema()
    if provider == "local":  # llama.cpp constrains decoding with a grammar built from the schema
        return {"response_format": {"type": "json_object", "schema": json_schema}}
    if provider == "ollama":
        return {"format": json_schema}
    if provider == "openai":
        return {"response_format": {"type": "json_object"}}
    return {}


def repair_json(text: str) -> Any:
    """Parse near-JSON: code fences, prose around the object, trailing commas, single quotes."""
    candidates = [text.strip()]
    if fenced := _FENCE.search(text):
        candidates.append(fenced.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for cand in candidates:
        for fixed in (cand, re.sub(r",\s*([}\]])", r"\1", cand)):
            for attempt in (fixed, fixed.replace("'", '"')):
                try:
                    return json.loads(attempt)
                except json.JSONDecodeError:
                    continue
    raise ValueError("no JSON object found")


def call_structured(model: BaseChatModel, provider: str, messages: list[Any], schema: type[T],
                    *, what: str) -> tuple[T, int]:
    """Ask for ``schema``; returns (value, model calls spent) or raises StructuredOutputError."""
    kwargs = json_mode_kwargs(provider, schema)
    history: list[BaseMessage | tuple[str, str]] = list(messages)
    error = ""
    for attempt in (1, 2):
        reply = model.invoke(history, **kwargs)
        text = str(reply.content)
        try:
            return schema.model_validate(repair_json(text)), attempt
        except (ValueError, ValidationError) as exc:
            error = str(exc).splitlines()[0]
            history += [AIMessage(content=text), HumanMessage(content=(
                f"That was not valid JSON for the requested format ({error}). Reply with only a "
                f"JSON object matching this schema: {json.dumps(schema.model_json_schema())}"))]
    raise StructuredOutputError(f"the model gave no valid {what} after a retry: {error}",
                                fix="use a larger chat model, or one with JSON mode")
