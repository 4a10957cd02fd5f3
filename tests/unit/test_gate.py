"""The promotion gate's rule (paired interval against a margin, a minimum of paired rows) and the
suite's gate: section, validated on load."""

from __future__ import annotations

import pytest

from ragloom.core.errors import ConfigError
from ragloom.evals.compare import MetricDelta
from ragloom.evals.gate import check
from ragloom.evals.suites import GateRule, load_suite


def _delta(metric: str, delta: float, ci: tuple[float, float] | None, paired: int = 10
           ) -> MetricDelta:
    return MetricDelta(metric, 0.5, 0.5 + delta, paired, paired, paired, delta, ci, "")


def test_a_gate_passes_within_the_margin_and_fails_beyond_it() -> None:
    rule = GateRule(metric="answer_contains", margin=0.05, min_n=5)
    assert check(rule, _delta("answer_contains", 0.0, (-0.04, 0.04))).passed
    assert check(rule, _delta("answer_contains", 0.2, (0.1, 0.3))).passed  # better
    worse = check(rule, _delta("answer_contains", -0.05, (-0.12, 0.02)))
    assert not worse.passed and "-0.120" in worse.reason and "-0.050" in worse.reason


def test_for_latency_and_calls_the_upper_end_is_what_must_stay_under_the_margin() -> None:
    rule = GateRule(metric="latency_s", margin=0.5, min_n=5)
    assert check(rule, _delta("latency_s", -1.0, (-2.0, -0.1))).passed  # faster
    slower = check(rule, _delta("latency_s", 0.8, (0.3, 1.4)))
    assert not slower.passed and "+1.400" in slower.reason


def test_too_few_paired_rows_or_no_scores_refuse() -> None:
    rule = GateRule(metric="token_f1", margin=0.1, min_n=8)
    few = check(rule, _delta("token_f1", 0.0, (0.0, 0.0), paired=5))
    assert not few.passed and few.reason == "5 rows scored in both runs, the gate needs 8"
    assert not check(rule, None).passed
    assert not check(rule, _delta("token_f1", 0.0, None)).passed


def test_the_gate_section_is_validated(tmp_path) -> None:
    base = ("name: g\ndataset: {path: rows.jsonl}\ncollection: {name: gcol}\n"
            "metrics: [answer_contains, refusal]\n")
    (tmp_path / "rows.jsonl").write_text('{"id": "a", "question": "q?"}\n')
    for gate, error in (("[{metric: token_f1}]", "does not compute"),
                        ("[{metric: refusal}]", "no better or worse direction"),
                        ("[{metric: answer_contains, margin: -1}]", "greater than or equal"),
                        ("[{metric: answer_contains, typo: 1}]", "typo")):
        (tmp_path / "s.yaml").write_text(base + f"gate: {gate}\n")
        with pytest.raises(ConfigError, match=error):
            load_suite(tmp_path / "s.yaml")
    assert [g.metric for g in load_suite("sample").gate] == ["answer_contains", "retrieval_recall"]
    assert load_suite("sample").with_metrics(["retrieval_recall"]).gate[0].metric == "retrieval_recall"
