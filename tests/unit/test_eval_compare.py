"""Comparing stored runs (deltas, paired bootstrap intervals, most-changed rows), the HTML report,
feedback export and the `ragloom eval` commands that read runs."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from ragloom.agents.traces import TraceStore
from ragloom.cli_eval import eval_app
from ragloom.evals.compare import compare_runs
from ragloom.evals.feedback import rows_from_feedback
from ragloom.evals.report import write_html_report
from ragloom.evals.store import RunStore

METRICS = ["faithfulness", "token_f1", "latency_s"]


def _run(settings, variant: str, faith: list[float | None], latency: float,  # type: ignore[no-untyped-def]
         dataset: str | None = None) -> str:
    store = RunStore.for_settings(settings)
    run_id = store.create_run("sample", variant, {"metrics": METRICS, "prompts": {
        "answer": variant}, "models": {"judge": "fake/judge"}, "dataset": dataset})
    for i, f in enumerate(faith):
        score = {"value": f} if f is not None else {"value": None, "na": "the answer is a refusal"}
        store.save_row(run_id, f"r{i}", i, {
            "question": f"question {i}?", "answer": f"answer {i} of {variant}",
            "scores": {"faithfulness": score, "token_f1": {"value": 0.5},
                       "latency_s": {"value": latency + i / 10}}})
    store.set_status(run_id, "done")
    return run_id


def test_compare_reports_deltas_intervals_and_changed_rows(settings) -> None:
    a = _run(settings, "answer@1", [0.2, 0.3, 0.25, 0.1, 0.3, 0.2], latency=5.0)
    b = _run(settings, "answer@2", [0.8, 0.85, 0.99, None, 0.8, 0.6], latency=9.0)
    cmp = compare_runs(settings, a, b, top=3)
    by = {d.metric: d for d in cmp.metrics}
    f = by["faithfulness"]
    assert f.paired == 5 and f.n_b == 5 and f.n_a == 6
    assert f.delta == pytest.approx(0.558) and f.ci95[0] > 0 and f.verdict == "better"
    assert by["token_f1"].delta == 0 and by["token_f1"].verdict == "no clear change"
    assert by["latency_s"].delta == pytest.approx(4.0) and by["latency_s"].verdict == "worse"
    assert [c.row_id for c in cmp.rows] == ["r2", "r0", "r1"]  # biggest faithfulness changes
    assert cmp.rows[0].changes["faithfulness"] == (0.25, 0.99)
    assert cmp.run_a["variant"] == "answer@1" and cmp.run_b["prompts"] == {"answer": "answer@2"}


def test_compare_warns_when_the_runs_asked_different_dataset_versions(settings) -> None:
    same = compare_runs(settings, _run(settings, "answer@1", [0.2, 0.3], 5.0, "d1"),
                        _run(settings, "answer@2", [0.4, 0.5], 5.0, "d1"))
    assert not [w for w in same.warnings if "dataset" in w] and same.run_a["dataset"] == "d1"
    other = compare_runs(settings, _run(settings, "answer@1", [0.2, 0.3, 0.1], 5.0, "d1"),
                         _run(settings, "answer@2", [0.4, 0.5], 5.0, "d2"))
    (warning,) = [w for w in other.warnings if "dataset" in w]
    assert "different dataset versions (d1 vs d2)" in warning and "only the 2 rows" in warning


def test_html_report_is_self_contained_with_plots(settings, tmp_path) -> None:
    a = _run(settings, "answer@1", [0.2, 0.4, 0.3], latency=5.0)
    b = _run(settings, "answer@2", [0.6, 0.9, None], latency=6.0)
    path = write_html_report(settings, [a, b], tmp_path / "out" / "report.html")
    page = path.read_text()
    assert page.count("Plotly.newPlot") == 2  # bars with intervals, per-row scatter
    assert "plotly.js v" in page or "plotly.min.js" in page or len(page) > 3_000_000
    assert not re.search(r"<script[^>]+src=\"https?://", page)  # nothing fetched from the web
    assert "answer@2" in page and "95% bootstrap intervals" in page and "N/A" in page


def test_feedback_becomes_dataset_rows(settings) -> None:
    traces = TraceStore(settings.home / "traces.sqlite")
    good = traces.save({"collection": "c", "graph": "simple", "question": "Ship to Canada?",
                        "answer": "7 to 10 days [1].", "thread": None,
                        "citations": [{"source": "/x/shipping-faq.txt"}]})
    bad = traces.save({"collection": "c", "graph": "simple", "question": "Free shipping?",
                       "answer": "Always.", "thread": None, "citations": []})
    traces.rate(good, "up")
    traces.rate(bad, "down", "it is 45 euros")
    [down] = rows_from_feedback(settings, "down")
    assert down.question == "Free shipping?" and down.reference is None
    assert down.model_extra["comment"] == "it is 45 euros"
    assert down.model_extra["rated_answer"] == "Always."
    [up] = rows_from_feedback(settings, "up")
    assert up.reference == "7 to 10 days [1]." and up.gold_sources == ["shipping-faq.txt"]


def _cli(settings, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(eval_app, list(args), obj={"settings": settings})


def test_cli_lists_shows_compares_and_reports(settings, tmp_path) -> None:
    a = _run(settings, "answer@1", [0.2, 0.4, 0.3], latency=5.0)
    b = _run(settings, "answer@2", [0.6, 0.9, 0.8], latency=6.0)
    listed = _cli(settings, "list", "--json")
    assert listed.exit_code == 0
    assert [(r["id"], r["variant"]) for r in json.loads(listed.output)] == [
        (b, "answer@2"), (a, "answer@1")]
    shown = _cli(settings, "show", b[-6:], "--json")
    assert shown.exit_code == 0 and json.loads(shown.output)["summary"]["faithfulness"]["n"] == 3
    compared = _cli(settings, "compare", a, b)
    assert compared.exit_code == 0 and "+0.467" in compared.output
    assert "too few rows (3)" in compared.stdout and "only 3 row(s) compared" in compared.stderr
    html = tmp_path / "r.html"
    assert _cli(settings, "report", a, b, "--html", str(html)).exit_code == 0 and html.exists()
    out = tmp_path / "fb.jsonl"
    assert _cli(settings, "dataset", "from-feedback", "-o", str(out)).exit_code == 0
    assert out.read_text() == ""


def test_cli_refuses_bad_gates_and_unknown_runs(settings) -> None:
    bad = _cli(settings, "run", "sample", "--fail-under", "faithfulness=high")
    assert bad.exit_code != 0 and "bad --fail-under" in str(bad.exception)
    unknown = _cli(settings, "run", "sample", "--fail-under", "exact_match=0.5")
    assert "does not compute" in str(unknown.exception)
    missing = _cli(settings, "show", "nope")
    assert "no eval run matches 'nope'" in str(missing.exception)


def test_a_small_comparison_gets_no_verdict_and_says_why(settings) -> None:
    """Two rows that both improve: a bootstrap interval excludes 0, and used to say 'better'."""
    cmp = compare_runs(settings, _run(settings, "answer@1", [0.2, 0.3], 5.0),
                       _run(settings, "answer@2", [0.9, 0.8], 5.0))
    faith = next(d for d in cmp.metrics if d.metric == "faithfulness")
    assert faith.delta == pytest.approx(0.6) and faith.verdict == "too few rows (2)"
    assert any("only 2 row(s) compared" in w for w in cmp.warnings)
