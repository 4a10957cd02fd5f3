"""A BM25 index (bm25s) of a collection's chunks, persisted beside it and rebuilt by ingestion.

bm25s has no incremental updates, so ingestion rebuilds it from the stored chunk texts whenever
the manifest's generation moved; queries only ever load it (memory-mapped), never rebuild it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ragloom.retrieval.filters import matches, validate_where

log = logging.getLogger(__name__)
_STATE = "ragloom_state.json"
FORMAT = 2  # 2: chunk text is indexed with its document's name and heading path


def lexical_text(text: str, meta: dict[str, Any]) -> str:
    """What BM25 indexes: the chunk plus where it comes from. Questions name companies, products
    and sections that a table chunk rarely repeats; its file name and headings often do."""
    context = [str(meta[k]) for k in ("file_name", "heading") if meta.get(k)]
    if context and meta.get("file_name"):
        context[0] = Path(context[0]).stem
    return "\n".join([*context, text])


@dataclass(frozen=True)
class BM25Params:
    k1: float = 0.9
    b: float = 0.4


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def _bm25s():  # type: ignore[no-untyped-def]
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # its import sets DEBUG; too chatty
    return bm25s


def tokenize(texts: list[str]):  # type: ignore[no-untyped-def]
    bm25s = _bm25s()
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)


class LexicalIndex:
    def __init__(self, retriever: Any, ids: list[str], metadatas: list[dict[str, Any]],
                 generation: int, format_version: int = FORMAT):
        self._retriever = retriever
        self.ids = ids
        self.metadatas = metadatas
        self.generation = generation
        self.format_version = format_version

    @classmethod
    def build(cls, records: Iterable[tuple[str, str, dict[str, Any]]], directory: Path,
              generation: int, params: BM25Params = BM25Params()) -> LexicalIndex:
        bm25s = _bm25s()

        ids, texts, metas = [], [], []
        for cid, text, meta in records:
            ids.append(cid)
            texts.append(lexical_text(text, meta))
            metas.append(meta)
        retriever = bm25s.BM25(k1=params.k1, b=params.b)
        if texts:
            retriever.index(tokenize(texts), show_progress=False)
        # Each builder its own folder: replicas' threads or processes may rebuild at once.
        tmp = directory.with_name(f"{directory.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        if texts:
            retriever.save(str(tmp))
        (tmp / "ids.json").write_text(json.dumps(ids))
        (tmp / "metadatas.json").write_text(json.dumps(metas))
        (tmp / _STATE).write_text(json.dumps({"generation": generation, "count": len(ids),
                                              "format": FORMAT}))
        shutil.rmtree(directory, ignore_errors=True)
        try:
            tmp.rename(directory)  # readers see the old index or the new one, never half of one
        except OSError:  # another builder renamed first: keep the newer of the two
            if (LexicalIndex.state(directory) or (-1, 0))[0] >= generation:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                shutil.rmtree(directory, ignore_errors=True)
                tmp.rename(directory)
        log.info("built BM25 index of %d chunks in %s", len(ids), directory)
        return cls(retriever if texts else None, ids, metas, generation)

    @staticmethod
    def state(directory: Path) -> tuple[int, int] | None:
        """(generation, format) of the saved index, read without loading it (or bm25s)."""
        state_file = directory / _STATE
        if not state_file.exists():
            return None
        state = json.loads(state_file.read_text())
        return int(state["generation"]), int(state.get("format", 1))

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        state_file = directory / _STATE
        if not state_file.exists():
            return None
        bm25s = _bm25s()

        state = json.loads(state_file.read_text())
        ids = json.loads((directory / "ids.json").read_text())
        metas = json.loads((directory / "metadatas.json").read_text())
        retriever = bm25s.BM25.load(str(directory), mmap=True) if ids else None
        return cls(retriever, ids, metas, int(state["generation"]), int(state.get("format", 1)))

    def search(self, query: str, k: int, where: dict[str, Any] | None = None
               ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best ``k`` chunks matching ``where``, best first."""
        if self._retriever is None or not self.ids:
            return []
        mask = None
        where = validate_where(where)  # matches() trusts its filter to follow the grammar
        if where:
            mask = np.fromiter((matches(m, where) for m in self.metadatas), dtype=np.float32,
                               count=len(self.metadatas))
            if not mask.any():
                return []
        k = min(k, len(self.ids) if mask is None else int(mask.sum()))
        tokens = tokenize([query])
        if not tokens.vocab or not any(tokens.ids):
            return []
        docs, scores = self._retriever.retrieve(tokens, k=k, show_progress=False,
                                                weight_mask=mask, n_threads=1)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True)
                if s > 0]


def ensure_built(records: Callable[[], Iterable[tuple[str, str, dict[str, Any]]]],
                 directory: Path, generation: int, params: BM25Params) -> bool:
    """Rebuild the index in ``directory`` from ``records()`` unless it is at ``generation``
    already (in the current format); True when it was rebuilt."""
    if LexicalIndex.state(directory) == (generation, FORMAT):
        return False
    LexicalIndex.build(records(), directory, generation, params)
    return True


def index_dir(home: Path, collection: str) -> Path:
    return home / "bm25" / collection
