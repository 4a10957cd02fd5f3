"""The PostgreSQL backend, on a real server: the storage conformance suite, the schema check and
`ragloom db`, and two API replicas with different homes sharing keys, traces, feedback and audit."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ragloom.core.errors import ConfigError, IngestError
from ragloom.core.models import get_embeddings
from ragloom.core.settings import load_settings
from ragloom.core.storage.engines import connect, shared_engine
from ragloom.core.storage.migrations import current, head, upgrade
from ragloom.core.storage.threads import setup_threads
from tests.conftest import SAMPLE_CORPUS
from tests.integration.postgres import postgres
from tests.integration.servers import chroma_run
from tests.storage_conformance import Opener, StorageConformance
from tests.unit.api_helpers import client, fill, key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres() as url:
        yield url


@pytest.fixture
def empty_db(server: str) -> str:
    """The server's database with every table dropped (no schema version at all)."""
    engine = connect(server)
    with engine.begin() as db:
        db.execute(text("DROP SCHEMA public CASCADE"))
        db.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    shared_engine.cache_clear()
    return server


@pytest.fixture
def db(empty_db: str) -> str:
    engine = connect(empty_db)
    upgrade(engine)
    engine.dispose()
    setup_threads(empty_db)
    return empty_db


class TestPostgresStorage(StorageConformance):
    @pytest.fixture
    def target(self, db: str) -> Iterator[Opener]:
        engines: list[Any] = []

        def open_store(store: type) -> Any:
            engines.append(connect(db))  # one engine per store: two stores are two replicas
            return store(engines[-1])

        yield open_store
        for engine in engines:
            engine.dispose()

    @pytest.fixture
    def prompt_layer(self, db: str) -> Iterator[Any]:
        from ragloom.prompts.layers import DatabaseLayer

        engines: list[Any] = []

        def open_layer() -> DatabaseLayer:
            engines.append(connect(db))
            return DatabaseLayer(engines[-1])

        yield open_layer
        for engine in engines:
            engine.dispose()


def test_a_database_behind_the_code_is_refused_with_the_command_to_run(empty_db: str) -> None:
    with pytest.raises(ConfigError, match="schema version none") as caught:
        shared_engine(empty_db)
    assert "ragloom db upgrade" in str(caught.value) and "@" in str(caught.value)
    engine = connect(empty_db)
    assert upgrade(engine, "0001") == (None, "0001")  # a database an older ragloom made
    shared_engine.cache_clear()
    with pytest.raises(ConfigError, match=f"schema version 0001, this ragloom needs {head()}"):
        shared_engine(empty_db)
    assert head() != "0001" and upgrade(engine) == ("0001", head())
    assert upgrade(engine) == (head(), head())
    assert current(engine) == head()
    engine.dispose()
    shared_engine.cache_clear()
    assert shared_engine(empty_db) is shared_engine(empty_db)  # one pool per URL and process


def _ragloom(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGLOOM_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "ragloom", "--home", str(home), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_ragloom_db_status_and_upgrade(empty_db: str, tmp_path: Path) -> None:
    before = _ragloom(tmp_path, empty_db, "db", "status")
    assert before.returncode == 1 and "schema none" in before.stdout
    assert "ragloom db upgrade" in before.stdout
    done = _ragloom(tmp_path, empty_db, "db", "upgrade")
    assert done.returncode == 0 and f"none -> {head()}" in done.stderr, done.stderr
    again = _ragloom(tmp_path, empty_db, "db", "upgrade")
    assert again.returncode == 0 and "already at" in again.stderr
    after = _ragloom(tmp_path, empty_db, "db", "status")
    assert after.returncode == 0 and f"schema {head()}, this ragloom needs {head()}" in after.stdout
    # A key made by the CLI on one machine is in the shared database, not in that home.
    made = _ragloom(tmp_path, empty_db, "keys", "create", "--name", "ci", "--admin")
    assert made.returncode == 0 and made.stdout.startswith("rl_"), made.stderr
    assert not (tmp_path / "api" / "keys.sqlite").exists()


def test_two_api_replicas_with_different_homes_share_keys_traces_and_feedback(
        db: str, tmp_path: Path) -> None:
    a = load_settings(home=tmp_path / "a", embedding="local/fake-bow", database_url=db)
    b = load_settings(home=tmp_path / "b", embedding="local/fake-bow", database_url=db)
    for s in (a, b):
        fill(s)  # the documents are per home here (a Chroma server shares them)
    admin = key(a, "admin")  # created through replica A's settings
    with client(a) as api_a, client(b) as api_b:
        asked = api_b.post("/ask", json={"question": "At what temperature do I brew the Oolong?",
                                         "collection": "sample"}, headers=admin)
        assert asked.status_code == 200, asked.text
        trace_id = asked.json()["trace_id"]
        assert api_a.get(f"/traces/{trace_id}", headers=admin).json()["question"].startswith("At")
        rated = api_a.post(f"/traces/{trace_id}/feedback", json={"rating": "down"},
                           headers=admin)
        assert rated.status_code == 200, rated.text
        # A conversation started on A continues on B: one thread in the shared checkpointer.
        for api, question in ((api_a, "How hot should the Oolong water be?"),
                              (api_b, "How long does Canada shipping take?")):
            r = api.post("/ask", json={"question": question, "collection": "sample",
                                       "thread": "chat1"}, headers=admin)
            assert r.status_code == 200, r.text
    from ragloom.core.storage.threads import checkpointer

    with checkpointer(b.home, b.database) as saver:
        threads = {c.config["configurable"]["thread_id"] for c in saver.list(None)}
        (thread,) = [t for t in threads if t.endswith(".chat1")]
        state = saver.get_tuple({"configurable": {"thread_id": thread}}).checkpoint
    assert [t["question"] for t in state["channel_values"]["history"]] == [
        "How hot should the Oolong water be?", "How long does Canada shipping take?"]
    from ragloom.agents.service import rated_answers
    from ragloom.api.audit import audit_log

    assert [r["trace_id"] for r in rated_answers(b)] == [trace_id]
    log = audit_log(a)
    assert "ask" in [e["action"] for e in log.entries()]  # B's request, in A's view of the log
    log.close()
    for s in (a, b):
        assert not any((s.home / name).exists() for name in (
            "traces.sqlite", "conversations.sqlite", "api/keys.sqlite", "api/audit.sqlite"))


@pytest.fixture(scope="module")
def chroma_port() -> Iterator[int]:
    with chroma_run(Path(tempfile.mkdtemp(prefix="ragloom-chroma-"))) as port:
        yield port


def test_an_ingest_on_one_replica_is_searchable_by_bm25_and_dense_on_another(
        db: str, chroma_port: int, tmp_path: Path) -> None:
    from ragloom.agents.contexts import ContextCache
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import ingest
    from ragloom.retrieval.lexical import LexicalIndex, index_dir
    from ragloom.retrieval.service import open_retriever

    shared = {"embedding": "local/minilm-l6-v2", "database_url": db, "chat": "openai/unused",
              "openai": {"base_url": "http://127.0.0.1:9/v1"},  # built, never called here
              "chroma": {"mode": "server", "host": "127.0.0.1", "port": chroma_port}}
    a = load_settings(home=tmp_path / "a", **shared)
    b = load_settings(home=tmp_path / "b", **shared)
    embeddings = get_embeddings(a.embedding, a)  # the real one: replicas build contexts with it
    ingest([SAMPLE_CORPUS], Collection(a, "replicated", embeddings), workers=1)
    assert not index_dir(b.home, "replicated").exists()  # nothing shared on disk
    for mode in ("bm25", "dense"):
        only = b.model_copy(update={"retrieval": b.retrieval.model_copy(update={"mode": mode})})
        hits = open_retriever(only, "replicated", embeddings).retrieve(
            "What temperature should I brew the Oolong at?", 3)
        assert hits and "85" in " ".join(h.text for h in hits), (mode, hits)
    cache = ContextCache()
    before = cache(b, "replicated")
    first = LexicalIndex.state(index_dir(b.home, "replicated"))
    # A second upload through A: B's next question sees it, by BM25 too, with no restart.
    note = tmp_path / "kites.md"
    note.write_text("# Kites\n\nThe Zephyr Kite Club flies a teal kite every Sunday.\n")
    ingest([note], Collection(a, "replicated", embeddings), workers=1)
    after = cache(b, "replicated")
    assert after.retriever is not before.retriever
    assert LexicalIndex.state(index_dir(b.home, "replicated"))[0] == first[0] + 1
    index = after.retriever.lexical  # type: ignore[attr-defined]
    (top, _), *_ = index.search("Zephyr kite", 2)
    assert index.metadatas[index.ids.index(top)]["source"].endswith("kites.md")
    # An unchanged re-ingest does not make every replica rebuild.
    ingest([note], Collection(a, "replicated", embeddings), workers=1)
    assert cache(b, "replicated").retriever is after.retriever


def test_the_collection_write_lock_spans_machines_and_frees_itself(db: str, tmp_path: Path) -> None:
    """Two replicas with different homes: the PostgreSQL advisory lock excludes them (no HOME/locks
    file could), per collection; a holder whose connection dies releases it."""
    import threading

    from ragloom.retrieval.locks import collection_write_lock

    a = load_settings(home=tmp_path / "a", database_url=db)
    b = load_settings(home=tmp_path / "b", database_url=db)
    waited, got = threading.Event(), threading.Event()

    def writer() -> None:
        with collection_write_lock(b, "docs", on_wait=waited.set):
            got.set()

    with collection_write_lock(a, "docs"):
        thread = threading.Thread(target=writer)
        thread.start()
        assert waited.wait(10) and not got.wait(0.5)  # B waits while A writes
        with collection_write_lock(b, "other", on_wait=lambda: pytest.fail("other collection")):
            pass
    assert got.wait(10)
    thread.join(10)
    assert not (tmp_path / "a" / "locks").exists()
    holder = subprocess.Popen(  # a writer killed mid-write: the server drops its lock
        [sys.executable, "-c", "import time; from ragloom.core.settings import load_settings; "
         "from ragloom.retrieval.locks import collection_write_lock as lock; "
         f"s = load_settings(home={str(tmp_path / 'c')!r}, database_url={db!r}); "
         "cm = lock(s, 'docs'); cm.__enter__(); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(10)
    with collection_write_lock(a, "docs"):  # would hang if the lock outlived its session
        pass


def test_queued_uploads_are_shared_and_discarded_by_name(db: str, tmp_path: Path) -> None:
    from ragloom.retrieval.uploads import UploadStore

    a = UploadStore.shared(load_settings(home=tmp_path / "a", database_url=db))
    b = UploadStore.shared(load_settings(home=tmp_path / "b", database_url=db))
    a.put("docs", "a.txt", b"alpha")
    a.put("docs", "b.txt", b"beta")
    a.put("docs", "a.txt", b"alpha 2")  # the same name again replaces it
    a.put("other", "a.txt", b"other")
    assert b.names("docs") == ["a.txt", "b.txt"]
    written = b.write_to("docs", ["a.txt", "gone.txt"], tmp_path)
    assert written == [tmp_path / "a.txt"] and written[0].read_bytes() == b"alpha 2"
    assert written[0].stat().st_mode & 0o777 == 0o600
    b.discard("docs", ["b.txt"])
    assert a.names("docs") == ["a.txt"]
    a.forget("docs")
    assert b.names("docs") == [] and b.names("other") == ["a.txt"]
    a.put("docs", "../x", b"x")  # names are made safe before they get here; still checked
    with pytest.raises(IngestError, match="leaves the upload folder"):
        a.write_to("docs", ["../x"], tmp_path / "sub")
