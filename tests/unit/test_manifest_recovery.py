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


def test_a_manifest_file_of_an_earlier_version_is_adopted_once(settings) -> None:
    """Manifests written before the shared storage layer (tables files/intents/state) keep
    their files, unfinished intents and generation."""
    import sqlite3

    from ragloom.retrieval.manifest import manifest_path, open_manifest

    path = manifest_path(settings, "old")
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE files (source TEXT PRIMARY KEY, content_hash TEXT NOT NULL,
            size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, loader TEXT NOT NULL,
            chunk_ids TEXT NOT NULL, ingested_at REAL NOT NULL);
        CREATE TABLE state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        CREATE TABLE intents (source TEXT PRIMARY KEY, add_ids TEXT NOT NULL,
            drop_ids TEXT NOT NULL, committed INTEGER NOT NULL DEFAULT 0);
        INSERT INTO files VALUES ('/d/a.md', 'h1', 5, 7, 'markdown', '["a-0", "a-1"]', 1.5);
        INSERT INTO intents VALUES ('/d/b.md', '["b-0"]', '[]', 0);
        INSERT INTO state VALUES ('generation', 4);
    """)
    db.commit()
    db.close()
    manifest = open_manifest(settings, "old")
    assert manifest is not None
    assert manifest.get("/d/a.md") == FileEntry("/d/a.md", "h1", 5, 7, "markdown", ("a-0", "a-1"), 1.5)
    assert [i.source for i in manifest.intents()] == ["/d/b.md"] and manifest.generation() == 4
    manifest.commit([("/d/b.md", FileEntry("/d/b.md", "h2", 1, 1, "markdown", ("b-0",), 2.0))])
    manifest.close()
    again = open_manifest(settings, "old")  # opened again: nothing adopted twice
    assert again is not None and again.counts() == (2, 3) and again.generation() == 5
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert not {"files", "intents", "state"} & tables
