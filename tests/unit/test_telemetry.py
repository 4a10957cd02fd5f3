"""OpenTelemetry spans on the SDK's in-memory exporter: the answer, its steps and model calls
with GenAI attributes, the caller's traceparent as parent; nothing at all when off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ragloom.core import telemetry
from tests.unit.api_helpers import client, fill

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.use_exporter(exporter)
    try:
        yield exporter
    finally:
        telemetry.use_exporter(None)


def test_off_by_default_no_tracer(settings) -> None:
    assert telemetry.tracer(settings) is None


def test_an_api_answer_is_one_tree_under_the_callers_trace(settings, spans) -> None:
    fill(settings)
    with client(settings, auth=False) as api:
        r = api.post("/ask", headers={"traceparent": TRACEPARENT},
                     json={"question": "At what temperature do I brew the Oolong?",
                           "collection": "sample", "graph": "corrective"})
    assert r.status_code == 200, r.text
    finished = spans.get_finished_spans()
    (root,) = [s for s in finished if s.name == "ragloom.ask"]
    assert format(root.context.trace_id, "032x") == CALLER_TRACE  # joined the caller's trace
    assert root.parent is not None and format(root.parent.span_id, "016x") == "00f067aa0ba902b7"
    a = root.attributes
    assert a["ragloom.collection"] == "sample" and a["ragloom.graph"] == "corrective"
    assert a["ragloom.trace_id"] == r.json()["trace_id"] and a["ragloom.refused"] is False
    assert a["ragloom.grounded"] == "True" and a["ragloom.retrieval.chunk_ids"]
    assert any(p.startswith("answer@") for p in a["ragloom.prompts"])
    by_id = {s.context.span_id: s for s in finished}
    steps = {s.name: s for s in finished if s.attributes.get("ragloom.step")}
    assert {"retrieve_documents", "generate_answer", "check_claims"} <= set(steps)
    for step in steps.values():  # every step hangs under the answer
        assert step.context.trace_id == root.context.trace_id
        assert step.parent.span_id == root.context.span_id, step.name
    assert steps["retrieve_documents"].attributes["ragloom.retrieval.scores"]
    sources = a["ragloom.retrieval.sources"]  # file names: no server path leaves in a span
    assert "tea-guide.pdf" in sources and not any("/" in s for s in sources), sources
    chats = [s for s in finished if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert chats and all(by_id[c.parent.span_id].name in steps for c in chats)
    assert chats[0].attributes["gen_ai.provider.name"] == "local"
    assert "gen_ai.input.messages" not in chats[0].attributes  # content is opt-in


def test_a_failed_answer_ends_its_span_with_the_error(settings, spans) -> None:
    from ragloom.agents.service import ask
    from tests.fakes import ExplodingChat
    from tests.unit.api_helpers import fake_context

    fill(settings)
    ctx = fake_context()(settings, "sample", {}, None)
    ctx.chat_model = ExplodingChat(messages=iter([]))
    with pytest.raises(AssertionError, match="should not have been"):
        ask("At what temperature do I brew the Oolong?", settings, graph="simple", context=ctx)
    (root,) = [s for s in spans.get_finished_spans() if s.name == "ragloom.ask"]
    assert root.status.status_code.name == "ERROR" and "should not have been" in root.status.description
    (step,) = [s for s in spans.get_finished_spans() if s.name == "generate_answer"]
    assert step.status.status_code.name == "ERROR"  # the step that failed says so too
