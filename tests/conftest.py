from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragloom.core.settings import Settings, load_settings
from ragloom.retrieval.store import ChunkStore, open_client
from tests.fakes import BagOfWordsEmbeddings

SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "ragloom" / "sample_corpus"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's RAGLOOM_* variables or ragloom.toml."""
    import os

    for key in list(os.environ):
        if key.startswith("RAGLOOM_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", embedding="local/fake-bow")


@pytest.fixture
def fake_embeddings() -> BagOfWordsEmbeddings:
    return BagOfWordsEmbeddings()


@pytest.fixture
def store(settings: Settings, fake_embeddings: BagOfWordsEmbeddings) -> ChunkStore:
    return ChunkStore(open_client(settings), "test-collection", fake_embeddings, settings.embedding)


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    """app.py sets umask 077 (core.private.restrict_new_files); AppTests run it in this process."""
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)
