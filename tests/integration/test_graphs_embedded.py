"""Each graph on the real embedded chat model, MiniLM embeddings and an embedded Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragloom.agents.service import ask, get_trace
from ragloom.core.models import get_embeddings
from ragloom.core.settings import Settings, load_settings
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from tests.conftest import SAMPLE_CORPUS

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings(home=tmp_path_factory.mktemp("graphs"))
    col = Collection(settings, "sample", get_embeddings(settings.embedding, settings))
    assert ingest([SAMPLE_CORPUS], col).ok
    return settings


@pytest.mark.parametrize("graph", ["simple", "corrective", "adaptive"])
def test_graph_answers_with_a_citation(real_settings: Settings, graph: str) -> None:
    a = ask("What temperature should I brew the Oolong at?", real_settings, collection="sample",
            graph=graph)
    assert "85" in a.answer and not a.refused, a
    assert any(c.source.endswith("tea-guide.pdf") for c in a.citations)
    trace = get_trace(real_settings, a.trace_id or "")
    assert trace["answer"] == a.answer and trace["steps"][0]["node"] == "start_turn"
    assert sum(a.model_calls.values()) <= 4


@pytest.mark.parametrize("graph", ["corrective", "adaptive"])
def test_off_topic_question_is_refused(real_settings: Settings, graph: str) -> None:
    a = ask("Who won the 1998 football world cup?", real_settings, collection="sample",
            graph=graph)
    assert a.refused and a.citations == [], a


def test_structured_output_in_json_mode_parses(real_settings: Settings) -> None:
    """llama.cpp's grammar-constrained JSON mode yields a valid grade on the first call."""
    from ragloom.agents.schemas import ChunkGrades
    from ragloom.core.models import get_chat_model
    from ragloom.core.models.structured import call_structured

    model = get_chat_model(real_settings.chat, real_settings)
    grades, calls = call_structured(model, "local", [
        ("system", 'Reply with JSON only: {"relevant": [numbers of useful documents]}'),
        ("user", "Documents:\n[1] Oolong brews at 85 degrees.\n[2] Shipping is free over 45 "
                 "euros.\n\nQuestion: How hot should Oolong water be?")], ChunkGrades, what="grades")
    assert calls == 1 and isinstance(grades.relevant, list)


def test_home_is_used(real_settings: Settings) -> None:
    assert Path(real_settings.home, "traces.sqlite").exists()
