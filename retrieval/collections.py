"""Collections as first-class objects: a Chroma collection plus its manifest and chunking config.

Each collection records, at creation, its embedding model id and dimension and how it chunks;
later ingests use the recorded chunking, and opening it with another embedding model fails with
the command that re-embeds it (``ragloom reindex``).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ragloom.core.errors import StoreError
from ragloom.core.settings import Settings
from ragloom.retrieval.chunking import ChunkingConfig
from ragloom.retrieval.generations import shared_generations
from ragloom.retrieval.lexical import BM25Params, ensure_built, index_dir
from ragloom.retrieval.manifest import manifest_path, open_manifest
from ragloom.retrieval.store import ChunkStore, collection_exists, open_client, validate_collection_name


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    files: int
    chunks: int
    embedding_model: str
    dimension: int | None
    chunker: str
    size_bytes: int | None  # on disk, embedded mode only


def bm25_params(settings: Settings) -> BM25Params:
    return BM25Params(settings.retrieval.bm25_k1, settings.retrieval.bm25_b)


class Collection:
    def __init__(self, settings: Settings, name: str, embeddings: Embeddings, *,
                 create: bool = True, chunking: ChunkingConfig | None = None):
        self.settings = settings
        self.name = validate_collection_name(name)
        r = settings.retrieval
        chunking = chunking or ChunkingConfig(r.chunker, r.chunk_size, r.chunk_overlap,
                                              r.min_chunk_chars)
        client = open_client(settings)
        creation: dict[str, Any] = {f"chunking_{k}": v for k, v in asdict(chunking).items()}
        if create and not collection_exists(client, name):
            creation["embedding_dim"] = len(embeddings.embed_query("dimension probe"))
        self.store = ChunkStore(client, name, embeddings, settings.embedding, create=create,
                                metadata=creation)
        meta = self.store.metadata
        # The collection's recorded chunking wins over current settings, so all files match.
        self.chunking = ChunkingConfig(**{
            k: meta.get(f"chunking_{k}", v) for k, v in asdict(chunking).items()})
        self.manifest = open_manifest(settings, self.name)

    @property
    def lexical_dir(self) -> Path:
        return index_dir(self.settings.home, self.name)

    def refresh_lexical_index(self) -> bool:
        """Rebuild the BM25 index if the collection moved since it was built; True if rebuilt.

        Every manifest commit moves the collection's generation; with a shared database that
        generation is what tells every other replica to rebuild its own index from Chroma
        (``open_retriever``)."""
        return ensure_built(self.store.records, self.lexical_dir, self.manifest.generation(),
                            bm25_params(self.settings))

    def info(self) -> CollectionInfo:
        files, chunks = self.manifest.counts()
        meta = self.store.metadata
        return CollectionInfo(self.name, files, chunks, str(meta.get("embedding_model", "?")),
                              meta.get("embedding_dim"), self.chunking.chunker,
                              _dir_size(self.settings) if self.settings.chroma.mode == "embedded"
                              else None)


def _dir_size(settings: Settings) -> int:
    root = settings.home / "chroma"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def list_collections(settings: Settings) -> list[dict[str, Any]]:
    """Name, files, chunks and embedding model of every collection, without loading any model."""
    rows = []
    for col in open_client(settings).list_collections():
        meta = col.metadata or {}
        manifest = open_manifest(settings, col.name, create=False)
        files, chunks = (0, col.count()) if manifest is None else manifest.counts()
        if manifest is not None:
            manifest.close()
        rows.append({"name": col.name, "files": files, "chunks": chunks,
                     "embedding_model": meta.get("embedding_model", "?"),
                     "dimension": meta.get("embedding_dim"),
                     "chunker": meta.get("chunking_chunker", "sentence")})
    return sorted(rows, key=lambda r: r["name"])


def delete_collection(settings: Settings, name: str) -> None:
    client = open_client(settings)
    try:
        client.delete_collection(name)
    except Exception as exc:
        raise StoreError(f"cannot delete collection '{name}': {exc}",
                         fix="see `ragloom collections list`") from exc
    if settings.database:  # replicas see the collection gone at their next question
        open_manifest(settings, name).forget()
        shared_generations(settings).forget(name)  # type: ignore[union-attr]
        from ragloom.retrieval.uploads import UploadStore

        UploadStore.shared(settings).forget(name)
    for path in manifest_path(settings, name).parent.glob(f"{name}.sqlite*"):
        path.unlink()
    shutil.rmtree(index_dir(settings.home, name), ignore_errors=True)
