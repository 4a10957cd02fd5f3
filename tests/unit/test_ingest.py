import shutil
from pathlib import Path

import pytest

from core.errors import StoreError
from retrieval.ingest import ingest
from retrieval.store import ChunkStore, open_client
from tests.conftest import SAMPLE_CORPUS


def _copy_corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, dest)
    return dest


def test_ingests_every_format_with_metadata(store: ChunkStore, settings, tmp_path: Path) -> None:
    docs = _copy_corpus(tmp_path)
    report = ingest([docs], store, settings.retrieval)
    assert report.ok and len(report.ingested) == 3 and report.chunks_added == store.count() > 0
    hits = store.query(store.embeddings.embed_query("Oolong degrees Celsius"), k=1)
    assert hits[0].source.endswith("tea-guide.pdf") and hits[0].page == 1
    assert 0.0 < hits[0].score <= 1.0


def test_reingest_is_idempotent_and_replaces_changed_files(store, settings, tmp_path) -> None:
    docs = _copy_corpus(tmp_path)
    first = ingest([docs], store, settings.retrieval)
    again = ingest([docs], store, settings.retrieval)
    assert again.ingested == [] and len(again.unchanged) == 3
    assert store.count() == first.chunks_added

    faq = docs / "shipping-faq.txt"
    faq.write_text("Shipping to Mars takes 9 years.\n")
    changed = ingest([docs], store, settings.retrieval)
    assert changed.ingested == [str(faq.resolve())]
    hits = store.query(store.embeddings.embed_query("shipping Mars"), k=store.count())
    faq_texts = [h.text for h in hits if h.source == str(faq.resolve())]
    assert faq_texts == ["Shipping to Mars takes 9 years."]  # old version gone, no duplicates


def test_bad_files_are_reported_and_good_ones_kept(store, settings, tmp_path) -> None:
    docs = _copy_corpus(tmp_path)
    (docs / "junk.pdf").write_bytes(b"\x00\x01 definitely not a pdf")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "empty.md").write_text("")
    report = ingest([docs], store, settings.retrieval)
    failed = {Path(p).name: reason for p, reason in report.failed}
    assert set(failed) == {"junk.pdf", "latin1.txt", "empty.md"}
    assert "UTF-8" in failed["latin1.txt"] and "PDF" in failed["junk.pdf"]
    assert len(report.ingested) == 3 and not report.ok


def test_collection_remembers_its_embedding_model(settings, fake_embeddings) -> None:
    client = open_client(settings)
    ChunkStore(client, "pinned", fake_embeddings, "local/model-a")
    with pytest.raises(StoreError, match="model-a"):
        ChunkStore(client, "pinned", fake_embeddings, "local/model-b")


def test_missing_collection_says_how_to_create_it(settings, fake_embeddings) -> None:
    with pytest.raises(StoreError, match="ragloom ingest"):
        ChunkStore(open_client(settings), "absent", fake_embeddings, "x", create=False)


@pytest.mark.parametrize("name", ["ab", "-bad-", "a" * 513])
def test_invalid_collection_names_are_refused(settings, fake_embeddings, name: str) -> None:
    with pytest.raises(StoreError, match="invalid collection name"):
        ChunkStore(open_client(settings), name, fake_embeddings, "x")
