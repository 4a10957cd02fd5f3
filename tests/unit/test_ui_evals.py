"""Evaluations page: run two prompt variants in the background, results with intervals, compare,
export; the real evals API runs with fake models (no judge metrics, so no judge is started)."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SecretStr

from ragloom.agents.state import RagContext
from ragloom.evals.runs import Runtime, list_runs
from ragloom.prompts import PromptStore
from ragloom.prompts.authoring import create_version
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from ragloom.retrieval.service import index_dir
from ragloom.retrieval.store import open_store
from ragloom.ui import eval_jobs
from ragloom.ui.eval_views import rows_table, summary_table
from ragloom.ui.page_evals import JOB_KEY, html_report
from tests.fakes import BagOfWordsEmbeddings
from tests.unit.test_ui_support import app_test, fake_services, texts

CHEAP = ["retrieval_recall", "answer_contains", "citation_validity", "refusal", "latency_s"]


class ConstantChat(GenericFakeChatModel):
    reply: str = ""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


def _runtime() -> Runtime:
    embeddings = BagOfWordsEmbeddings()

    def context(settings, collection, prompts, where) -> RagContext:  # type: ignore[no-untyped-def]
        store = open_store(settings, collection, embeddings, create=False)
        retriever = HybridRetriever(store, embeddings,
                                    LexicalIndex.load(index_dir(settings.home, collection)))
        return RagContext(chat_model=ConstantChat(messages=iter([]), reply="85 degrees [1]."),
                          retriever=retriever, collection=collection, prompt_refs=prompts, where=where,
                          prompts=PromptStore(settings.user_prompts_dir), chat_provider="fake")

    return Runtime(embeddings=embeddings, context=context)


def test_run_two_variants_then_results_compare_and_export(settings) -> None:
    store = PromptStore(settings.user_prompts_dir)
    base = store.get("answer:production")
    new = create_version(store, "answer", [{"role": r, "content": c} for r, c in base.messages],
                         message="same text, new number")
    services = fake_services()
    services.extra["eval_runtime"] = _runtime()
    at = app_test(settings, services, page="evals")
    assert not at.exception, at.exception
    assert "No evaluation runs yet" in at.info[0].value

    at.selectbox(key="ev-suite").set_value("sample-ci").run()
    at.toggle(key="ev-use-judge").set_value(False).run()
    assert not set(at.multiselect(key="ev-m-sample-ci-False").options) & {
        "faithfulness", "context_recall"}
    at.multiselect(key="ev-m-sample-ci-False").set_value(CHEAP)
    at.multiselect(key="ev-prompts").set_value([base.ref, new.ref])
    at.number_input(key="ev-limit").set_value(2)
    at.button(key="ev-run").click().run()
    job = eval_jobs.get(at.session_state[JOB_KEY])
    job.thread.join(120)
    assert job.error is None and len(job.run_ids) == 2
    at.run()
    assert not at.exception, at.exception

    runs = list_runs(settings)
    assert {r["variant"] for r in runs} == {base.ref, new.ref}
    assert all(r["status"] == "done" and r["row_count"] == 2 for r in runs)
    # Results: both runs picked, a bar chart with intervals, the per-metric summary table.
    assert set(at.multiselect(key="ev-pick").value) == set(job.run_ids)
    assert at.get("plotly_chart")
    summary = at.dataframe[1].value
    assert list(summary["metric"])[:2] == ["retrieval_recall", "answer_contains"]
    assert summary.iloc[0, 1].startswith("1.000")  # the fake retrieval finds the gold source
    # Compare: per-metric delta with an interval and a verdict.
    deltas = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert set(deltas["metric"]) >= {"retrieval_recall", "answer_contains"}
    assert set(deltas["verdict"]) <= {"too few rows (2)", "n/a"}  # 2 rows: no verdict
    assert "only 2 row(s) compared" in " ".join(w.value for w in at.warning)
    assert [b.label for b in at.get("download_button")] == ["Rows as CSV", "Run as JSON",
                                                             "HTML report"]
    # A row's trace opens on the page: its steps and the chunks the answer read.
    box = next(b for b in at.selectbox if b.key.startswith("ev-row-trace-"))
    box.set_value(box.options[1]).run()
    assert not at.exception, at.exception
    assert "Retrieved chunks" in texts(at) and any(
        "start_turn" in list(d.value.get("step", [])) for d in at.dataframe if "step" in d.value)
    report = html_report(settings, job.run_ids[:1]).decode()
    assert report.startswith("<!DOCTYPE html>") or "<html" in report[:200]
    assert "retrieval_recall" in report


def test_na_scores_show_their_reason_and_not_a_zero() -> None:
    run = {"id": "r1", "suite": "s", "variant": "v", "created": 0.0,
           "summary": {"faithfulness": {"mean": None, "ci95": None, "n": 0, "na": 1}},
           "rows": [{"id": "q1", "question": "Q?", "answer": "I don't know.",
                     "scores": {"faithfulness": {"value": None, "na": "refused"}}}]}
    assert rows_table(run)[0]["faithfulness"] == "N/A: refused"
    assert summary_table([run])[0][next(k for k in summary_table([run])[0] if k != "metric")] \
        == "– (n=0, N/A=1)"


def test_a_bad_judge_spec_is_a_readable_error(settings) -> None:
    services = fake_services()
    services.extra["eval_runtime"] = _runtime()
    at = app_test(settings, services, page="evals")
    at.selectbox(key="ev-suite").set_value("sample-ci").run()
    at.text_input(key="ev-judge").set_value("nonsense")
    at.number_input(key="ev-limit").set_value(1)
    at.button(key="ev-run").click().run()
    job = eval_jobs.get(at.session_state[JOB_KEY])
    job.thread.join(120)
    at.run()
    assert not at.exception
    assert job.error and "nonsense" in job.error
    assert any("evaluation failed" in e.value and "nonsense" in e.value for e in at.error)


def test_with_a_database_the_page_can_queue_the_rows_for_workers(settings, monkeypatch) -> None:
    import ragloom.prompts
    import ragloom.queue

    alone = app_test(settings, fake_services(), page="evals")
    assert not [c for c in alone.checkbox if c.key == "ev-queue"]  # no database: no workers
    queued: list[tuple[object, ...]] = []

    def enqueue(suite, s, variants, limit, metrics):  # type: ignore[no-untyped-def]
        queued.append((suite, s.database, variants, limit, metrics))
        return ["20261202-000000-abc123"]

    monkeypatch.setattr(ragloom.queue, "enqueue_suite", enqueue)
    # No database here: the page's prompt pickers read the folder layer instead.
    monkeypatch.setattr(ragloom.prompts, "prompt_store",
                        lambda s: PromptStore(settings.user_prompts_dir))
    shared = settings.model_copy(update={"database_url": SecretStr("postgresql://u@h/db")})
    at = app_test(shared, fake_services(), page="evals")
    at.selectbox(key="ev-suite").set_value("sample-ci").run()
    at.toggle(key="ev-use-judge").set_value(False).run()
    at.multiselect(key="ev-m-sample-ci-False").set_value(CHEAP)
    at.number_input(key="ev-limit").set_value(2)
    at.checkbox(key="ev-queue").check()
    at.button(key="ev-run").click().run()
    assert not at.exception, at.exception
    assert queued == [("sample-ci", "postgresql://u@h/db", None, 2, CHEAP)]
    assert "20261202-000000-abc123" in at.success[0].value
    assert JOB_KEY not in at.session_state  # nothing runs in this process


def _own_suite(tmp_path):  # type: ignore[no-untyped-def]
    """A copy of the sample suite whose dataset file this test may write."""
    import shutil

    from ragloom.evals.suites import load_suite

    sample = load_suite("sample")
    shutil.copy(sample.base_dir / "sample.jsonl", tmp_path / "mine.jsonl")
    text = (sample.base_dir / "sample.yaml").read_text().replace("path: sample.jsonl",
                                                                  "path: mine.jsonl")
    corpus = "../../ragloom/sample_corpus"
    text = text.replace(corpus, str(sample.resolve(Path(corpus))))
    (tmp_path / "mine.yaml").write_text(text)
    return tmp_path / "mine.yaml"


def test_add_an_answer_to_a_suite_from_ask_then_see_it_in_the_dataset_viewer(settings,
                                                                             tmp_path) -> None:
    from ragloom.evals.suites import load_suite
    from ragloom.ui.page_ask import HISTORY_KEY
    from tests.unit.test_ui_support import sample_collection

    suite_file = _own_suite(tmp_path)
    sample_collection(settings)
    at = app_test(settings, fake_services("Brew the Oolong at 85 degrees Celsius [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    at.chat_input(key="ask-input").set_value("What temperature should I brew the Oolong at?").run()
    answer = at.session_state[HISTORY_KEY][0]["answer"]
    assert at.text_area(key="ask-suite-0-ref").value == "Brew the Oolong at 85 degrees Celsius."
    assert at.multiselect(key="ask-suite-0-gold").value == ["tea-guide.pdf"]
    at.text_input(key="ask-suite-0-path").set_value(str(suite_file)).run()
    at.text_area(key="ask-suite-0-ref").set_value("85 °C").run()
    at.button(key="ask-suite-0-add").click().run()
    assert not at.exception, at.exception
    assert "Added to mine: dataset" in texts(at)
    row = next(r for r in load_suite(suite_file).rows() if r.id == f"ask-{answer.trace_id}")
    assert (row.reference, row.gold_sources, row.trace) == ("85 °C", ["tea-guide.pdf"],
                                                            answer.trace_id)
    # An empty reference is refused and adds nothing.
    at.text_area(key="ask-suite-0-ref").set_value("  ").run()
    at.button(key="ask-suite-0-add").click().run()
    assert "needs a reference answer" in texts(at)

    # The dataset viewer: rows with references and gold sources, and the version before.
    ev = app_test(settings, fake_services(), page="evals")
    assert "sample" in ev.selectbox(key="ev-ds-suite").options
    ev.selectbox(key="ev-ds-suite").set_value("sample").run()
    table = ev.dataframe[-1].value
    assert "oolong-temp" in list(table["id"]) and "tea-guide.pdf" in " ".join(table["gold sources"])
    ev.text_input(key="ev-ds-search").set_value("canada").run()
    assert list(ev.dataframe[-1].value["id"]) == ["ship-canada"]


def test_cancel_a_running_evaluation_from_the_page(settings) -> None:
    from ragloom.evals.store import RunStore

    store = RunStore.for_settings(settings)
    run_id = store.create_run("sample", "default", {"rows": 3})
    job = eval_jobs.EvalJob(id="jobcancel", suite="sample", chat="fake/chat")
    job.progress["default"] = eval_jobs.VariantProgress(run_id, "answering", 1, 3)
    with eval_jobs._LOCK:
        eval_jobs._JOBS[job.id] = job
    try:
        at = app_test(settings, fake_services(), page="evals")
        at.session_state[JOB_KEY] = job.id
        at.run()
        at.button(key="ev-cancel-jobcancel").click().run()
        assert not at.exception, at.exception
        assert store.run_info(run_id)["status"] == "cancelled"
    finally:
        with eval_jobs._LOCK:
            eval_jobs._JOBS.pop(job.id)
        store.close()
