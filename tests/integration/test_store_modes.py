"""One conformance suite for the chunk store, run against embedded Chroma and a real `chroma run`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragloom.core.errors import StoreError
from ragloom.core.settings import Settings, load_settings
from ragloom.retrieval.store import ChunkStore, check_store, open_client
from ragloom.retrieval.types import Chunk
from tests.fakes import BagOfWordsEmbeddings
from tests.integration.servers import chroma_run

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with chroma_run(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port


@pytest.fixture(params=["embedded", "server"])
def mode_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "embedded":
        return load_settings(home=tmp_path)
    port = request.getfixturevalue("chroma_server")
    return load_settings(home=tmp_path, chroma={"mode": "server", "host": "127.0.0.1",
                                                "port": port})


def _chunks(n: int, source: str = "/d/a.md", version: str = "h1") -> list[Chunk]:
    return [Chunk(id=f"{source}-{version}-{i}", text=f"chunk {i} about topic{i} {version}",
                  source=source, chunk_index=i, page=i + 1, metadata={"content_hash": version})
            for i in range(n)]


def _store(settings: Settings, name: str) -> ChunkStore:
    return ChunkStore(open_client(settings), name, BagOfWordsEmbeddings(), "test/bow")


def test_add_query_and_count(mode_settings: Settings, request: pytest.FixtureRequest) -> None:
    store = _store(mode_settings, f"conf-{request.node.callspec.id}-aq")
    chunks = _chunks(5)
    store.add(chunks, store.embeddings.embed_documents([c.text for c in chunks]))
    assert store.count() == 5
    hits = store.query(store.embeddings.embed_query("topic3 h1"), k=2)
    assert hits[0].id == chunks[3].id and hits[0].page == 4 and hits[0].score > hits[1].score
    assert store.query(store.embeddings.embed_query("topic3"), k=3,
                       where={"page": {"$gte": 4}})[0].page >= 4


def test_upsert_is_idempotent(mode_settings: Settings, request: pytest.FixtureRequest) -> None:
    store = _store(mode_settings, f"conf-{request.node.callspec.id}-up")
    chunks = _chunks(3)
    vecs = store.embeddings.embed_documents([c.text for c in chunks])
    store.add(chunks, vecs)
    store.add(chunks, vecs)
    assert store.count() == 3


def test_records_ids_and_delete(mode_settings: Settings, request: pytest.FixtureRequest) -> None:
    store = _store(mode_settings, f"conf-{request.node.callspec.id}-rec")
    chunks = _chunks(2500)  # more than one page of records
    store.add(chunks, store.embeddings.embed_documents([c.text for c in chunks]))
    assert store.ids() == {c.id for c in chunks}
    first = next(store.records())
    assert first[2]["source"] == "/d/a.md" and first[1].startswith("chunk ")
    store.delete([c.id for c in chunks[:1500]])
    assert store.ids() == {c.id for c in chunks[1500:]}


def test_empty_collection_query(mode_settings: Settings, request: pytest.FixtureRequest) -> None:
    store = _store(mode_settings, f"conf-{request.node.callspec.id}-empty")
    assert store.query(store.embeddings.embed_query("x"), k=5) == []


def test_health_check(mode_settings: Settings) -> None:
    check = check_store(mode_settings)
    assert check.ok, check.detail


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, chroma={"mode": "server", "host": "127.0.0.1",
                                                    "port": _free_port()})
    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        open_client(settings)
    assert not check_store(settings).ok
