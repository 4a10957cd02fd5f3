"""Retrieval quality and latency on the public data sets, or on a folder of your own data in the
BEIR or records format (evals/datasets.py), with no LLM in the loop.

The corpus is ingested once into a throwaway collection under the cache directory, keyed by a hash
of the data set's files (for a folder: its corpus, questions and qrels), the embedding model and
the chunking; later runs reuse it, and two folders with different content never share one.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from ragloom.core.errors import ConfigError
from ragloom.core.models import get_embeddings
from ragloom.core.settings import Settings
from ragloom.evals.datasets import Dataset, load_dataset, slug
from ragloom.evals.retrieval_metrics import (
    all_gold_at_k,
    dedupe,
    hit_at_k,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
)
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest, ingest_records
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import FusionConfig, HybridRetriever, Mode
from ragloom.retrieval.service import fusion_config
from ragloom.retrieval.types import RetrievedChunk

log = logging.getLogger(__name__)
COLLECTION = "bench"


@dataclass
class BenchResult:
    dataset: str
    retriever: str
    questions: int
    chunks: int
    metrics: dict[str, float]
    latency_ms: dict[str, float]
    ingest_s: float | None = None  # None: the cached collection was reused
    extra: dict[str, str] = field(default_factory=dict)


def _cache_key(ds: Dataset, settings: Settings) -> str:
    digest = hashlib.sha256()
    for path in ds.corpus_files:
        digest.update(path.name.encode())
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    r = settings.retrieval
    digest.update(f"{settings.embedding}|{r.chunker}|{r.chunk_size}|{r.chunk_overlap}|"
                  f"{r.min_chunk_chars}|{r.bm25_k1}|{r.bm25_b}".encode())
    return digest.hexdigest()[:16]


def bench_settings(settings: Settings, ds: Dataset) -> Settings:
    home = settings.model_cache.parent / "bench" / f"{slug(ds.name)}-{_cache_key(ds, settings)}"
    return settings.model_copy(update={"home": home, "chroma": settings.chroma.model_copy(
        update={"mode": "embedded"})})


def build_collection(settings: Settings, ds: Dataset) -> tuple[Collection, float | None]:
    """The dataset's collection, ingested now (returns seconds) or reused (returns None)."""
    s = bench_settings(settings, ds)
    col = Collection(s, COLLECTION, get_embeddings(s.embedding, s))
    if col.manifest.counts()[0] and not col.manifest.intents():
        col.refresh_lexical_index()  # no-op unless the BM25 index format changed
        return col, None
    start = time.perf_counter()
    if ds.folder is not None:
        report = ingest([ds.folder], col)
    else:
        report = ingest_records(ds.records, col, namespace=slug(ds.name))
    if report.failed:
        log.warning("%d corpus file(s) failed: %s", len(report.failed), report.failed[:3])
    return col, time.perf_counter() - start


def doc_id(chunk: RetrievedChunk) -> str:
    return str(chunk.metadata.get("record_id") or Path(chunk.source).name)


def _metrics(ds: Dataset, rankings: list[tuple[list[str], frozenset[str]]]) -> dict[str, float]:
    def mean(fn, *args) -> float:  # type: ignore[no-untyped-def]
        return statistics.fmean(fn(r, g, *args) for r, g in rankings)

    if ds.folder is not None:  # gold is a file; rank positions are chunks (as page-level refs)
        out = {f"hit@{k}": mean(hit_at_k, k) for k in (1, 5, 10)}
        out["coverage@10"] = mean(recall_at_k, 10)
        return out
    docs = [(dedupe(r), g) for r, g in rankings]
    out = {"ndcg@10": statistics.fmean(ndcg_at_k(r, g, 10) for r, g in docs)}
    out |= {f"recall@{k}": statistics.fmean(recall_at_k(r, g, k) for r, g in docs)
            for k in (2, 5, 10, 100)}
    out["mrr"] = statistics.fmean(reciprocal_rank(r, g) for r, g in docs)
    if ds.multi_hop:
        out |= {f"all_gold@{k}": statistics.fmean(all_gold_at_k(r, g, k) for r, g in docs)
                for k in (2, 5, 10)}
    return out


def run_retrieval_bench(settings: Settings, dataset: str | Path, mode: Mode = "hybrid", *,
                        limit: int | None = None, data_dir: Path | None = None,
                        depth: int = 200, split: str = "test") -> BenchResult:
    """``dataset``: scifact, hotpotqa, docugami, or a BEIR / records folder (``split`` picks a
    BEIR folder's qrels). Questions without gold documents are not scored."""
    ds = load_dataset(dataset, data_dir, split=split)
    questions = [q for q in ds.questions if q.gold]
    if not questions:
        raise ConfigError("no question has gold documents, so retrieval cannot be scored",
                          subject=str(ds.root or dataset),
                          fix="give questions a gold_passage_ids list of corpus ids")
    questions = questions[:limit] if limit else questions
    col, ingest_s = build_collection(settings, ds)
    cfg = fusion_config(settings)
    cfg = FusionConfig(mode, cfg.rrf_k, cfg.dense_weight, cfg.lexical_weight,
                       max(cfg.candidates, depth), False, cfg.mmr_lambda)
    retriever = HybridRetriever(col.store, col.store.embeddings,
                                LexicalIndex.load(col.lexical_dir), cfg)
    rankings = [([doc_id(h) for h in retriever.retrieve(q.text, depth)], q.gold) for q in questions]
    # Latency as the agent sees it: the configured candidates, top 10, after a warm-up query.
    served = HybridRetriever(col.store, col.store.embeddings, retriever.lexical,
                             FusionConfig(mode, cfg.rrf_k, cfg.dense_weight, cfg.lexical_weight))
    served.retrieve(questions[0].text, 10)
    latencies = []
    for q in questions:
        start = time.perf_counter()
        served.retrieve(q.text, 10)
        latencies.append((time.perf_counter() - start) * 1000)
    lat = sorted(latencies)
    return BenchResult(
        dataset=str(dataset), retriever=mode, questions=len(questions), chunks=col.store.count(),
        metrics=_metrics(ds, rankings),
        latency_ms={"p50": lat[len(lat) // 2], "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))]},
        ingest_s=ingest_s, extra={"embedding": settings.embedding, "depth": str(depth),
                                  "format": ds.format, **({"split": split} if ds.format == "beir"
                                                          else {})},
    )
