"""OpenTelemetry spans of every answer, exported over OTLP to any backend (Phoenix, Langfuse,
Jaeger, Grafana Tempo, an OpenTelemetry Collector).

Off unless ``otel.endpoint`` is set (``RAGLOOM_OTEL__ENDPOINT``), and then nothing is built per
answer but a callback handler. The tree of one answer:

- ``ragloom.ask`` (the answer): collection, graph, prompts ``name@version``, grounded, refused,
  ragloom's trace id, retrieved chunk ids and scores; its parent is the caller's W3C
  ``traceparent`` when the API got one.
- one span per graph step (``retrieve_documents``, ``grade_documents``, …) with the step's trace
  record;
- one ``chat MODEL`` span per model call, named and attributed by OpenTelemetry's GenAI semantic
  conventions (``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
  ``gen_ai.usage.input_tokens`` / ``output_tokens``); the messages only with ``otel.capture_content``
  (they hold your documents). ``openinference.span.kind`` is set too, so Phoenix draws the tree.

The spans come from a LangChain callback handler passed in the graph run's config, as
``core.models.usage`` does for tokens: LangGraph hands it to every node and model call.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from ragloom.core.models.usage import tokens_of
from ragloom.core.settings import OtelSettings, Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

SCOPE = "ragloom"
_MAX_ATTRIBUTE = 4000  # characters: spans carry summaries, the full record is ragloom's trace


@functools.lru_cache(maxsize=4)
def _provider(endpoint: str, headers: tuple[tuple[str, str], ...], service: str
              ) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    url = endpoint.rstrip("/")
    exporter = OTLPSpanExporter(endpoint=url if url.endswith("/v1/traces") else f"{url}/v1/traces",
                                headers=dict(headers))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


_test_provider: TracerProvider | None = None


def use_exporter(exporter: SpanExporter | None) -> None:
    """Send every span to ``exporter`` at once, whatever the settings (tests: the SDK's
    in-memory exporter); None goes back to the settings."""
    global _test_provider
    if exporter is None:
        _test_provider = None
        return
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    _test_provider = TracerProvider()
    _test_provider.add_span_processor(SimpleSpanProcessor(exporter))


def tracer(settings: Settings) -> Tracer | None:
    """The tracer when telemetry is on, else None (and nothing is imported)."""
    o: OtelSettings = settings.otel
    if _test_provider is not None:
        return _test_provider.get_tracer(SCOPE)
    if not o.endpoint:
        return None
    return _provider(o.endpoint, _headers(o), o.service_name).get_tracer(SCOPE)


def flush(settings: Settings) -> None:
    """Export what is buffered (a CLI command ends before the batch would)."""
    if _test_provider is None and settings.otel.endpoint:
        o = settings.otel
        _provider(o.endpoint, _headers(o), o.service_name).force_flush(5000)


def _headers(o: OtelSettings) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, v.get_secret_value()) for k, v in o.headers.items()))


def parent_context(carrier: Mapping[str, str] | None) -> Any:
    """The caller's span context from W3C ``traceparent``/``tracestate`` headers, or None."""
    if not carrier:
        return None
    from opentelemetry.propagate import extract

    return extract({k.lower(): v for k, v in carrier.items()
                    if k.lower() in ("traceparent", "tracestate")})


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:_MAX_ATTRIBUTE]


class SpanRecorder(BaseCallbackHandler):
    """Opens a span per graph step and per chat call below ``root`` (thread-safe: the multi-hop
    graph answers sub-questions in parallel)."""

    def __init__(self, tracer: Tracer, root: Span, chat: str, capture_content: bool = False):
        self.tracer, self.root, self.capture = tracer, root, capture_content
        self.provider, _, self.model = chat.partition("/")
        self._spans: dict[uuid.UUID, Span] = {}
        self._parents: dict[uuid.UUID, uuid.UUID | None] = {}
        self._lock = threading.Lock()

    def _parent(self, parent_run_id: uuid.UUID | None) -> Span:
        """The nearest enclosing run that has a span (LangGraph's own plumbing has none)."""
        seen = 0
        while parent_run_id is not None and seen < 100:
            if parent_run_id in self._spans:
                return self._spans[parent_run_id]
            parent_run_id, seen = self._parents.get(parent_run_id), seen + 1
        return self.root

    def _start(self, run_id: uuid.UUID, parent_run_id: uuid.UUID | None, name: str,
               attributes: dict[str, Any]) -> None:
        from opentelemetry import trace

        with self._lock:
            parent = self._parent(parent_run_id)
            self._spans[run_id] = self.tracer.start_span(
                name, context=trace.set_span_in_context(parent), attributes=attributes)

    def _end(self, run_id: uuid.UUID, error: BaseException | None = None,
             attributes: dict[str, Any] | None = None) -> None:
        from opentelemetry.trace import Status, StatusCode

        with self._lock:
            span = self._spans.pop(run_id, None)
            self._parents.pop(run_id, None)
        if span is None:
            return
        if attributes:
            span.set_attributes(attributes)
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:200]))
        span.end()

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *,
                       run_id: uuid.UUID, parent_run_id: uuid.UUID | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        node = (metadata or {}).get("langgraph_node")
        with self._lock:
            self._parents[run_id] = parent_run_id
        if node and kwargs.get("name") == node:  # the node itself, not its inner runnables
            self._start(run_id, parent_run_id, node, {
                "ragloom.step": node, "openinference.span.kind": "CHAIN",
                "langgraph.step": int((metadata or {}).get("langgraph_step") or 0)})

    def on_chain_end(self, outputs: Any, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        attributes: dict[str, Any] = {}
        if isinstance(outputs, dict):
            steps = outputs.get("steps")
            record = getattr(steps, "value", steps)
            if isinstance(record, list) and record and isinstance(record[-1], dict):
                attributes["ragloom.step.detail"] = _text(record[-1])
            if outputs.get("retrieved"):
                attributes.update(retrieval_attributes(outputs["retrieved"]))
        self._end(run_id, attributes=attributes)

    def on_chain_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *,
                            run_id: uuid.UUID, parent_run_id: uuid.UUID | None = None,
                            invocation_params: dict[str, Any] | None = None,
                            **kwargs: Any) -> None:
        params = invocation_params or {}
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.model, "openinference.span.kind": "LLM",
            "llm.model_name": self.model}
        for key, name in (("temperature", "gen_ai.request.temperature"),
                          ("max_tokens", "gen_ai.request.max_tokens")):
            if isinstance(params.get(key), int | float):
                attributes[name] = params[key]
        if self.capture and messages:
            attributes["gen_ai.input.messages"] = _text(
                [{"role": m.type, "content": m.content} for m in messages[0]])
        with self._lock:
            self._parents[run_id] = parent_run_id
        self._start(run_id, parent_run_id, f"chat {self.model}", attributes)

    def on_llm_end(self, response: LLMResult, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        attributes: dict[str, Any] = {}
        if (counts := tokens_of(response)) is not None:
            attributes.update({"gen_ai.usage.input_tokens": counts[0],
                               "gen_ai.usage.output_tokens": counts[1],
                               "llm.token_count.prompt": counts[0],
                               "llm.token_count.completion": counts[1]})
        if self.capture and response.generations and response.generations[0]:
            attributes["gen_ai.output.messages"] = _text(
                [{"role": "assistant", "content": response.generations[0][0].text}])
        self._end(run_id, attributes=attributes)

    def on_llm_error(self, error: BaseException, *, run_id: uuid.UUID, **kwargs: Any) -> None:
        self._end(run_id, error)


def retrieval_attributes(chunks: list[Any]) -> dict[str, Any]:
    # File names, not the server's paths: spans leave for a telemetry backend.
    return {"ragloom.retrieval.chunk_ids": [str(getattr(c, "id", "")) for c in chunks],
            "ragloom.retrieval.scores": [float(getattr(c, "score", 0.0) or 0.0) for c in chunks],
            "ragloom.retrieval.sources": [_file_name(str(getattr(c, "source", "")))
                                          for c in chunks]}


def _file_name(source: str) -> str:
    return source.removeprefix("upload://").rsplit("/", 1)[-1]
