"""Chroma collections that know which embedding model filled them.

Embedded (``PersistentClient``) by default, a ``chroma run`` server with ``chroma.mode = "server"``.
Distances are cosine, and our own embedding function is always attached (Chroma's default one
downloads a model at run time).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from core.errors import StoreError
from core.health import Check
from core.settings import Settings
from retrieval.types import Chunk, RetrievedChunk

log = logging.getLogger(__name__)


def open_client(settings: Settings):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    config = ChromaConfig(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.mode == "server":
        try:
            return chromadb.HttpClient(host=settings.chroma.host, port=settings.chroma.port,
                                       settings=config)
        except Exception as exc:
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma.host}:{settings.chroma.port}",
                fix="start it with `chroma run --path DIR --port N` or set "
                "RAGLOOM_CHROMA__HOST / RAGLOOM_CHROMA__PORT",
            ) from exc
    path = settings.home / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=config)


class ChromaEmbeddingAdapter:
    """Adapter so that any Chroma call that embeds by itself uses our model."""

    def __init__(self, embeddings: Embeddings, model_id: str):
        self._embeddings = embeddings
        self._model_id = model_id

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:  # noqa: A002 (Chroma's name)
        return [np.asarray(v, dtype=np.float32) for v in self._embeddings.embed_documents(list(input))]

    def embed_query(self, input: Sequence[str]) -> list[np.ndarray]:  # noqa: A002
        return [np.asarray(self._embeddings.embed_query(t), dtype=np.float32) for t in input]

    @staticmethod
    def name() -> str:
        return "ragloom"

    def is_legacy(self) -> bool:
        return True  # its config lives in our collection metadata, not in Chroma's registry

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def validate_collection_name(name: str) -> str:
    if not 3 <= len(name) <= 512 or not name[0].isalnum() or not name[-1].isalnum():
        raise StoreError(
            f"invalid collection name '{name}'",
            fix="use 3–512 characters of letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
        )
    return name


def collection_exists(client: Any, name: str) -> bool:
    return name in {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}


class ChunkStore:
    """One Chroma collection of chunks, tied to one embedding model."""

    def __init__(self, client: Any, name: str, embeddings: Embeddings, embedding_id: str,
                 *, create: bool = True, metadata: dict[str, Any] | None = None):
        self.name = validate_collection_name(name)
        self.embeddings = embeddings
        self.embedding_id = embedding_id
        ef = ChromaEmbeddingAdapter(embeddings, embedding_id)
        try:
            if create:
                self._col = client.get_or_create_collection(
                    name, embedding_function=ef,
                    metadata={"hnsw:space": "cosine", "embedding_model": embedding_id,
                              **(metadata or {})},
                )
            else:
                self._col = client.get_collection(name, embedding_function=ef)
        except StoreError:
            raise
        except Exception as exc:
            if not create and "does not exist" in str(exc).lower():
                raise StoreError(f"collection '{name}' does not exist",
                                 fix=f"ingest documents first: ragloom ingest PATH --collection {name}"
                                 ) from exc
            raise StoreError(f"cannot open collection '{name}': {exc}") from exc
        stored = (self._col.metadata or {}).get("embedding_model")
        if stored and stored != embedding_id:
            raise StoreError(
                f"collection '{name}' was built with embedding model {stored}, "
                f"not {embedding_id}",
                fix=f"use --embedding {stored}, or re-embed the collection with the new model",
            )

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._col.metadata or {})

    def count(self) -> int:
        return int(self._col.count())

    def records(self, batch: int = 1000, include_embeddings: bool = False
                ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored (id, text, metadata), page by page."""
        offset = 0
        while True:
            page = self._col.get(limit=batch, offset=offset, include=["documents", "metadatas"])
            if not page["ids"]:
                return
            yield from zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            offset += len(page["ids"])

    def ids(self) -> set[str]:
        return {cid for cid, _, _ in self.records()}

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray | Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        self._col.upsert(
            ids=[c.id for c in chunks],
            documents=[c.text for c in chunks],
            metadatas=[c.store_metadata() for c in chunks],
            embeddings=np.asarray(vectors, dtype=np.float32),
        )

    def delete(self, ids: Sequence[str], batch: int = 1000) -> None:
        ids = list(ids)
        for start in range(0, len(ids), batch):
            self._col.delete(ids=ids[start : start + batch])

    def query(self, vector: Sequence[float], k: int,
              where: dict[str, Any] | None = None) -> list[RetrievedChunk]:
        n = min(k, self.count())
        if n == 0:
            return []
        res = self._col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                              n_results=n, where=where,
                              include=["documents", "metadatas", "distances"])
        hits = []
        for cid, text, meta, dist in zip(res["ids"][0], res["documents"][0],
                                         res["metadatas"][0], res["distances"][0], strict=True):
            hits.append(RetrievedChunk(
                id=cid, text=text or "", source=str(meta.get("source", "")),
                chunk_index=int(meta.get("chunk_index", 0)), page=meta.get("page"),
                score=1.0 - float(dist),
            ))
        return hits


def open_store(settings: Settings, collection: str, embeddings: Embeddings, *,
               create: bool = True) -> ChunkStore:
    return ChunkStore(open_client(settings), collection, embeddings, settings.embedding,
                      create=create)


def check_store(settings: Settings) -> Check:
    """Health of the configured Chroma (embedded or server) for `ragloom doctor`."""
    server = settings.chroma.mode == "server"
    where = (f"server {settings.chroma.host}:{settings.chroma.port}" if server
             else f"embedded at {settings.home / 'chroma'}")
    try:
        client = open_client(settings)
        client.heartbeat()
        names = [c.name for c in client.list_collections()]
    except Exception as exc:
        fix = ("start `chroma run --path DIR --port N` or set RAGLOOM_CHROMA__HOST/PORT" if server
               else f"check that {settings.home} is writable")
        return Check("store: chroma", False, f"{where}: {exc}", fix)
    return Check("store: chroma", True, f"{where}; collections: {', '.join(names) or 'none'}")
