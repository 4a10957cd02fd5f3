"""Ratings are stored with the trace they rate, filtered by rating, and checked on input."""

import pytest

from ragloom.agents.traces import TraceStore


@pytest.fixture
def store(tmp_path):
    s = TraceStore(tmp_path / "traces.sqlite")
    yield s
    s.close()


def _trace(store: TraceStore, question: str) -> str:
    return store.save({"collection": "c", "graph": "simple", "question": question, "answer": "a",
                       "thread": None})


def test_rating_is_stored_with_its_trace_and_replaced_on_rerate(store):
    first, second = _trace(store, "q1"), _trace(store, "q2")
    store.rate(first, "down", "wrong year")
    store.rate(second, "up")
    store.rate(first, "down", "wrong year, cites page 3")
    down = store.feedback("down")
    assert [(f["trace_id"], f["comment"], f["trace"]["question"]) for f in down] == [
        (first, "wrong year, cites page 3", "q1")]
    assert {f["trace_id"] for f in store.feedback()} == {first, second}


def test_bad_rating_and_unknown_trace_are_refused(store):
    tid = _trace(store, "q")
    with pytest.raises(ValueError, match="rating must be"):
        store.rate(tid, "meh")
    with pytest.raises(KeyError):
        store.rate("nope", "up")
    assert store.feedback() == []
