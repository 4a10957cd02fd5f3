"""Every accepted filter form runs on a real embedded Chroma without error, and Chroma, the BM25
index and ``matches()`` pick exactly the same chunks (types, missing fields and Chroma's
float-vs-int quirk included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragloom.retrieval.filters import matches
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.store import ChunkStore, open_client
from ragloom.retrieval.types import Chunk
from ragloom.retrieval.where import validate_where
from tests.fakes import BagOfWordsEmbeddings

pytestmark = pytest.mark.integration

METADATA: list[dict[str, Any]] = [
    {"file_type": "pdf", "page": 1, "ingested_at": 1700000000.25, "draft": False},
    {"file_type": "pdf", "page": 2, "ingested_at": 1700000100.5, "draft": True},
    {"file_type": "pdf", "page": 3, "score": 2.5},
    {"file_type": "markdown", "heading": "Intro", "score": -1.5},
    {"file_type": "text", "page": 0, "year": -3, "code": "7"},
    {"file_type": "record", "record_id": "r1", "year": 2023, "score": 2.0},
    {"file_type": "record", "record_id": "r2", "year": 2024, "draft": True, "code": 7},
    {},
]

ACCEPTED: list[dict[str, Any]] = [
    {"file_type": "pdf"}, {"page": 2}, {"draft": True}, {"draft": False}, {"score": 2.5},
    {"page": {"$eq": 3}}, {"page": {"$ne": 2}}, {"file_type": {"$ne": "pdf"}},
    {"page": {"$gt": 1}}, {"page": {"$gte": 1}}, {"page": {"$lt": 2}}, {"page": {"$lte": 0}},
    {"score": {"$gt": -2}}, {"year": {"$lt": 0}}, {"ingested_at": {"$gte": 1700000050}},
    {"ingested_at": {"$lte": 1700000100.5}},
    {"file_type": {"$in": ["pdf", "text"]}}, {"file_type": {"$nin": ["pdf", "record"]}},
    {"year": {"$in": [2023, 2024]}}, {"draft": {"$in": [True]}}, {"draft": {"$nin": [False]}},
    {"page": {"$in": [1, 2.5]}}, {"score": {"$in": [2, 2.5]}},
    # Types Chroma keeps apart: bool is not 1, "7" is not 7, a number never compares with text.
    {"draft": 1}, {"page": True}, {"code": "7"}, {"code": 7}, {"code": {"$gt": 1}},
    {"draft": {"$ne": 1}},
    # Chroma truncates a float operand compared with an int field; matches() follows it.
    {"page": 2.5}, {"page": {"$gte": 2.5}}, {"page": {"$lt": 2.5}}, {"year": {"$gt": -2.5}},
    {"page": {"$nin": [1.5]}},
    {"file_type": "pdf", "page": {"$lte": 2}}, {"page": {"$gte": 1, "$lt": 3}},
    {"$and": [{"file_type": "pdf"}, {"page": {"$gt": 1}}]},
    {"$or": [{"file_type": "markdown"}, {"year": {"$gte": 2024}}]},
    {"$or": [{"$and": [{"file_type": "pdf"}, {"draft": True}]}, {"score": {"$lt": 0}},
             {"record_id": "r1"}]},
    {"$and": [{"$or": [{"page": 1}, {"page": 3}]}, {"$or": [{"draft": False}, {"score": 2.5}]}]},
    {"missing": {"$ne": "x"}}, {"missing": {"$nin": [1, 2]}}, {"missing": 1},
]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[ChunkStore, LexicalIndex]:
    from ragloom.core.settings import load_settings

    home: Path = tmp_path_factory.mktemp("filters")
    store = ChunkStore(open_client(load_settings(home=home)), "filters", BagOfWordsEmbeddings(),
                       "test/bow")
    chunks = [Chunk(id=f"c{i}", text=f"common words chunk{i}", source=f"/d/{i}.md",
                    chunk_index=i, page=meta.pop("page", None), metadata=meta)
              for i, meta in enumerate(dict(m) for m in METADATA)]
    store.add(chunks, store.embeddings.embed_documents([c.text for c in chunks]))
    LexicalIndex.build(store.records(), home / "bm25", 1)
    lexical = LexicalIndex.load(home / "bm25")  # as the retriever reads it: metadata via JSON
    assert lexical is not None
    return store, lexical


@pytest.mark.parametrize("where", ACCEPTED, ids=[str(w) for w in ACCEPTED])
def test_chroma_bm25_and_matches_pick_the_same_chunks(indexes, where) -> None:
    store, lexical = indexes
    assert validate_where(where) is not None
    expected = {cid for cid, _, meta in store.records() if matches(meta, validate_where(where))}
    vector = store.embeddings.embed_query("common words")
    dense = {c.id for c in store.query(vector, len(METADATA), where)}
    bm25 = {cid for cid, _ in lexical.search("common words", len(METADATA), where)}
    assert dense == expected == bm25, (dense, expected, bm25)
