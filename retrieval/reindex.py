"""Re-embed a collection in place from its stored chunk text (no re-parsing).

Chroma cannot change a collection's embedding dimension, so the chunks are copied, re-embedded,
into ``NAME-reindex``, then the old collection is dropped and the copy renamed. Chunk ids, texts
and metadata stay the same, so the manifest and the BM25 index stay valid. An interrupted run is
finished (or restarted) by running the same command again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from ragloom.core.errors import StoreError
from ragloom.core.settings import Settings
from ragloom.retrieval.locks import collection_write_lock
from ragloom.retrieval.store import ChromaEmbeddingAdapter, collection_exists, open_client

log = logging.getLogger(__name__)


def reindex(settings: Settings, name: str, embedding_id: str, embeddings: Embeddings, *,
            batch: int = 256, on_progress: Callable[[int, int], None] | None = None) -> int:
    """Re-embed every chunk of ``name`` with ``embeddings``; returns the number of chunks."""
    with collection_write_lock(settings, name):  # no ingest may write it meanwhile
        return _reembed(settings, name, embedding_id, embeddings, batch, on_progress)


def _reembed(settings: Settings, name: str, embedding_id: str, embeddings: Embeddings, batch: int,
             on_progress: Callable[[int, int], None] | None) -> int:
    client = open_client(settings)
    tmp_name = f"{name}-reindex"
    if not collection_exists(client, name):
        if collection_exists(client, tmp_name):  # crashed after dropping the old one
            client.get_collection(tmp_name).modify(name=name)
            return int(client.get_collection(name).count())
        raise StoreError(f"collection '{name}' does not exist", fix="see `ragloom collections list`")
    if collection_exists(client, tmp_name):
        client.delete_collection(tmp_name)  # a stale copy from an interrupted run

    old = client.get_collection(name)
    meta = {**(old.metadata or {}), "embedding_model": embedding_id,
            "embedding_dim": len(embeddings.embed_query("dimension probe"))}
    new = client.create_collection(tmp_name, metadata=meta,
                                   embedding_function=ChromaEmbeddingAdapter(embeddings, embedding_id))
    total, done, offset = old.count(), 0, 0
    while True:
        page = old.get(limit=batch, offset=offset, include=["documents", "metadatas"])
        if not page["ids"]:
            break
        vectors = np.asarray(embeddings.embed_documents(page["documents"]), dtype=np.float32)
        new.upsert(ids=page["ids"], documents=page["documents"], metadatas=page["metadatas"],
                   embeddings=vectors)
        offset += len(page["ids"])
        done += len(page["ids"])
        if on_progress:
            on_progress(done, total)
    client.delete_collection(name)
    new.modify(name=name)
    log.info("re-embedded %d chunks of '%s' with %s", done, name, embedding_id)
    return done
