"""The seeded synthetic corpus of ``benchmarks/retrieval.py`` part B: Zipf-distributed made-up words,
random unit vectors, and a cached ragloom collection of it for the latency-at-scale runs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

SEED = 1234
DIM = 384  # all-MiniLM-L6-v2


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
    from ragloom.core.settings import load_settings
    from ragloom.retrieval.collections import Collection, delete_collection
    from ragloom.retrieval.lexical import LexicalIndex
    from ragloom.retrieval.types import Chunk

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
