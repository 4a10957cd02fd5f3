"""The CI gate for real: the sample-ci suite on 2 rows, answered by the embedded model and judged
by the embedded model behind a real llama.cpp server that the run starts and stops. A re-run of
the unchanged suite makes zero judge calls and never starts the server."""

from __future__ import annotations

import pytest

from ragloom.core.settings import load_settings
from ragloom.evals.runs import get_run, run_suite
from ragloom.evals.suites import load_suite
from ragloom.evals.summary import failed_thresholds

pytestmark = pytest.mark.integration


def test_embedded_judge_scores_sample_and_rerun_is_free(tmp_path) -> None:
    settings = load_settings(home=tmp_path / "home")
    suite = load_suite("sample-ci").with_metrics(["faithfulness", "retrieval_recall",
                                                  "answer_contains", "refusal", "latency_s"])
    [first] = run_suite(suite, settings, limit=2)
    run = get_run(settings, first)
    assert run["status"] == "done" and run["row_count"] == 2
    assert run["config"]["judge_calls"] > 0
    assert run["config"]["models"]["judge"] == "local/qwen2.5-coder-0.5b@t0"
    for row in run["rows"]:
        assert row["answer"] and row["contexts"] and row["trace_id"]
        faith = row["scores"]["faithfulness"]
        # A noisy small judge may fail a row: then it is N/A with a reason, never a silent 0.
        assert (faith["value"] is not None and 0 <= faith["value"] <= 1) or faith["na"]
    assert run["summary"]["retrieval_recall"]["mean"] == 1.0
    assert failed_thresholds(run["summary"], {"retrieval_recall": 0.6}) == []

    [second] = run_suite(suite, settings, limit=2)
    again = get_run(settings, second)
    before = {r["id"]: r["scores"]["faithfulness"] for r in run["rows"]}
    after = {r["id"]: r["scores"]["faithfulness"] for r in again["rows"]}
    # Judge failures (timeouts, unparseable output) are not cached: only they are judged again.
    retried = {rid for rid, s in before.items() if _judge_failed(s)}
    if not retried:
        assert again["config"]["judge_calls"] == 0
    assert {rid: s["value"] for rid, s in after.items() if rid not in retried} == {
        rid: s["value"] for rid, s in before.items() if rid not in retried}


def _judge_failed(score: dict) -> bool:  # type: ignore[type-arg]
    return (score.get("na") or "").startswith(("the judge failed", "faithfulness could not"))
