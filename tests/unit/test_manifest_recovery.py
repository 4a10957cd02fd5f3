"""The manifest protocol's crash states, reproduced step by step with a real embedded Chroma."""

from pathlib import Path

from ragloom.retrieval.chunking import ChunkingConfig
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import recover
from ragloom.retrieval.manifest import FileEntry
from ragloom.retrieval.types import Chunk


def _chunks(version: str, n: int) -> list[Chunk]:
    return [Chunk(id=f"src-{version}-{i}", text=f"text {version} {i}", source="/d/a.md",
                  chunk_index=i, metadata={"content_hash": version}) for i in range(n)]


def _store_version(col: Collection, version: str, n: int) -> list[Chunk]:
    chunks = _chunks(version, n)
    col.store.add(chunks, col.store.embeddings.embed_documents([c.text for c in chunks]))
    return chunks


def _entry(chunks: list[Chunk], version: str) -> FileEntry:
    return FileEntry("/d/a.md", version, 1, 1, "markdown", tuple(c.id for c in chunks), 0.0)


def _collection(settings, fake_embeddings) -> Collection:
    return Collection(settings, "crashes", fake_embeddings, chunking=ChunkingConfig())


def test_crash_before_commit_undoes_the_new_version(settings, fake_embeddings) -> None:
    col = _collection(settings, fake_embeddings)
    v1 = _store_version(col, "v1", 3)
    col.manifest.commit([("/d/a.md", _entry(v1, "v1"))])
    col.manifest.begin([("/d/a.md", [f"src-v2-{i}" for i in range(4)], [c.id for c in v1])])
    _store_version(col, "v2", 2)  # killed half-way through storing v2
    assert recover(col.manifest, col.store) == 1
    assert col.store.ids() == {c.id for c in v1} and not col.manifest.intents()


def test_crash_after_commit_completes_the_swap(settings, fake_embeddings) -> None:
    col = _collection(settings, fake_embeddings)
    v1 = _store_version(col, "v1", 3)
    col.manifest.commit([("/d/a.md", _entry(v1, "v1"))])
    col.manifest.begin([("/d/a.md", [f"src-v2-{i}" for i in range(2)], [c.id for c in v1])])
    v2 = _store_version(col, "v2", 2)
    col.manifest.commit([("/d/a.md", _entry(v2, "v2"))])  # killed before deleting v1
    recover(col.manifest, col.store)
    assert col.store.ids() == {c.id for c in v2}
    assert col.manifest.get("/d/a.md").content_hash == "v2"  # type: ignore[union-attr]


def test_recover_is_a_no_op_on_a_clean_index(settings, fake_embeddings) -> None:
    col = _collection(settings, fake_embeddings)
    v1 = _store_version(col, "v1", 2)
    col.manifest.commit([("/d/a.md", _entry(v1, "v1"))])
    col.manifest.finish(["/d/a.md"])
    assert recover(col.manifest, col.store) == 0 and col.store.count() == 2


def test_manifest_survives_reopen(settings, fake_embeddings, tmp_path: Path) -> None:
    col = _collection(settings, fake_embeddings)
    v1 = _store_version(col, "v1", 2)
    col.manifest.commit([("/d/a.md", _entry(v1, "v1"))])
    col.manifest.close()
    again = _collection(settings, fake_embeddings)
    assert again.manifest.counts() == (1, 2)
