"""Retrieval quality and query latency: ragloom's hybrid retriever against LangChain and LlamaIndex.

Part A: the same corpus, the same chunks and the same embedding model (ragloom's ``local/minilm-l6-v2``,
all-MiniLM-L6-v2 int8 ONNX, 384-d) for all three systems, on SciFact (300 test claims: nDCG@10,
recall@10, recall@100) and HotpotQA (100 questions: recall@5, both gold passages in the top 5).

- ragloom: ``ragloom.evals.retrieval_bench.run_retrieval_bench(settings, dataset, "hybrid")`` over the cached
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

from benchmarks.retrieval_peers import (  # noqa: E402
    HAVE_RANK_BM25,
    langchain_variant,
    make_langchain,
    make_llama,
)
from benchmarks.retrieval_synthetic import (  # noqa: E402
    DIM,
    synthetic_collection,
    synthetic_corpus,
    synthetic_queries,
)

DEPTH = 200  # chunks ranked for the quality metrics (as run_retrieval_bench)
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
    from ragloom.evals.retrieval_metrics import all_gold_at_k, dedupe, ndcg_at_k, recall_at_k

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
# Part A


def part_a(settings: Any, dataset: str, limit: int | None, emb_out: dict[str, Any]) -> list[dict[str, Any]]:
    from ragloom.evals.datasets import load_dataset
    from ragloom.evals.retrieval_bench import build_collection, run_retrieval_bench
    from ragloom.retrieval.lexical import LexicalIndex
    from ragloom.retrieval.retriever import FusionConfig, HybridRetriever
    from ragloom.retrieval.service import fusion_config

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


def part_b(n: int, emb: Any, peer_build_s: float, peer_query_s: float) -> dict[str, Any]:
    from ragloom.retrieval.lexical import LexicalIndex
    from ragloom.retrieval.retriever import HybridRetriever
    from ragloom.retrieval.service import fusion_config

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
    from ragloom.core.settings import load_settings

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
