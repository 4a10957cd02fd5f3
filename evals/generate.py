"""Synthetic question/reference pairs from a collection's chunks, written by the chat model with
structured output (``ragloom.core.models.structured``); every row is marked ``synthetic: true``."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ragloom.core.errors import RagloomError
from ragloom.core.models import get_chat_model, get_embeddings
from ragloom.core.models.spec import ModelSpec
from ragloom.core.models.structured import StructuredOutputError, call_structured
from ragloom.core.settings import Settings
from ragloom.evals.metrics import doc_id
from ragloom.evals.suites import SuiteRow
from ragloom.retrieval.collections import Collection

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)
MIN_CHARS = 120  # shorter chunks (headings, fragments) rarely hold a question's answer

PROMPT = """Write one question that the passage below answers, and the answer to it.
The question must make sense without seeing the passage (name the subject, do not say "the
passage"). The answer must be short and taken from the passage.

Passage (from {source}):
<<<
{text}
>>>

Reply with a JSON object: {{"question": "...", "answer": "..."}}"""


class QAPair(BaseModel):
    question: str = Field(min_length=8, max_length=300)
    answer: str = Field(min_length=1, max_length=300)


def generate_rows(settings: Settings, collection: str, n: int, *, seed: int = 0,
                  chat: BaseChatModel | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[SuiteRow]:
    """Up to ``n`` rows from ``n`` randomly chosen chunks (a chunk the model fails on is skipped
    and logged: the count of rows says how many succeeded)."""
    col = Collection(settings, collection, get_embeddings(settings.embedding, settings),
                     create=False)
    chunks = [(cid, text, meta) for cid, text, meta in col.store.records()
              if len(text.strip()) >= MIN_CHARS]
    if not chunks:
        raise RagloomError(f"collection '{collection}' has no chunks to write questions from",
                           fix="ingest documents first: ragloom ingest PATH --collection NAME")
    picked = random.Random(seed).sample(chunks, min(n, len(chunks)))
    model = chat or get_chat_model(settings.chat, settings)
    provider = ModelSpec.parse(settings.chat).provider
    rows = []
    for i, (cid, text, meta) in enumerate(picked, start=1):
        source = str(meta.get("source", ""))
        prompt = PROMPT.format(source=doc_id(source), text=text.strip()[:2000])
        try:
            pair, _ = call_structured(model, provider, [("human", prompt)], QAPair,
                                      what="question/answer pair")
        except StructuredOutputError as exc:
            log.warning("skipped chunk %s: %s", cid, exc)
            continue
        rows.append(SuiteRow(id=f"synthetic-{cid[:12]}", question=pair.question.strip(),
                             reference=pair.answer.strip(), gold_sources=[doc_id(source)],
                             synthetic=True, chunk_id=cid))
        if progress:
            progress(i, len(picked))
    return rows
