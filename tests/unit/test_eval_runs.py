"""Suites run end to end with fakes: scripted chat model, bag-of-words embeddings and a counting
fake judge behind Ragas' real metric code. Re-running an unchanged suite makes zero judge calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ragas.llms.base import InstructorBaseRagasLLM

from ragloom.agents.state import RagContext
from ragloom.core.errors import RagloomError
from ragloom.evals.judge import RagasJudge
from ragloom.evals.runs import Runtime, Variant, get_run, list_runs, run_suite, variants_from
from ragloom.evals.suites import load_suite
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from ragloom.retrieval.service import index_dir
from ragloom.retrieval.store import open_store
from tests.fakes import BagOfWordsEmbeddings, scripted_chat

JUDGE_METRICS = ["faithfulness", "answer_relevancy", "context_precision", "context_recall"]


class CountingRagasLLM(InstructorBaseRagasLLM):
    """Answers each Ragas prompt with a fixed, valid structured output; counts the calls."""

    def __init__(self, verdict: int = 1, fail: bool = False):
        self.calls = 0
        self.verdict = verdict
        self.fail = fail

    def generate(self, prompt: str, response_model: Any) -> Any:
        raise NotImplementedError

    async def agenerate(self, prompt: str, response_model: Any) -> Any:
        self.calls += 1
        if self.fail:
            raise TimeoutError("judge too slow")
        name = response_model.__name__
        v = self.verdict
        data = {
            "StatementGeneratorOutput": {"statements": ["The answer states a fact."]},
            "NLIStatementOutput": {"statements": [{"statement": "The answer states a fact.",
                                                   "reason": "in context", "verdict": v}]},
            "AnswerRelevanceOutput": {"question": "At what temperature is Oolong brewed?",
                                      "noncommittal": 0},
            "ContextPrecisionOutput": {"reason": "useful", "verdict": v},
            "ContextRecallOutput": {"classifications": [{"statement": "s", "reason": "r",
                                                         "attributed": v}]},
        }[name]
        return response_model.model_validate(data)


def _suite(tmp_path: Path, rows: int = 3) -> Any:
    suite = load_suite("sample")
    lines = (suite.base_dir / "sample.jsonl").read_text().splitlines()[:rows]
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n")
    return suite.model_copy(update={"dataset": suite.dataset.model_copy(
        update={"path": tmp_path / "data.jsonl"}), "metrics": [*JUDGE_METRICS, *suite.metrics[4:]]})


def _runtime(llm: CountingRagasLLM, replies: list[str], embeddings: BagOfWordsEmbeddings,
             seen_prompts: list[dict[str, str]] | None = None) -> Runtime:
    def context(settings, collection, prompts, where) -> RagContext:  # type: ignore[no-untyped-def]
        if seen_prompts is not None:
            seen_prompts.append(prompts)
        store = open_store(settings, collection, embeddings, create=False)
        retriever = HybridRetriever(store, embeddings,
                                    LexicalIndex.load(index_dir(settings.home, collection)))
        return RagContext(chat_model=scripted_chat(*replies), retriever=retriever,
                          collection=collection, prompt_refs=prompts, where=where)

    judge = RagasJudge("fake/judge", lambda repeat: llm, embeddings)
    return Runtime(embeddings=embeddings, context=context, judge=lambda: judge,
                   judge_id="fake/judge")


REPLIES = ["Brew it at 85 degrees Celsius [1].", "It takes 7 to 10 business days [1].",
           "I don't know."]


def test_run_stores_answers_scores_and_na_reasons(settings, fake_embeddings, tmp_path) -> None:
    llm = CountingRagasLLM()
    events = []
    [run_id] = run_suite(_suite(tmp_path), settings, runtime=_runtime(llm, REPLIES,
                         fake_embeddings), progress=events.append)
    run = get_run(settings, run_id)
    assert run["status"] == "done" and run["row_count"] == 3
    first, _, refused = run["rows"]
    assert first["answer"].startswith("Brew it at 85") and first["contexts"]
    assert first["scores"]["faithfulness"]["value"] == 1.0
    assert first["scores"]["context_recall"]["value"] == 1.0
    assert first["scores"]["answer_contains"]["value"] == 1.0
    assert first["scores"]["retrieval_recall"]["value"] == 1.0
    assert len(first["usage"]["calls"]) == 1 and first["trace_id"]
    assert first["usage"]["calls"][0]["node"] == "generate_answer"
    # A refusal is not judged for faithfulness: N/A with its reason, counted, never 0.
    assert refused["refused"] is True
    assert refused["scores"]["faithfulness"] == {"value": None, "na": "the answer is a refusal"}
    summary = run["summary"]["faithfulness"]
    assert summary["n"] == 2 and summary["na"] == 1
    assert summary["na_reasons"] == {"the answer is a refusal": 1}
    assert run["summary"]["refusal"]["mean"] == pytest.approx(1 / 3)
    assert [e.phase for e in events][-1] == "done" and events[-1].done == 3
    assert run["config"]["models"]["judge"] == "fake/judge" and run["config"]["commit"]


def test_rerun_of_unchanged_suite_makes_zero_judge_calls(settings, fake_embeddings,
                                                         tmp_path) -> None:
    suite = _suite(tmp_path)
    first = CountingRagasLLM()
    run_suite(suite, settings, runtime=_runtime(first, REPLIES, fake_embeddings))
    assert first.calls > 0
    again = CountingRagasLLM()
    built = []

    def never_built():  # type: ignore[no-untyped-def]
        built.append(True)
        raise AssertionError("the judge must not even be built when everything is cached")

    runtime = _runtime(again, REPLIES, fake_embeddings)
    runtime.judge = never_built
    [second] = run_suite(suite, settings, runtime=runtime)
    assert again.calls == 0 and built == []
    assert get_run(settings, second)["config"]["judge_calls"] == 0
    rows = get_run(settings, second)["rows"]
    assert rows[0]["scores"]["faithfulness"]["value"] == 1.0


def test_a_changed_answer_is_judged_again(settings, fake_embeddings, tmp_path) -> None:
    suite = _suite(tmp_path, rows=1)
    run_suite(suite, settings, runtime=_runtime(CountingRagasLLM(), REPLIES[:1], fake_embeddings))
    llm = CountingRagasLLM()
    run_suite(suite, settings, runtime=_runtime(llm, ["Brew at 85 C [1]."], fake_embeddings))
    # faithfulness (2 calls) and answer relevancy (1) see the new answer; context metrics do not.
    assert llm.calls == 3


def test_judge_failure_is_na_with_reason_and_retried_next_run(settings, fake_embeddings,
                                                               tmp_path) -> None:
    suite = _suite(tmp_path, rows=1)
    broken = CountingRagasLLM(fail=True)
    [run_id] = run_suite(suite, settings, runtime=_runtime(broken, REPLIES[:1], fake_embeddings))
    score = get_run(settings, run_id)["rows"][0]["scores"]["faithfulness"]
    assert score["value"] is None and "failed 2 time(s)" in score["na"]
    assert broken.calls == 2 * 4  # two attempts for each of the four metrics' first call
    healthy = CountingRagasLLM()
    run_suite(suite, settings, runtime=_runtime(healthy, REPLIES[:1], fake_embeddings))
    assert healthy.calls > 0  # failures were not cached


def test_repeats_report_mean_and_spread(settings, fake_embeddings, tmp_path) -> None:
    suite = _suite(tmp_path, rows=1)
    runtime = _runtime(CountingRagasLLM(), REPLIES[:1], fake_embeddings)
    # Repeat r is judged by a model that says "yes" on even repeats and "no" on odd ones.
    judge = RagasJudge("fake/judge", lambda r: CountingRagasLLM(verdict=1 - r % 2),
                       fake_embeddings)
    runtime.judge = lambda: judge
    [run_id] = run_suite(suite, settings, repeats=2, runtime=runtime)
    run = get_run(settings, run_id)
    score = run["rows"][0]["scores"]["context_recall"]
    assert score["repeats"] == [1.0, 0.0] and score["value"] == 0.5
    assert score["spread"] == pytest.approx(0.7071, abs=1e-4)
    assert run["summary"]["context_recall"]["spread"] == pytest.approx(0.7071, abs=1e-4)


def test_variants_matrix_and_pins_reach_the_graph(settings, fake_embeddings, tmp_path) -> None:
    variants = variants_from(prompts=["answer@1", "answer:production"], graphs=["simple"])
    assert [v.name for v in variants] == ["answer@1 graph=simple",
                                          "answer:production graph=simple"]
    seen: list[dict[str, str]] = []
    ids = run_suite(_suite(tmp_path, rows=1), settings, variants=variants,
                    runtime=_runtime(CountingRagasLLM(), REPLIES[:1] * 2, fake_embeddings, seen))
    assert len(set(ids)) == 2 and seen == [{"answer": "answer@1"}, {"answer": "answer:production"}]
    assert {r["variant"] for r in list_runs(settings)} == {v.name for v in variants}
    rows = get_run(settings, ids[0])["rows"]
    assert rows[0]["prompts"] == {"answer": "answer@1"}


def test_interrupted_run_keeps_rows_and_resumes(settings, fake_embeddings, tmp_path,
                                                monkeypatch) -> None:
    import ragloom.evals.runs as runs

    suite = _suite(tmp_path)
    real = runs.answer_row
    calls = {"n": 0}

    def flaky(row, *a, **k):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(row, *a, **k)

    monkeypatch.setattr(runs, "answer_row", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, settings, runtime=_runtime(CountingRagasLLM(), REPLIES, fake_embeddings))
    [run] = list_runs(settings)
    assert run["status"] == "interrupted" and run["row_count"] == 1
    monkeypatch.setattr(runs, "answer_row", real)
    [resumed] = run_suite(suite, settings, resume=True,
                          runtime=_runtime(CountingRagasLLM(), REPLIES[1:], fake_embeddings))
    assert resumed == run["id"]
    done = get_run(settings, resumed)
    assert done["status"] == "done" and [r["id"] for r in done["rows"]] == [
        "oolong-temp", "ship-canada", "pay-schedule"]


def test_default_variant_when_none_given() -> None:
    assert variants_from() == [Variant()]


def test_a_cancelled_run_stops_before_its_next_row_and_can_be_resumed(
        settings, fake_embeddings, tmp_path, monkeypatch) -> None:
    import ragloom.evals.runs as runs
    from ragloom.evals.store import RunStore

    suite = _suite(tmp_path)
    real = runs.answer_row
    seen: list[str] = []

    def cancel_after_first(row, *a, **k):  # type: ignore[no-untyped-def]
        seen.append(row.id)
        if len(seen) == 1:  # someone presses Cancel while the first row is being answered
            [run] = list_runs(settings)
            RunStore.for_settings(settings).cancel(run["id"])
        return real(row, *a, **k)

    monkeypatch.setattr(runs, "answer_row", cancel_after_first)
    progress: list[Any] = []
    variants = [Variant(name="a"), Variant(name="b")]
    ids = run_suite(suite, settings, variants, progress=progress.append,
                    runtime=_runtime(CountingRagasLLM(), REPLIES, fake_embeddings))
    assert len(ids) == 1 and seen == ["oolong-temp"]  # variant b never started
    run = get_run(settings, ids[0])
    assert run["status"] == "cancelled" and [r["id"] for r in run["rows"]] == ["oolong-temp"]
    assert progress[-1].phase == "cancelled" and "after 1 of 3 rows" in progress[-1].message
    with pytest.raises(RagloomError, match="is cancelled: nothing to cancel"):
        RunStore.for_settings(settings).cancel(ids[0])
    # A late row (a worker that was mid-row) does not reopen it; --resume continues on purpose.
    RunStore.for_settings(settings).set_status(ids[0], "done")
    assert get_run(settings, ids[0])["status"] == "cancelled"
    monkeypatch.setattr(runs, "answer_row", real)
    [resumed] = run_suite(suite, settings, [Variant(name="a")], resume=True,
                          runtime=_runtime(CountingRagasLLM(), REPLIES[1:], fake_embeddings))
    assert resumed == ids[0] and get_run(settings, resumed)["status"] == "done"


def test_ragloom_eval_cancel_from_the_command_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from ragloom.cli import app
    from ragloom.core.settings import load_settings
    from ragloom.evals.store import RunStore

    home = tmp_path / "home"
    store = RunStore.for_settings(load_settings(home=home))
    run_id = store.create_run("sample", "default", {"rows": 3})
    store.close()
    runner = CliRunner()
    done = runner.invoke(app, ["--home", str(home), "eval", "cancel", run_id[-6:]])
    assert done.exit_code == 0 and f"cancelled run {run_id} (sample, default) after 0" in done.output
    again = runner.invoke(app, ["--home", str(home), "eval", "cancel", run_id])
    assert again.exit_code != 0 and "nothing to cancel" in str(again.exception)
