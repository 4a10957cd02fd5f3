"""Chroma collections that know which embedding model filled them.

Embedded (``PersistentClient``) by default, a ``chroma run`` server with ``chroma.mode = "server"``.
Distances are cosine, and our own embedding function is always attached (Chroma's default one
downloads a model at run time).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import numpy as np
from langchain_core.embeddings import Embeddings

from ragloom.core.errors import StoreError
from ragloom.core.health import Check
from ragloom.core.private import private_dir
from ragloom.core.settings import Settings
from ragloom.retrieval.filters import chroma_where
from ragloom.retrieval.types import Chunk, RetrievedChunk

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
    private_dir(path)  # Chroma's own files inside follow the umask; the folder keeps others out
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


@contextlib.contextmanager
def _store_call(name: str) -> Iterator[None]:
    """A lost connection to a Chroma server is a StoreError, not a model or internal error."""
    try:
        yield
    except (httpx.TransportError, ConnectionError) as exc:
        raise StoreError(f"the Chroma server is unreachable ({type(exc).__name__})",
                         subject=f"collection {name}",
                         fix="start it with `chroma run --path DIR --port N`, or check "
                         "RAGLOOM_CHROMA__HOST / RAGLOOM_CHROMA__PORT; then retry") from exc


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
            with _store_call(name):
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
        with _store_call(self.name):
            return int(self._col.count())

    def records(self, batch: int = 1000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored (id, text, metadata), page by page."""
        offset = 0
        while True:
            page = self._col.get(limit=batch, offset=offset, include=["documents", "metadatas"])
            if not page["ids"]:
                return
            yield from zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            offset += len(page["ids"])

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vector of each id that exists."""
        page = self._col.get(ids=list(ids), include=["embeddings"])
        return {cid: np.asarray(v, dtype=np.float32)
                for cid, v in zip(page["ids"], page["embeddings"], strict=True)}

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

    def query(self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None,
              *, with_vectors: bool = False) -> list[RetrievedChunk]:
        n = min(k, self.count())
        if n == 0:
            return []
        include = ["documents", "metadatas", "distances"] + (["embeddings"] if with_vectors else [])
        with _store_call(self.name):
            res = self._col.query(query_embeddings=[np.asarray(vector, dtype=np.float32)],
                                  n_results=n, where=chroma_where(where), include=include)
        vectors = res["embeddings"][0] if with_vectors else [None] * len(res["ids"][0])
        return [_hit(cid, text, meta, 1.0 - float(dist), vec)
                for cid, text, meta, dist, vec in zip(res["ids"][0], res["documents"][0],
                                                      res["metadatas"][0], res["distances"][0],
                                                      vectors, strict=True)]

    def get_many(self, ids: Sequence[str]) -> list[RetrievedChunk]:
        """Chunks by id with their vectors (score 0: the caller scores them)."""
        if not ids:
            return []
        with _store_call(self.name):
            res = self._col.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        return [_hit(cid, text, meta, 0.0, vec) for cid, text, meta, vec in
                zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"], strict=True)]


def _hit(cid: str, text: str | None, meta: dict[str, Any] | None, score: float,
         vector: Any) -> RetrievedChunk:
    meta = meta or {}
    return RetrievedChunk(
        id=cid, text=text or "", source=str(meta.get("source", "")),
        chunk_index=int(meta.get("chunk_index", 0)), page=meta.get("page"), score=score,
        metadata={k: v for k, v in meta.items() if k not in ("source", "chunk_index", "page")},
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
    )


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
