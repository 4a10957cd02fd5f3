import os
import shutil
from pathlib import Path

import pytest

from ragloom.core.errors import StoreError
from ragloom.retrieval.collections import Collection, delete_collection, list_collections
from ragloom.retrieval.ingest import Progress, ingest
from ragloom.retrieval.store import ChunkStore, open_client
from tests.conftest import SAMPLE_CORPUS


@pytest.fixture
def col(settings, fake_embeddings) -> Collection:
    return Collection(settings, "docs", fake_embeddings)


def _copy_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, dest)
    return dest


def test_ingests_every_format_with_metadata(col: Collection, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    events: list[Progress] = []
    report = ingest([docs], col, on_progress=events.append, workers=1)
    assert report.ok and len(report.ingested) == 3 and report.chunks_added == col.store.count() > 0
    hits = col.store.query(col.store.embeddings.embed_query("Oolong degrees Celsius"), k=1)
    assert hits[0].source.endswith("tea-guide.pdf") and hits[0].page == 1
    meta = next(m for _, _, m in col.store.records() if m["source"].endswith(".pdf"))
    assert meta["loader"] == "pdf" and meta["file_name"] == "tea-guide.pdf"
    assert len(meta["content_hash"]) == 64 and meta["ingested_at"] > 0
    assert [e.files_done for e in events] == [1, 2, 3] and events[-1].files_total == 3
    assert col.manifest.counts() == (3, col.store.count())


def test_rerun_skips_unchanged_and_replaces_changed(col: Collection, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    first = ingest([docs], col, workers=1)
    again = ingest([docs], col, workers=1)
    assert again.ingested == [] and len(again.unchanged) == 3
    assert col.store.count() == first.chunks_added

    faq = docs / "shipping-faq.txt"
    faq.write_text("Shipping to Mars takes 9 years, as every traveller to Mars soon learns.\n")
    changed = ingest([docs], col, workers=1)
    assert changed.ingested == [str(faq.resolve())]
    faq_texts = [t for _, t, m in col.store.records() if m["source"] == str(faq.resolve())]
    assert faq_texts == [faq.read_text().strip()]  # old version gone, no duplicates


def test_touched_but_identical_file_is_not_reembedded(col: Collection, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    ingest([docs], col, workers=1)
    faq = docs / "shipping-faq.txt"
    os.utime(faq, ns=(1, 1))
    report = ingest([docs], col, workers=1)
    assert report.ingested == [] and str(faq.resolve()) in report.unchanged
    assert col.manifest.get(str(faq.resolve())).mtime_ns == 1  # type: ignore[union-attr]


def test_repeated_text_is_embedded_once_and_stored_for_every_file(settings, fake_embeddings,
                                                                    tmp_path: Path) -> None:
    embedded: list[str] = []

    class Counting(type(fake_embeddings)):  # type: ignore[misc]
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            embedded.extend(texts)
            return super().embed_documents(texts)

    col = Collection(settings, "docs", Counting())
    # Long enough to fill chunks of its own, as a filing's boilerplate does.
    boilerplate = " ".join(f"Risk factor {n} may affect our results in ways we cannot foresee."
                           for n in range(120))
    docs = tmp_path / "docs"
    docs.mkdir()
    for quarter in ("q1", "q2", "q3"):
        (docs / f"{quarter}.txt").write_text(f"{boilerplate}\n\nRevenue in {quarter} grew.\n")
    report = ingest([docs], col, workers=1)
    records = list(col.store.records())
    texts = [text for _, text, _ in records]
    assert report.ok and len(records) == report.chunks_added == col.manifest.counts()[1]
    assert len(texts) > len(set(texts))  # the boilerplate chunks repeat in every file
    assert sorted(embedded) == sorted(set(texts))  # but each distinct text was embedded once
    stored = col.store.vectors([cid for cid, _, _ in records])
    for (cid, _, _), fresh in zip(records, Counting().embed_documents(texts), strict=True):
        assert stored[cid] == pytest.approx(fresh, abs=1e-6)  # and every copy has its vector


def test_sync_removes_deleted_files(col: Collection, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    ingest([docs], col, workers=1)
    (docs / "shipping-faq.txt").unlink()
    kept = ingest([docs], col, workers=1)
    assert kept.removed == [] and col.manifest.counts()[0] == 3
    report = ingest([docs], col, sync=True, workers=1)
    assert len(report.removed) == 1 and col.manifest.counts()[0] == 2
    assert not any(m["source"].endswith(".txt") for _, _, m in col.store.records())


def test_parallel_parsing_gives_the_same_index(settings, fake_embeddings, tmp_path) -> None:
    docs = _copy_corpus(tmp_path)
    one = Collection(settings, "serial", fake_embeddings)
    two = Collection(settings, "parallel", fake_embeddings)
    ingest([docs], one, workers=1)
    ingest([docs], two, workers=2)
    strip = lambda col: {(i, t) for i, t, _ in col.store.records()}  # noqa: E731
    assert strip(one) == strip(two)


def test_bad_files_are_reported_and_good_ones_kept(col: Collection, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    (docs / "junk.pdf").write_bytes(b"\x00\x01 definitely not a pdf")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "empty.md").write_text("")
    report = ingest([docs, tmp_path / "missing-folder"], col, workers=1)
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert set(failed) == {"junk.pdf", "latin1.txt", "empty.md", "missing-folder"}
    assert len(report.ingested) == 3 and not report.ok
    assert col.manifest.counts()[0] == 3


def test_collection_records_model_dimension_and_chunking(settings, fake_embeddings) -> None:
    col = Collection(settings, "pinned", fake_embeddings)
    meta = col.store.metadata
    assert meta["embedding_model"] == settings.embedding
    assert meta["embedding_dim"] == fake_embeddings.dimension
    assert meta["chunking_chunk_size"] == settings.retrieval.chunk_size
    with pytest.raises(StoreError, match=settings.embedding):
        ChunkStore(open_client(settings), "pinned", fake_embeddings, "local/other-model")


def test_recorded_chunking_wins_over_later_settings(settings, fake_embeddings) -> None:
    Collection(settings, "fixed", fake_embeddings)
    changed = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(
        update={"chunk_size": 999})})
    assert Collection(changed, "fixed", fake_embeddings).chunking.chunk_size == \
        settings.retrieval.chunk_size


def test_list_and_delete_collections(settings, fake_embeddings, tmp_path) -> None:
    col = Collection(settings, "listed", fake_embeddings)
    ingest([_copy_corpus(tmp_path)], col, workers=1)
    rows = {r["name"]: r for r in list_collections(settings)}
    assert rows["listed"]["files"] == 3 and rows["listed"]["chunks"] == col.store.count()
    delete_collection(settings, "listed")
    assert "listed" not in {r["name"] for r in list_collections(settings)}
    assert not (settings.home / "manifests" / "listed.sqlite").exists()


def test_missing_collection_says_how_to_create_it(settings, fake_embeddings) -> None:
    with pytest.raises(StoreError, match="ragloom ingest"):
        ChunkStore(open_client(settings), "absent", fake_embeddings, "x", create=False)


@pytest.mark.parametrize("name", ["ab", "-bad-", "a" * 513])
def test_invalid_collection_names_are_refused(settings, fake_embeddings, name: str) -> None:
    with pytest.raises(StoreError, match="invalid collection name"):
        ChunkStore(open_client(settings), name, fake_embeddings, "x")


def test_a_cancel_keeps_what_was_read_searchable_and_leaves_the_rest_for_later(
        col: Collection, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i, word in enumerate(["aardvark", "bison", "cheetah"]):
        (folder / f"{i}.txt").write_text(f"The {word} is an animal that lives far away.\n")
    seen: list[str] = []
    report = ingest([folder], col, workers=1, on_progress=lambda p: seen.append(p.path),
                    should_stop=lambda: len(seen) >= 1)
    assert len(report.ingested) == 1 and len(report.cancelled) == 2
    assert report.cancelled == sorted(report.cancelled) and report.ingested[0].endswith("0.txt")
    # The file that was read is in Chroma and in the BM25 index: found by a word only it has.
    from ragloom.retrieval.lexical import LexicalIndex

    index = LexicalIndex.load(col.lexical_dir)
    assert len(index.ids) == 1 and index.search("aardvark", 5)
    # The next ingest picks up where the cancel stopped; nothing is read twice.
    again = ingest([folder], col, workers=1)
    assert len(again.ingested) == 2 and len(again.unchanged) == 1 and not again.cancelled


def test_a_cancelled_sync_removes_nothing(col: Collection, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text(f"Note {name} about the yak and the zebu.\n")
    ingest([folder], col, workers=1)
    (folder / "c.txt").unlink()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"Note {name}, changed, about the gaur.\n")
    report = ingest([folder], col, workers=1, sync=True, should_stop=lambda: True)
    assert len(report.ingested) == 1 and report.cancelled and report.removed == []
    assert col.manifest.counts()[0] == 3  # c.txt stays until a sync that saw every file
