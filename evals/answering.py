"""Building a suite's collection and answering one row through ``ragloom.agents.service.ask``."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ragloom.agents.service import ask, get_trace
from ragloom.agents.state import RagContext
from ragloom.core.errors import ConfigError, RagloomError
from ragloom.core.models import get_embeddings
from ragloom.core.settings import Settings
from ragloom.evals.datasets import load_dataset
from ragloom.evals.metrics import Observed, doc_id
from ragloom.evals.suites import Suite, SuiteRow
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest, ingest_records

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


def apply_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """Settings with nested overrides (``{"retrieval": {"top_k": 6}}``), validated."""
    data = settings.model_dump()
    for key, value in overrides.items():
        if key not in type(settings).model_fields:
            raise ConfigError(f"unknown setting '{key}'", fix="see core/settings.py")
        current = data.get(key)
        data[key] = {**current, **value} if isinstance(value, dict) and isinstance(
            current, dict) else value
    try:
        return type(settings)(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"invalid setting {'.'.join(map(str, err['loc']))}: {err['msg']}",
                          fix="fix the suite's settings or the variant") from None


def build_suite_collection(suite: Suite, settings: Settings,
                           embeddings: Embeddings | None = None) -> Collection:
    """The suite's collection in ``settings.home``, ingested incrementally (unchanged: skipped)."""
    spec = suite.collection
    col = Collection(settings, spec.name, embeddings or get_embeddings(settings.embedding, settings))
    if spec.paths:
        paths = [suite.resolve(p) for p in spec.paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise ConfigError(f"collection paths not found: {missing}", subject=suite.name,
                              fix="fix collection.paths in the suite")
        report = ingest(paths, col)
    elif spec.builtin_corpus:
        ds = load_dataset(spec.builtin_corpus, suite.data_dir(), split=suite.dataset.split)
        report = ingest_records(ds.records, col, namespace=ds.name)  # "hotpotqa://ID", not a path
    else:
        return col  # an existing collection, used as it is
    if report.failed:
        log.warning("%d file(s) of the suite's corpus failed: %s", len(report.failed),
                    report.failed[:3])
    return col


@dataclass
class Answered:
    row: SuiteRow
    observed: Observed | None
    body: dict[str, Any]  # what is stored (scores are added later)
    error: str | None = None


def answer_row(row: SuiteRow, settings: Settings, ctx: RagContext, graph: str | None
               ) -> Answered:
    """Ask one question; an error is recorded on the row (the run goes on)."""
    body: dict[str, Any] = {"question": row.question, "reference": row.reference,
                            "gold_sources": row.gold_sources, "synthetic": row.synthetic}
    if row.where is not None:  # the row's own filter replaces the suite's
        ctx = dataclasses.replace(ctx, where=row.where)
    start = time.perf_counter()
    try:
        answer = ask(row.question, settings, graph=graph, context=ctx)
    except RagloomError as exc:
        return _failed(row, body, str(exc), start)
    except Exception as exc:  # one broken question must not end the run
        log.warning("row %s failed: %s", row.id, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return _failed(row, body, f"{type(exc).__name__}: {exc}", start)
    seconds = time.perf_counter() - start
    retrieved, contexts = _evidence(settings, ctx, answer.trace_id)
    observed = Observed(answer=answer.answer, refused=answer.refused, contexts=contexts,
                        retrieved_docs=retrieved, citations=len(answer.citations),
                        dropped_citations=answer.dropped_citations, seconds=seconds,
                        model_calls=sum(answer.model_calls.values()), claims=len(answer.claims),
                        supported_claims=sum(c.supported for c in answer.claims))
    body |= {"answer": answer.answer, "refused": answer.refused, "grounded": answer.grounded,
             "contexts": contexts, "retrieved_docs": retrieved,
             "citations": [{"n": c.n, "source": c.source, "page": c.page}
                           for c in answer.citations],
             "dropped_citations": answer.dropped_citations, "prompts": answer.prompts,
             "claims": [c.model_dump() for c in answer.claims],
             "models": answer.models, "route": answer.route, "timings": answer.timings,
             "seconds": seconds, "model_calls": answer.model_calls,
             "usage": answer.usage.model_dump(mode="json"),
             "trace_id": answer.trace_id, "error": None}
    return Answered(row, observed, body)


def _failed(row: SuiteRow, body: dict[str, Any], error: str, start: float) -> Answered:
    body |= {"answer": None, "error": error, "seconds": time.perf_counter() - start}
    return Answered(row, None, body, error)


def _evidence(settings: Settings, ctx: RagContext, trace_id: str | None
              ) -> tuple[list[str], list[str]]:
    """(document ids of the retrieved chunks in rank order, texts of the chunks kept for the
    answer), read back from the answer's trace and the store."""
    if not trace_id:
        return [], []
    trace = get_trace(settings, trace_id)
    retrieved = [doc_id(r["source"]) for r in trace.get("retrieved", [])]
    kept = list(trace.get("kept", []))
    store = getattr(ctx.retriever, "store", None)
    if not kept or store is None:
        return retrieved, []
    by_id = {c.id: c.text for c in store.get_many(kept)}
    return retrieved, [by_id[k] for k in kept if k in by_id]
