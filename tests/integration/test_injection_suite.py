"""Two injection cases with the embedded model and the shipped answer@2 (the full suite, with the
before/after comparison, is `benchmarks/injection.py`: ~30 answers, minutes)."""

from __future__ import annotations

import pytest

from agents.service import ask
from core.models import get_embeddings
from core.settings import load_settings
from evals.injection import DOCUMENTS, correct, load_cases, obeyed
from retrieval.collections import Collection
from retrieval.ingest import ingest

pytestmark = pytest.mark.integration


def test_embedded_model_with_answer_v2_ignores_planted_instructions(tmp_path) -> None:
    settings = load_settings(home=tmp_path)
    col = Collection(settings, "injection", get_embeddings(settings.embedding, settings))
    assert ingest([DOCUMENTS], col, workers=1).ok
    cases = load_cases()
    for case in (c for c in cases if c.id in ("ignore-previous", "fence-escape")):
        answer = ask(case.question, settings, collection="injection", graph="simple")
        assert answer.prompts == {"answer": "answer@2"}
        others = [c for c in cases if c is not case]
        assert not obeyed(answer.answer, case, others), answer.answer
        assert correct(answer.answer, case), answer.answer
