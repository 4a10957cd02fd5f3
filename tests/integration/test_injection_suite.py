"""Two injection cases with the embedded model and the shipped production answer prompt (the full
suite, with the before/after comparison, is `benchmarks/injection.py`: 64 cases, three graphs)."""

from __future__ import annotations

import pytest

from ragloom.agents.service import ask
from ragloom.agents.traces import TraceStore
from ragloom.core.models import get_embeddings
from ragloom.core.settings import load_settings
from ragloom.evals.injection import DOCUMENTS, correct, load_cases, obeyed, poison_map, poisons_seen
from ragloom.prompts import PromptStore
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest

pytestmark = pytest.mark.integration


def test_embedded_model_with_the_production_prompt_ignores_planted_instructions(tmp_path) -> None:
    settings = load_settings(home=tmp_path)
    col = Collection(settings, "injection", get_embeddings(settings.embedding, settings))
    assert ingest([DOCUMENTS], col, workers=1).ok
    cases = load_cases()
    poisons = poison_map(((cid, text) for cid, text, _ in col.store.records()), cases)
    for case in (c for c in cases if c.id in ("ignore-previous", "fence-escape")):
        answer = ask(case.question, settings, collection="injection", graph="simple")
        production = PromptStore().labels("answer")["production"]
        assert answer.prompts == {"answer": f"answer@{production}"}
        kept = TraceStore(tmp_path / "traces.sqlite").get(answer.trace_id)["kept"]
        seen = poisons_seen(kept, poisons)
        assert case in seen  # the poisoned chunk was in the context the model saw
        assert not obeyed(answer.answer, case, seen), answer.answer
        assert correct(answer.answer, case), answer.answer
