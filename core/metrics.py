"""Prometheus metrics of this process, served at ``/metrics`` by ``ragloom serve``.

The metric objects live here, at the bottom of the layers, so the code that does the work counts
it (answers and steps in ``agents.service``, files in ``retrieval.ingest``, requests in the API's
middleware) and an interface only exposes them. prometheus-client keeps them in memory: recording
costs a lock and an add, whether or not anyone scrapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_SLOW = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320)  # answers on a CPU take seconds

requests = Counter("ragloom_http_requests", "HTTP requests by route template and status",
                   ["method", "route", "status"], registry=REGISTRY)
request_seconds = Histogram("ragloom_http_request_seconds", "HTTP request latency (until the "
                            "response starts; a stream's length is not in it)",
                            ["method", "route"], buckets=_FAST + (20, 60), registry=REGISTRY)
answers = Counter("ragloom_answers", "Questions answered, by graph and outcome "
                  "(answered, refused, error)", ["graph", "outcome"], registry=REGISTRY)
answer_seconds = Histogram("ragloom_answer_seconds", "Time to a whole answer, by graph",
                           ["graph"], buckets=_SLOW, registry=REGISTRY)
step_seconds = Histogram("ragloom_step_seconds", "Time per graph step (retrieve_documents is "
                         "the retrieval latency)", ["step"], buckets=_FAST + _SLOW[7:],
                         registry=REGISTRY)
model_calls = Counter("ragloom_model_calls", "Chat model calls by model and outcome (ok, error, stopped)",
                      ["model", "outcome"], registry=REGISTRY)
model_tokens = Counter("ragloom_model_tokens", "Tokens by model and kind (prompt, completion), "
                       "as the provider counted them", ["model", "kind"], registry=REGISTRY)
in_flight = Gauge("ragloom_questions_in_flight", "Questions being answered now",
                  registry=REGISTRY)
ingest_files = Counter("ragloom_ingest_files", "Files ingested, by outcome (ingested, unchanged, "
                       "removed, failed, skipped)", ["outcome"], registry=REGISTRY)
ingest_chunks = Counter("ragloom_ingest_chunks", "Chunks stored by ingestion", registry=REGISTRY)


def record_answer(graph: str, outcome: str, seconds: float, steps: Iterable[dict[str, Any]],
                  calls: Iterable[Any]) -> None:
    """One answer's figures: outcome and time, its steps' times, its model calls and tokens."""
    answers.labels(graph, outcome).inc()
    answer_seconds.labels(graph).observe(seconds)
    for step in steps:
        step_seconds.labels(str(step.get("node", "?"))).observe(float(step.get("seconds", 0.0)))
    for call in calls:
        model_calls.labels(call.model, "ok").inc()
        model_tokens.labels(call.model, "prompt").inc(call.prompt_tokens)
        model_tokens.labels(call.model, "completion").inc(call.completion_tokens)


def record_ingest(report: Any) -> None:
    for outcome in ("ingested", "unchanged", "removed", "failed", "skipped"):
        if count := len(getattr(report, outcome, [])):
            ingest_files.labels(outcome).inc(count)
    ingest_chunks.inc(getattr(report, "chunks_added", 0))
