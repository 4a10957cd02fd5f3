"""Retrieval quality and query latency: ragloom's hybrid retriever against LangChain and LlamaIndex.

Part A: the same corpus, the same chunks and the same embedding model (ragloom's ``local/minilm-l6-v2``,
all-MiniLM-L6-v2 int8 ONNX, 384-d) for all three systems, on SciFact (300 test claims: nDCG@10,
recall@10, recall@100) and HotpotQA (100 questions: recall@5, both gold passages in the top 5).

- ragloom: ``evals.retrieval_bench.run_retrieval_bench(settings, dataset, "hybrid")`` over the cached
  benchmark collection (``~/.cache/ragloom/bench``): dense (Chroma) + BM25 (bm25s) fused by RRF.
- LangChain: ``EnsembleRetriever([bm25, dense], weights=[0.5, 0.5])`` over the chunk texts and
  metadata read out of ragloom's Chroma collection. ``BM25Retriever.from_texts`` (langchain-community)
  needs ``rank_bm25``; when that is not installed a stand-in BM25 retriever is used instead: the same
  default preprocessing (``text.split()``) and BM25Okapi parameters (k1=1.5, b=0.75), scored by bm25s
  (much faster than rank_bm25, so the LangChain latency is then a lower bound). The dense side is a
  ``langchain_chroma.Chroma`` over the same Chroma collection when that package is installed, else a
  small ``BaseRetriever`` that calls ``collection.query(query_embeddings=[embed_query(q)])``. The
  output says which ran.
- LlamaIndex: ``VectorStoreIndex(nodes, embed_model=MiniLM)`` in its default in-memory
  ``SimpleVectorStore``; the nodes carry the vectors already stored in Chroma (no re-embedding);
  ``index.as_retriever(similarity_top_k=K)``.

Quality rankings are 200 chunks deep for every system (as ``run_retrieval_bench``), mapped to
document ids (metadata ``record_id``) and de-duplicated before the metrics. Latency: each query is
timed at top 10 (query embedding included) after one warm-up query; p50/p95 in milliseconds. The
systems take turns on every query (rotating which goes first), so that the load of a shared machine
hits them alike; run_retrieval_bench's own timing of ragloom alone is printed under each table.

Part B: a synthetic collection of 100,000 chunks (seeded random ~40-word sentences over a fixed
vocabulary, random unit 384-d vectors stored directly through ``ChunkStore.add``, BM25 index built by
``Collection.refresh_lexical_index``), cached in ``~/.cache/ragloom/bench/synthetic-100k``. ragloom's
hybrid retriever (default fusion settings) is timed at top 10 over 200 random queries embedded by the
real MiniLM model, in turns with LangChain's ensemble and with ragloom's three stages on their own
(query embedding, Chroma, BM25). LangChain's ensemble and LlamaIndex's ``VectorStoreIndex`` run at
that scale when each builds within ``--peer-build-s`` seconds (else reported as skipped with the
time observed); LlamaIndex's query timing stops after ``--peer-query-s`` seconds (n is reported).

Run from the repository root::

    .venv/bin/python benchmarks/retrieval.py                 # full: ~10-20 minutes on 2 cores
    .venv/bin/python benchmarks/retrieval.py --quick         # SciFact first 50 claims, 20k synthetic chunks
    .venv/bin/python benchmarks/retrieval.py --json /tmp/retrieval.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("LANGSMITH_TRACING", "false")

DEPTH = 200  # chunks ranked for the quality metrics (as run_retrieval_bench)
SEED = 1234
DIM = 384
METRICS = {"scifact": ("ndcg@10", "recall@10", "recall@100"), "hotpotqa": ("recall@5", "all_gold@5")}


# --------------------------------------------------------------------------------------------------
# helpers


def pct(values: list[float]) -> dict[str, float]:
    lat = sorted(values)
    return {"p50": lat[len(lat) // 2], "p95": lat[min(len(lat) - 1, int(len(lat) * 0.95))],
            "n": len(lat)}


def time_queries(fn: Callable[[str], Any], queries: list[str], budget_s: float | None = None,
                 min_n: int = 5) -> dict[str, float]:
    """Milliseconds per query after one warm-up call; stops early once ``budget_s`` is spent."""
    fn(queries[0])
    out: list[float] = []
    began = time.perf_counter()
    for q in queries:
        start = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - start) * 1000)
        if budget_s is not None and len(out) >= min_n and time.perf_counter() - began > budget_s:
            break
    return pct(out)


def interleaved(systems: dict[str, Callable[[str], Any]], queries: list[str]) -> dict[str, dict[str, float]]:
    """Milliseconds per query for several systems, taking turns on each query (rotating who goes
    first) so that a change in machine load hits them all alike; one warm-up call each."""
    for fn in systems.values():
        fn(queries[0])
    names = list(systems)
    times: dict[str, list[float]] = {n: [] for n in names}
    for i, q in enumerate(queries):
        for name in names[i % len(names):] + names[: i % len(names)]:
            start = time.perf_counter()
            systems[name](q)
            times[name].append((time.perf_counter() - start) * 1000)
    return {n: pct(t) for n, t in times.items()}


def quality(dataset: str, rankings: list[tuple[list[str], frozenset[str]]]) -> dict[str, float]:
    from evals.retrieval_metrics import all_gold_at_k, dedupe, ndcg_at_k, recall_at_k

    docs = [(dedupe(r), g) for r, g in rankings]
    out: dict[str, float] = {}
    for name in METRICS[dataset]:
        metric, k = name.split("@")
        fn = {"ndcg": ndcg_at_k, "recall": recall_at_k, "all_gold": all_gold_at_k}[metric]
        out[name] = statistics.fmean(fn(r, g, int(k)) for r, g in docs)
    return out


def read_chunks(raw_col: Any, batch: int = 2000) -> tuple[list[str], list[str], list[dict], np.ndarray]:
    """Every chunk of a Chroma collection: ids, texts, metadatas and stored vectors."""
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict] = []
    vecs: list[np.ndarray] = []
    offset = 0
    while True:
        page = raw_col.get(limit=batch, offset=offset, include=["documents", "metadatas", "embeddings"])
        if not page["ids"]:
            break
        ids += page["ids"]
        texts += [t or "" for t in page["documents"]]
        metas += [dict(m or {}) for m in page["metadatas"]]
        vecs.append(np.asarray(page["embeddings"], dtype=np.float32))
        offset += len(page["ids"])
    return ids, texts, metas, (np.concatenate(vecs) if vecs else np.zeros((0, DIM), np.float32))


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# --------------------------------------------------------------------------------------------------
# LangChain


HAVE_RANK_BM25 = importlib.util.find_spec("rank_bm25") is not None
HAVE_LC_CHROMA = importlib.util.find_spec("langchain_chroma") is not None


def langchain_variant() -> str:
    bm25 = "BM25Retriever(rank_bm25)" if HAVE_RANK_BM25 else "bm25s stand-in for BM25Retriever"
    dense = "langchain_chroma.Chroma" if HAVE_LC_CHROMA else "BaseRetriever over chroma"
    return f"{bm25} + {dense}"


def make_langchain(raw_col: Any, emb: Any, texts: list[str], metas: list[dict], ids: list[str]):  # type: ignore[no-untyped-def]
    """(ensemble, set_k): LangChain's EnsembleRetriever over BM25 and the shared Chroma collection."""
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    if HAVE_RANK_BM25:
        from langchain_community.retrievers import BM25Retriever

        bm25: Any = BM25Retriever.from_texts(texts, metadatas=metas, ids=ids)
    else:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)

        class BM25StandIn(BaseRetriever):
            """BM25Retriever's behaviour (whitespace tokens, BM25Okapi k1=1.5 b=0.75) on bm25s."""

            model_config = {"arbitrary_types_allowed": True}
            index: Any
            docs: list[Document]
            k: int = 4

            def _get_relevant_documents(self, query: str, *,
                                        run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
                tokens = [t for t in query.split() if t in self.index.vocab_dict]
                if not tokens:
                    return []
                found, _ = self.index.retrieve([tokens], k=min(self.k, len(self.docs)),
                                               show_progress=False, n_threads=1)
                return [self.docs[int(i)] for i in found[0]]

        index = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
        index.index([t.split() for t in texts], show_progress=False)
        docs = [Document(page_content=t, metadata=m, id=i) for t, m, i in zip(texts, metas, ids, strict=True)]
        bm25 = BM25StandIn(index=index, docs=docs)

    if HAVE_LC_CHROMA:
        from langchain_chroma import Chroma

        store = Chroma(client=raw_col._client, collection_name=raw_col.name, embedding_function=emb)
        dense: Any = store.as_retriever(search_kwargs={"k": 4})

        def set_dense_k(k: int) -> None:
            dense.search_kwargs["k"] = k
    else:
        class ChromaDense(BaseRetriever):
            """Dense top-k from the shared Chroma collection (langchain_chroma is not installed)."""

            model_config = {"arbitrary_types_allowed": True}
            collection: Any
            embeddings: Any
            k: int = 4

            def _get_relevant_documents(self, query: str, *,
                                        run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
                res = self.collection.query(query_embeddings=[self.embeddings.embed_query(query)],
                                            n_results=self.k, include=["documents", "metadatas"])
                return [Document(page_content=t or "", metadata=m or {}, id=i)
                        for i, t, m in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                           strict=True)]

        dense = ChromaDense(collection=raw_col, embeddings=emb)

        def set_dense_k(k: int) -> None:
            dense.k = k

    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def set_k(k: int) -> None:
        bm25.k = k
        set_dense_k(k)

    return ensemble, set_k


# --------------------------------------------------------------------------------------------------
# LlamaIndex


def llama_embedding(emb: Any):  # type: ignore[no-untyped-def]
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class MiniLM(BaseEmbedding):
        _emb: Any = PrivateAttr()

        def __init__(self, inner: Any, **kw: Any):
            super().__init__(model_name="local/minilm-l6-v2", **kw)
            self._emb = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return list(self._emb.embed_query(query))

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(self._emb.embed_documents([text])[0])

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(v) for v in self._emb.embed_documents(texts)]

    return MiniLM(emb)


def llama_nodes(ids: list[str], texts: list[str], metas: list[dict], vecs: np.ndarray,
                start: int = 0, stop: int | None = None) -> list[Any]:
    from llama_index.core.schema import TextNode

    stop = len(ids) if stop is None else stop
    return [TextNode(id_=ids[i], text=texts[i], metadata=metas[i], embedding=vecs[i].tolist())
            for i in range(start, stop)]


def make_llama(emb: Any, ids: list[str], texts: list[str], metas: list[dict], vecs: np.ndarray,
               budget_s: float | None = None, batch: int = 10_000) -> tuple[Any, float, int]:
    """(index or None when the build ran past ``budget_s``, build seconds, nodes inserted)."""
    from llama_index.core import VectorStoreIndex

    start = time.perf_counter()
    if budget_s is None:
        index = VectorStoreIndex(llama_nodes(ids, texts, metas, vecs), embed_model=llama_embedding(emb))
        return index, time.perf_counter() - start, len(ids)
    index = VectorStoreIndex([], embed_model=llama_embedding(emb))
    done = 0
    while done < len(ids):
        stop = min(done + batch, len(ids))
        index.insert_nodes(llama_nodes(ids, texts, metas, vecs, done, stop))
        done = stop
        if done < len(ids) and time.perf_counter() - start > budget_s:
            return None, time.perf_counter() - start, done
    return index, time.perf_counter() - start, done


# --------------------------------------------------------------------------------------------------
# Part A


def part_a(settings: Any, dataset: str, limit: int | None, emb_out: dict[str, Any]) -> list[dict[str, Any]]:
    from evals.datasets import load_dataset
    from evals.retrieval_bench import build_collection, run_retrieval_bench
    from retrieval.lexical import LexicalIndex
    from retrieval.retriever import FusionConfig, HybridRetriever
    from retrieval.service import fusion_config

    ds = load_dataset(dataset)
    col, ingest_s = build_collection(settings, ds)
    emb = col.store.embeddings
    emb_out.setdefault("emb", emb)
    questions = ds.questions[:limit] if limit else ds.questions
    queries = [q.text for q in questions]
    rows: list[dict[str, Any]] = []

    res = run_retrieval_bench(settings, dataset, "hybrid", limit=limit)
    rows.append({"dataset": dataset, "system": "ragloom hybrid", "questions": res.questions,
                 "chunks": res.chunks, "metrics": {k: res.metrics[k] for k in METRICS[dataset]},
                 "bench_latency_ms": dict(res.latency_ms), "build_s": ingest_s or 0.0,
                 "note": "cached collection" if ingest_s is None else "ingested now"})
    cfg = fusion_config(settings)  # served as run_retrieval_bench times it: default candidates, top 10
    served = HybridRetriever(col.store, emb, LexicalIndex.load(col.lexical_dir),
                             FusionConfig("hybrid", cfg.rrf_k, cfg.dense_weight, cfg.lexical_weight))

    raw = col.store._col
    ids, texts, metas, vecs = read_chunks(raw)

    start = time.perf_counter()
    ensemble, set_k = make_langchain(raw, emb, texts, metas, ids)
    build = time.perf_counter() - start
    set_k(DEPTH)
    rankings = [([str(d.metadata.get("record_id")) for d in ensemble.invoke(q)][:DEPTH], g.gold)
                for q, g in zip(queries, questions, strict=True)]
    set_k(10)
    rows.append({"dataset": dataset, "system": "langchain ensemble", "questions": len(questions),
                 "chunks": len(ids), "metrics": quality(dataset, rankings),
                 "build_s": build, "note": langchain_variant()})

    index, build, _ = make_llama(emb, ids, texts, metas, vecs)
    deep = index.as_retriever(similarity_top_k=DEPTH)
    rankings = [([str(n.node.metadata.get("record_id")) for n in deep.retrieve(q)], g.gold)
                for q, g in zip(queries, questions, strict=True)]
    top10 = index.as_retriever(similarity_top_k=10)
    rows.append({"dataset": dataset, "system": "llamaindex vector", "questions": len(questions),
                 "chunks": len(ids), "metrics": quality(dataset, rankings),
                 "build_s": build, "note": "SimpleVectorStore, stored vectors"})

    lat = interleaved({"ragloom hybrid": lambda q: served.retrieve(q, 10),
                       "langchain ensemble": lambda q: ensemble.invoke(q)[:10],
                       "llamaindex vector": top10.retrieve}, queries)
    for row in rows:
        row["latency_ms"] = lat[row["system"]]
    return rows


# --------------------------------------------------------------------------------------------------
# Part B


def vocabulary(size: int = 6000) -> list[str]:
    rng = np.random.default_rng(SEED)
    onsets = "b c d f g h j k l m n p r s t v w z br cr dr fr gr pl pr st tr sh ch th".split()
    vowels = "a e i o u ai ea ou io".split()
    codas = ["", "n", "r", "s", "t", "l", "m", "x", "nd", "st"]
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(1, 4))
        words.add("".join(onsets[rng.integers(len(onsets))] + vowels[rng.integers(len(vowels))]
                          for _ in range(n)) + codas[rng.integers(len(codas))])
    return sorted(words)


def synthetic_corpus(n: int) -> tuple[list[str], list[str], list[dict], np.ndarray]:
    vocab = np.array(vocabulary())
    rng = np.random.default_rng(SEED + n)
    probs = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05  # Zipf-like word frequencies
    probs /= probs.sum()
    lengths = rng.integers(32, 49, size=n)  # ~40 words per chunk
    words = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=probs)]
    cuts = np.concatenate([[0], np.cumsum(lengths)])
    texts = [" ".join(words[cuts[i]:cuts[i + 1]]).capitalize() + "." for i in range(n)]
    vecs = rng.standard_normal((n, DIM), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"syn-{i:07d}" for i in range(n)]
    metas = [{"source": "synthetic", "chunk_index": i, "record_id": f"doc-{i // 4}"} for i in range(n)]
    return ids, texts, metas, vecs


def synthetic_queries(count: int) -> list[str]:
    vocab = vocabulary()
    rng = np.random.default_rng(SEED - 1)
    return [" ".join(vocab[int(i)] for i in rng.integers(0, 1500, size=int(rng.integers(4, 11))))
            for _ in range(count)]


def synthetic_collection(n: int, emb: Any) -> tuple[Any, Any, float | None]:
    """(settings, Collection) of ``n`` synthetic chunks, cached; build seconds or None if reused."""
    from core.settings import load_settings
    from retrieval.collections import Collection, delete_collection
    from retrieval.lexical import LexicalIndex
    from retrieval.types import Chunk

    base = load_settings()
    home = base.model_cache.parent / "bench" / f"synthetic-{n // 1000}k"
    settings = load_settings(home=home)
    settings = settings.model_copy(update={"chroma": settings.chroma.model_copy(update={"mode": "embedded"})})
    col = Collection(settings, "synthetic", emb)
    lexical = LexicalIndex.load(col.lexical_dir)
    if col.store.count() == n and lexical is not None and len(lexical.ids) == n:
        col.refresh_lexical_index()  # rebuilds the BM25 index only when its format is stale
        return settings, col, None
    print(f"  building the synthetic {n:,}-chunk collection in {home} ...", flush=True)
    del col, lexical
    delete_collection(settings, "synthetic")  # not rmtree: Chroma keeps the open client's files
    start = time.perf_counter()
    col = Collection(settings, "synthetic", emb)
    ids, texts, metas, vecs = synthetic_corpus(n)
    step = 5000
    for lo in range(0, n, step):
        chunks = [Chunk(id=ids[i], text=texts[i], source="synthetic", chunk_index=i,
                        metadata={"record_id": metas[i]["record_id"]}) for i in range(lo, min(lo + step, n))]
        col.store.add(chunks, vecs[lo:lo + step])
    col.refresh_lexical_index()
    return settings, col, time.perf_counter() - start


def part_b(n: int, emb: Any, peer_build_s: float, peer_query_s: float) -> dict[str, Any]:
    from retrieval.lexical import LexicalIndex
    from retrieval.retriever import HybridRetriever
    from retrieval.service import fusion_config

    settings, col, build_s = synthetic_collection(n, emb)
    queries = synthetic_queries(200)
    out: dict[str, Any] = {"chunks": col.store.count(), "queries": len(queries),
                           "collection_build_s": build_s, "rows": []}
    lexical = LexicalIndex.load(col.lexical_dir)
    retriever = HybridRetriever(col.store, emb, lexical, fusion_config(settings))
    cfg = retriever.config
    qvecs = {q: emb.embed_query(q) for q in queries}
    raw = col.store._col
    ids, texts, metas, vecs = synthetic_corpus(n)  # the same seeded data as stored

    start = time.perf_counter()
    ensemble, set_k = make_langchain(raw, emb, texts, metas, ids)
    lc_build = time.perf_counter() - start
    set_k(10)
    systems: dict[str, Callable[[str], Any]] = {"ragloom hybrid": lambda q: retriever.retrieve(q, 10)}
    if lc_build <= peer_build_s:
        systems["langchain ensemble"] = lambda q: ensemble.invoke(q)[:10]
    components = {
        "query embedding (MiniLM)": emb.embed_query,
        f"chroma dense top-{cfg.candidates} (+vectors)":
            lambda q: col.store.query(qvecs[q], cfg.candidates, with_vectors=True),
        f"bm25s top-{cfg.candidates}": lambda q: lexical.search(q, cfg.candidates),
    }
    lat = interleaved(systems | components, queries)
    out["ragloom_components_ms"] = {name: lat[name] for name in components}
    out["rows"].append({"system": "ragloom hybrid", "latency_ms": lat["ragloom hybrid"],
                        "build_s": build_s or 0.0,
                        "note": f"candidates={cfg.candidates}, "
                                + ("cached" if build_s is None else "built now")})
    out["rows"].append({"system": "langchain ensemble", "latency_ms": lat.get("langchain ensemble"),
                        "build_s": lc_build, "note": langchain_variant() if "langchain ensemble" in lat
                        else f"skipped: too slow to build ({lc_build:.0f} s)"})

    index, build, done = make_llama(emb, ids, texts, metas, vecs, budget_s=peer_build_s)
    if index is None:
        out["rows"].append({"system": "llamaindex vector", "latency_ms": None, "build_s": build,
                            "note": f"skipped: too slow to build ({build:.0f} s for {done:,} of {n:,} "
                                    "nodes)"})
    else:
        top10 = index.as_retriever(similarity_top_k=10)
        out["rows"].append({"system": "llamaindex vector", "build_s": build,
                            "latency_ms": time_queries(top10.retrieve, queries, peer_query_s),
                            "note": "SimpleVectorStore, stored vectors"})
    return out


# --------------------------------------------------------------------------------------------------
# report


def print_part_a(rows: list[dict[str, Any]]) -> None:
    for dataset in METRICS:
        sub = [r for r in rows if r["dataset"] == dataset]
        if not sub:
            continue
        names = METRICS[dataset]
        print(f"\n{dataset}: {sub[0]['questions']} questions, {sub[0]['chunks']:,} chunks, "
              f"quality ranked {DEPTH} chunks deep, latency at top 10")
        head = f"  {'system':<20}" + "".join(f"{n:>12}" for n in names) + \
            f"{'p50 ms':>9}{'p95 ms':>9}{'build s':>9}  note"
        print(head)
        print("  " + "-" * (len(head) + 20))
        for r in sub:
            print(f"  {r['system']:<20}" + "".join(f"{r['metrics'][n]:>12.3f}" for n in names)
                  + f"{r['latency_ms']['p50']:>9.1f}{r['latency_ms']['p95']:>9.1f}"
                  + f"{r['build_s']:>9.1f}  {r['note']}")
        bench = sub[0].get("bench_latency_ms")
        if bench:
            print(f"  (latency: all three timed in turn on each query; run_retrieval_bench's own timing of "
                  f"ragloom alone: p50 {bench['p50']:.1f} ms, p95 {bench['p95']:.1f} ms)")


def print_part_b(res: dict[str, Any], target_ms: float) -> None:
    print(f"\nsynthetic scale: {res['chunks']:,} chunks, {res['queries']} queries, top 10, "
          "query embedding included")
    head = f"  {'system':<20}{'p50 ms':>9}{'p95 ms':>9}{'n':>6}{'build s':>9}  note"
    print(head)
    print("  " + "-" * (len(head) + 30))
    for r in res["rows"]:
        lat = r["latency_ms"]
        cells = (f"{lat['p50']:>9.1f}{lat['p95']:>9.1f}{lat['n']:>6}" if lat else f"{'-':>9}{'-':>9}{'-':>6}")
        print(f"  {r['system']:<20}{cells}{r['build_s']:>9.1f}  {r['note']}")
    print("  ragloom components (p50 / p95 ms):")
    for name, lat in res["ragloom_components_ms"].items():
        print(f"    {name:<34}{lat['p50']:>8.1f}{lat['p95']:>8.1f}")
    ours = res["rows"][0]["latency_ms"]["p50"]
    verdict = "meets" if ours <= target_ms else "MISSES"
    print(f"  ragloom p50 {ours:.1f} ms {verdict} the target of <= {target_ms:.0f} ms "
          f"at {res['chunks']:,} chunks")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="SciFact first 50 claims and a 20k-chunk synthetic collection")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--peer-build-s", type=float, default=180.0,
                        help="at synthetic scale, skip a peer whose index takes longer to build")
    parser.add_argument("--peer-query-s", type=float, default=60.0,
                        help="at synthetic scale, stop timing a peer's queries after this long")
    parser.add_argument("--target-ms", type=float, default=30.0)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    try:
        import llama_index.core as li

        static = Path(li.__file__).parent / "_static" / "tiktoken_cache"
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static))
    except ImportError:
        pass
    from core.settings import load_settings

    settings = load_settings()
    n_syn = 20_000 if args.quick else 100_000
    began = time.perf_counter()
    print(f"ragloom retrieval benchmark ({'quick' if args.quick else 'full'}) on {platform.node()}: "
          f"{os.cpu_count()} CPUs, load average {load_avg()} (1/5/15 min) at start; "
          f"python {platform.python_version()}; embedding {settings.embedding}")
    print(f"LangChain variant: {langchain_variant()}"
          + ("" if HAVE_RANK_BM25 else " (rank_bm25 not installed: BM25Retriever.from_texts cannot run)"))

    shared: dict[str, Any] = {}
    rows = part_a(settings, "scifact", 50 if args.quick else None, shared)
    rows += part_a(settings, "hotpotqa", None, shared)
    print_part_a(rows)
    print(f"\nload average after part A: {load_avg()}", flush=True)
    scale = part_b(n_syn, shared["emb"], args.peer_build_s, args.peer_query_s)
    print_part_b(scale, args.target_ms)
    print(f"\nload average at end: {load_avg()}; total {time.perf_counter() - began:.0f} s")

    if args.json:
        args.json.write_text(json.dumps({
            "mode": "quick" if args.quick else "full", "host": platform.node(), "cpus": os.cpu_count(),
            "loadavg_end": os.getloadavg(), "langchain_variant": langchain_variant(),
            "part_a": rows, "part_b": scale, "target_ms": args.target_ms}, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
