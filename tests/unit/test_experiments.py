"""Experiment variants: parsing, sticky hash assignment close to the weights, one running
experiment per prompt, and the store on SQLite (PostgreSQL: the same SqlStore, migration 0008)."""

from __future__ import annotations

import pytest

from ragloom.core.errors import ConfigError
from ragloom.evals.experiments import ExperimentStore, _wilson, assignment, parse_variants


def test_variants_parse_labels_and_versions_and_refuse_nonsense() -> None:
    a, b = parse_variants("answer", ["production=90", "5=10"])
    assert (a.ref, a.weight, b.ref, b.weight) == ("answer:production", 90, "answer@5", 10)
    assert parse_variants("answer", ["answer@2=1", "answer:staging=1"])[1].ref == "answer:staging"
    for bad in (["production=90"], ["production=0", "5=1"], ["x", "5=1"], ["5=1", "5=2"]):
        with pytest.raises(ConfigError):
            parse_variants("answer", bad)


def test_assignment_is_sticky_and_follows_the_weights(settings) -> None:
    store = ExperimentStore.for_settings(settings)
    exp = store.start("answer", parse_variants("answer", ["production=75", "2=25"]))
    with pytest.raises(ConfigError, match="already running"):
        store.start("answer", parse_variants("answer", ["production=1", "2=1"]))
    picks = [exp.assign(f"user{i}").name for i in range(4000)]
    assert picks[:50] == [exp.assign(f"user{i}").name for i in range(50)]  # sticky
    assert 0.71 < picks.count("production") / 4000 < 0.79
    pins, tag = assignment(settings, {}, "user7")
    assert tag == {"id": exp.id, "variant": exp.assign("user7").name}
    assert pins["answer"] == exp.assign("user7").ref
    assert assignment(settings, {"answer": "answer@1"}, "user7") == ({"answer": "answer@1"}, None)
    assert store.stop("answer").status == "stopped" and store.running("answer") is None
    assert store.get(exp.id).stopped is not None and [e.id for e in store.list()] == [exp.id]
    assert assignment(settings, {}, "user7") == ({}, None)
    store.close()


def test_the_wilson_interval_holds_its_rate_at_the_ends() -> None:
    assert _wilson(10, 10)[1] == 1.0 and _wilson(0, 10)[0] == 0.0 and _wilson(0, 0) is None
    lo, hi = _wilson(5, 10)
    assert 0.2 < lo < 0.5 < hi < 0.8
