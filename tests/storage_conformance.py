"""One conformance suite for every storage backend (Haystack's ``DocumentStoreBaseTests`` idea).

A backend's test class subclasses ``StorageConformance`` and provides ``target``: a callable
that opens a store class on that backend. Opening it twice gives two replicas (two engines,
as two API processes would have) over the same state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ragloom.agents.traces import TraceStore
from ragloom.api.audit import AuditLog
from ragloom.api.jobs import JobStore
from ragloom.api.keys import LOCAL_ADMIN, KeyStore
from ragloom.core.errors import RagloomError
from ragloom.evals.review import ReviewQueue
from ragloom.evals.store import RunStore
from ragloom.prompts import PromptStore
from ragloom.prompts.authoring import create_version, rollback, set_label
from ragloom.retrieval.manifest import FileEntry, Manifest

Opener = Callable[[type], Any]


class DocsManifest(Manifest):
    """The manifest of collection ``docs`` (the opener passes only the target)."""

    def __init__(self, target: Any):
        super().__init__(target, "docs")


class NotesManifest(Manifest):
    def __init__(self, target: Any):
        super().__init__(target, "notes")


def _file(source: str, *ids: str) -> FileEntry:
    return FileEntry(source, "h" * 64, 10, 1, "text", ids, 1.0)


def _trace(question: str = "What is Oolong?", **extra: Any) -> dict[str, Any]:
    return {"collection": "docs", "graph": "simple", "question": question,
            "answer": "A tea [1].", "thread": None, "steps": [{"node": "x"}], **extra}


class StorageConformance:
    @pytest.fixture
    def target(self) -> Opener:
        raise NotImplementedError

    @pytest.fixture
    def prompt_layer(self) -> Callable[[], Any]:
        """Opens the prompt user layer of this backend (each call: another replica's view)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ keys

    def test_a_key_made_on_one_replica_works_on_another(self, target: Opener) -> None:
        a, b = target(KeyStore), target(KeyStore)
        plain, info = a.create("ci", "user", {"docs": "write"})
        who = b.verify(plain)
        assert who is not None and who.id == info.id and who.can("docs", "write")
        assert not who.can("other", "read") and b.verify(plain[:-1] + "x") is None
        assert [k.id for k in b.list()] == [info.id] and b.count_active() == 1
        assert b.revoke(info.id) and a.verify(plain) is None and not a.revoke(info.id)
        assert a.count_active() == 0 and a.list()[0].revoked is not None

    def test_keys_made_concurrently_are_all_kept(self, target: Opener) -> None:
        store = target(KeyStore)
        made: list[str] = []

        def make(n: int) -> None:
            made.append(store.create(f"k{n}", "admin")[0])

        threads = [threading.Thread(target=make, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.count_active() == 8 and all(store.verify(p) for p in made)

    # ------------------------------------------------------------------ audit

    def test_the_audit_log_is_shared_newest_first_and_filterable(self, target: Opener) -> None:
        a, b = target(AuditLog), target(AuditLog)
        a.record(LOCAL_ADMIN, "ask", collection="docs", question="q" * 5000)
        a.record(LOCAL_ADMIN, "ingest", collection="docs", target="job1", outcome="error",
                 files=["a.pdf"])
        a.record(LOCAL_ADMIN, "ask", collection="other", question="second")
        entries = b.entries()
        assert [e["action"] for e in entries] == ["ask", "ingest", "ask"]
        assert entries[0]["detail"] == {"question": "second"}
        assert len(entries[2]["detail"]["question"]) == 2000  # cut, not archived
        assert [e["target"] for e in b.entries(action="ingest")] == ["job1"]
        assert b.entries(action="ingest")[0]["detail"] == {"files": ["a.pdf"]}
        assert [e["collection"] for e in b.entries(collection="docs", limit=1)] == ["docs"]
        assert b.entries(key_id="nobody") == []

    # ------------------------------------------------------------------ traces and feedback

    def test_traces_are_shared_and_listed_newest_first(self, target: Opener) -> None:
        a, b = target(TraceStore), target(TraceStore)
        first = a.save(_trace("first?"))
        second = a.save(_trace("second?", thread="t1"))
        got = b.get(first)
        assert got is not None and got["question"] == "first?" and got["steps"] == [{"node": "x"}]
        assert [r[0] for r in b.recent(10)] == [second, first] and b.get("nope") is None

    def test_a_rating_replaces_the_last_one_and_needs_the_trace(self, target: Opener) -> None:
        a, b = target(TraceStore), target(TraceStore)
        tid = a.save(_trace())
        a.rate(tid, "up")
        b.rate(tid, "down", "wrong tea")
        rated = a.feedback()
        assert [(r["trace_id"], r["rating"], r["comment"]) for r in rated] == [
            (tid, "down", "wrong tea")]
        assert rated[0]["trace"]["question"] == "What is Oolong?"
        assert a.feedback("up") == [] and len(a.feedback("down")) == 1
        with pytest.raises(KeyError):
            a.rate("0" * 12, "up")
        with pytest.raises(ValueError, match="rating"):
            a.rate(tid, "meh")
        assert len(b.feedback()) == 1  # the failed calls changed nothing

    def test_chats_list_search_rename_and_delete_across_stores(self, target: Opener) -> None:
        a, b = target(TraceStore), target(TraceStore)
        a.save(_trace("first of web-1?", thread="web-1"))
        a.save({**_trace("second of web-1?", thread="web-1"), "answer": "about 100% oolong"})
        a.save(_trace("api question?", thread="key.t1"))
        a.save(_trace("web_2 only?", thread="web_2"))
        chats = b.chats("web-")  # "_" is not a wildcard: web_2 is not a web- chat
        assert [(c["thread"], c["title"], c["turns"]) for c in chats] == [
            ("web-1", "first of web-1?", 2)]
        assert [t["question"] for t in b.chat_turns("web-1")] == ["first of web-1?",
                                                                   "second of web-1?"]
        assert b.chats("web-", "100%") and not b.chats("web-", "100%x")
        a.rename_chat("web-1", "Oolong")
        assert b.chats("web-", "oolong")[0]["title"] == "Oolong"
        b.delete_chat("web-1")
        assert a.chats("web-") == [] and len(a.chat_turns("web-1")) == 2  # traces stay

    def test_a_replaced_turn_leaves_its_chat_but_its_trace_stays(self, target: Opener) -> None:
        a, b = target(TraceStore), target(TraceStore)
        first = a.save(_trace("first?", thread="web-9"))
        second = a.save(_trace("second?", thread="web-9"))
        edited = a.save(_trace("first, edited?", thread="web-9"))
        a.replace_turns([first, second], by=edited)
        assert [t["question"] for t in b.chat_turns("web-9")] == ["first, edited?"]
        (chat,) = b.chats("web-")
        assert (chat["title"], chat["turns"]) == ("first, edited?", 1)  # titled by the new first
        assert not b.chats("web-", "second")  # a replaced turn is not found in the chat list
        assert b.get(first)["question"] == "first?"  # the trace is still there
        a.replace_turns([first], by=edited)  # twice is harmless
        assert len(b.chat_turns("web-9")) == 1

    # ------------------------------------------------------------------ ingest jobs

    def test_an_ingest_job_is_readable_on_every_replica(self, target: Opener) -> None:
        a, b = target(JobStore), target(JobStore)
        a.add("j" * 16, "docs", "key1", {"status": "queued", "failed": []})
        a.save("j" * 16, {"status": "done", "failed": [{"file": "x.pdf", "reason": "empty"}]})
        collection, owner, created, state = b.get("j" * 16)  # type: ignore[misc]
        assert (collection, owner, state["status"]) == ("docs", "key1", "done")
        assert state["failed"] == [{"file": "x.pdf", "reason": "empty"}] and created > 0
        assert b.get("nope") is None

    # ------------------------------------------------------------------ manifests

    def test_a_manifest_written_by_one_writer_is_what_every_replica_reads(
            self, target: Opener) -> None:
        a, b = target(DocsManifest), target(DocsManifest)
        assert a.generation() == 0 and b.counts() == (0, 0) and b.get("upload://a.txt") is None
        a.begin([("upload://a.txt", ["c1", "c2"], []), ("upload://b.txt", ["c3"], [])])
        intents = {i.source: i for i in b.intents()}
        assert intents["upload://a.txt"].add_ids == ("c1", "c2") and not intents["upload://a.txt"].committed
        a.commit([("upload://a.txt", _file("upload://a.txt", "c1", "c2")),
                  ("upload://b.txt", _file("upload://b.txt", "c3"))])
        assert all(i.committed for i in b.intents()) and b.generation() == 1  # one per commit
        a.finish(["upload://a.txt", "upload://b.txt"])
        assert b.intents() == [] and b.counts() == (2, 3)
        assert [e.source for e in b.entries()] == ["upload://a.txt", "upload://b.txt"]
        b.touch("upload://a.txt", 11, 2)
        found = a.get("upload://a.txt")
        assert found is not None and (found.size, found.mtime_ns, found.chunk_ids) == (11, 2, ("c1", "c2"))
        b.begin([("upload://b.txt", [], ["c3"])])
        b.commit([("upload://b.txt", None)])  # a removed file
        b.finish(["upload://b.txt"])
        assert a.counts() == (1, 2) and a.generation() == 2

    def test_collections_have_separate_manifests_and_generations(self, target: Opener) -> None:
        docs, notes = target(DocsManifest), target(NotesManifest)
        docs.begin([("x", ["c1"], [])])
        docs.commit([("x", _file("x", "c1"))])
        notes.begin([("x", ["n1"], [])])
        assert docs.intents()[0].committed and not notes.intents()[0].committed
        assert notes.get("x") is None and notes.generation() == 0 and docs.generation() == 1
        docs.forget()
        assert docs.counts() == (0, 0) and docs.intents() == [] and len(notes.intents()) == 1

    # ------------------------------------------------------------------ review queue

    def test_a_review_item_is_queued_once_and_decided_once(self, target: Opener) -> None:
        a, b = target(ReviewQueue), target(ReviewQueue)
        assert a.add("feedback:t1", "thumbs-down", {"question": "Q?", "answer": "A", "comment": "no"})
        assert not b.add("feedback:t1", "thumbs-down", {"question": "Q?"})  # collected twice
        assert a.add("row:r1:x", "low-score", {"question": "R?", "answer": None})
        (item, older) = b.items()
        assert (item["source"], item["question"]) == ("row:r1:x", "R?") and older["comment"] == "no"
        b.decide(older["id"], "accepted", {"reference": "B", "reviewer": "ci"})
        with pytest.raises(RagloomError, match="already decided"):
            a.decide(older["id"], "discarded", {})
        assert [i["id"] for i in a.items()] == [item["id"]]
        assert a.get(older["id"])["decision"] == {"reference": "B", "reviewer": "ci"}
        assert len(a.items(None)) == 2
        with pytest.raises(RagloomError, match="no review item"):
            a.get("nope")

    # ------------------------------------------------------------------ evaluation runs

    def test_an_evaluation_run_written_on_one_replica_reads_on_another(self, target: Opener
                                                                         ) -> None:
        a, b = target(RunStore), target(RunStore)
        run = a.create_run("sample", "base", {"prompts": {"answer": "answer@3"}})
        a.save_row(run, "q2", 1, {"answer": "second"})
        a.save_row(run, "q1", 0, {"answer": "first, wrong"})
        b.save_row(run, "q1", 0, {"answer": "first"})  # a retried row replaces, never doubles
        a.update_config(run, {"judge_calls": 4})
        a.set_status(run, "done")
        info = b.run_info(run[-6:])  # by the end of its id, as the CLI takes it
        assert (info["id"], info["status"], info["row_count"]) == (run, "done", 2)
        assert info["config"] == {"prompts": {"answer": "answer@3"}, "judge_calls": 4}
        assert info["finished"] is not None
        assert [r["answer"] for r in b.rows(run)] == ["first", "second"]
        assert b.done_row_ids(run) == {"q1", "q2"}
        other = b.create_run("other", "base", {})
        assert [r["id"] for r in a.list_runs()] == [other, run]
        assert [r["id"] for r in a.list_runs("sample")] == [run]
        with pytest.raises(RagloomError, match="no eval run matches"):
            a.run_info("%")  # a LIKE wildcard is a character here, not "any run"

    def test_launches_and_the_judge_cache_are_shared(self, target: Opener) -> None:
        a, b = target(RunStore), target(RunStore)
        a.save_launch("l1", "host:1", {"status": "running"})
        b.save_launch("l1", "host:1", {"status": "done", "run_ids": ["r"]})
        assert a.launch("l1") == ("host:1", {"status": "done", "run_ids": ["r"]})
        assert a.launch("l2") is None
        assert a.cached("k") == (False, None)
        a.cache("k", "judge", "faithfulness", 0.5)
        b.cache("k", "judge", "faithfulness", 0.75)
        a.cache("nan", "judge", "faithfulness", None)
        assert b.cached("k") == (True, 0.75) and b.cached("nan") == (True, None)

    # ------------------------------------------------------------------ prompts

    def test_a_prompt_version_and_label_saved_on_one_replica_serve_on_another(
            self, prompt_layer: Callable[[], Any]) -> None:
        a, b = PromptStore(prompt_layer()), PromptStore(prompt_layer())
        shipped = b.labels("answer")["production"]
        base = a.get("answer:production")
        new = create_version(a, "answer", [{"role": r, "content": c} for r, c in base.messages],
                             message="same words", author="ci")
        assert new.version == max(PromptStore().versions("answer")) + 1
        assert b.get(f"answer@{new.version}").sha256 == new.sha256
        assert set_label(b, "answer", "production", new.version) == shipped
        assert a.get("answer").version == new.version  # A serves what B promoted
        assert rollback(a, "answer", "production") == (new.version, shipped)
        assert b.labels("answer")["production"] == shipped
        assert PromptStore().labels("answer")["production"] == shipped  # shipped files untouched

    def test_concurrent_authors_never_lose_or_share_a_version_number(
            self, prompt_layer: Callable[[], Any]) -> None:
        base = PromptStore().get("answer:production")
        messages = [{"role": r, "content": c} for r, c in base.messages]
        made: list[int] = []

        def author(n: int) -> None:
            store = PromptStore(prompt_layer())  # each author its own replica
            for i in range(3):
                made.append(create_version(store, "answer", messages, message=f"{n}.{i}").version)

        threads = [threading.Thread(target=author, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(made) == len(set(made)) == 9
        store = PromptStore(prompt_layer())
        assert all(store.get(f"answer@{v}").message for v in made)  # each checksum recorded
