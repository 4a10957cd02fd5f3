"""Evaluations: run a suite over prompt/graph variants, see results with intervals, compare runs."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from ragloom.agents.graphs import graph_names
from ragloom.core.settings import Settings
from ragloom.ui import eval_jobs
from ragloom.ui.dataset_view import render_dataset_tab
from ragloom.ui.eval_views import (
    bars_figure,
    comparison_tables,
    rows_table,
    run_label,
    runs_table,
    summary_table,
)
from ragloom.ui.state import pick_suite, services, settings, shown_errors

JOB_KEY = "ragloom_eval_job"


def _answer_refs(s: Settings) -> list[str]:
    from ragloom.prompts import prompt_store

    store = prompt_store(s)
    return [f"answer@{v}" for v in store.active_versions("answer")
            if _usable(store, f"answer@{v}")]


def _usable(store: Any, ref: str) -> bool:
    """A tampered version, or one that could never render (saved before a rule), is no variant."""
    from ragloom.core.errors import PromptError

    try:
        return not store.get(ref).problems()
    except PromptError:
        return False


def _run_tab(s: Settings) -> None:
    from ragloom.evals.metrics import JUDGE_METRICS
    from ragloom.evals.runs import JudgeOptions, variants_from

    suite = pick_suite("ev-suite")
    name = suite.name
    st.caption(suite.description or "")
    use_judge = st.toggle("Judge metrics (Ragas; each judge call takes 10–30 s on a small CPU model)",
                          value=True, key="ev-use-judge")
    offered = [m for m in suite.metrics if use_judge or m not in JUDGE_METRICS]
    c1, c2 = st.columns(2)
    metrics = c1.multiselect("Metrics", offered, default=offered, key=f"ev-m-{name}-{use_judge}")
    judge = c2.text_input("Judge (for Ragas metrics)", suite.judge or s.judge, key="ev-judge",
                          disabled=not use_judge)
    c1, c2 = st.columns(2)
    prompts = c1.multiselect("Answer prompt versions (each is a variant)", _answer_refs(s),
                             key="ev-prompts", help="None: the suite's pins, else production")
    graphs = c2.multiselect("Graphs (each is a variant)", graph_names(), key="ev-graphs",
                            help=f"None: the suite's graph ({suite.graph or s.agent.graph})")
    c1, c2, c3, c4 = st.columns(4)
    limit = c1.number_input("Rows", 1, 10_000, 3, key="ev-limit")
    concurrency = c2.number_input("Concurrency", 1, 16, 1, key="ev-conc")
    repeats = c3.number_input("Judge repeats", 1, 10, 1, key="ev-rep")
    resume = c4.checkbox("Resume unfinished", key="ev-resume")
    on_workers = bool(s.database) and st.checkbox(
        "On the workers (one task per row for `ragloom worker`)", key="ev-queue",
        help="The runs fill as the workers answer; concurrency, repeats, resume and the judge "
        "field do not apply (workers use their own settings).")
    busy = eval_jobs.running_local()
    if st.button("Run evaluation", type="primary", key="ev-run", disabled=busy is not None,
                 help="Runs in the background: you can switch pages meanwhile"):
        if not metrics:
            st.warning("Pick at least one metric.")
            return
        if on_workers:
            _enqueue(name, s, variants_from(prompts, graphs) if (prompts or graphs) else None,
                     int(limit), metrics)
            return
        chosen = suite.with_metrics(metrics) if metrics != suite.metrics else suite
        job = eval_jobs.start(
            chosen, s, variants_from(prompts, graphs) if (prompts or graphs) else None,
            limit=int(limit), concurrency=int(concurrency), repeats=int(repeats), resume=resume,
            judge=JudgeOptions(spec=judge.strip() or None),
            runtime=services().extra.get("eval_runtime"))
        st.session_state[JOB_KEY] = job.id
    _progress()


def _enqueue(suite: str, s: Settings, variants: Any, limit: int, metrics: list[str]) -> None:
    from ragloom.queue import enqueue_suite

    with shown_errors("queueing the evaluation"):
        ids = enqueue_suite(suite, s, variants, limit, metrics)
        st.session_state["ev-pick"] = ids
        st.success(f"Queued up to {limit} row(s) per run for the workers: {', '.join(ids)}. "
                   "They appear under Results as the workers answer.")


def _progress() -> None:
    """This session's evaluation: live while it runs, then its outcome."""
    job = eval_jobs.get(st.session_state.get(JOB_KEY, ""))
    if job is None:
        return
    if job.running:
        _live_progress(job.id)
        return
    if not st.session_state.get(f"ev-shown-{job.id}"):  # show the new runs under Results once
        st.session_state[f"ev-shown-{job.id}"] = True
        st.session_state["ev-pick"] = job.run_ids
    _show_job(job)


@st.fragment(run_every=1.0)
def _live_progress(job_id: str) -> None:
    """Redrawn every second while the run lasts; the whole page reruns when it ends."""
    job = eval_jobs.get(job_id)
    if job is not None and not job.running:
        st.rerun(scope="app")
    if job is not None:
        _show_job(job)


def _show_job(job: eval_jobs.EvalJob) -> None:
    for variant, p in job.progress.items():
        st.progress(p.done / max(p.total, 1),
                    text=f"{variant}: {p.phase} {p.done}/{p.total} {p.message}".strip())
    if job.running:
        st.caption(f"Evaluating {job.suite}… (the first judge call starts the judge model; "
                   "you can switch pages meanwhile)")
        if st.button("Cancel", key=f"ev-cancel-{job.id}", icon=":material/cancel:",
                     help="Stops before the next row; finished rows stay (Resume continues)"):
            _cancel([p.run_id for p in job.progress.values()])
    elif job.error:
        st.error(f"evaluation failed: {job.error}. Finished rows are kept; tick 'Resume "
                 "unfinished' to continue.")
    else:
        st.success(f"Finished {len(job.run_ids)} run(s) of {job.suite}: see Results and Compare.")


def _cancel(run_ids: list[str]) -> None:
    from ragloom.evals.store import RunStore

    store = RunStore.for_settings(settings())
    for run_id in run_ids:
        if store.run_info(run_id)["status"] in ("queued", "running", "interrupted"):
            store.cancel(run_id)
    st.toast("Cancelled: the run stops before its next row.")


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def html_report(s: Settings, run_ids: list[str]) -> bytes:
    from ragloom.evals.report import write_html_report

    with tempfile.TemporaryDirectory() as tmp:
        return write_html_report(s, run_ids, Path(tmp) / "report.html").read_bytes()


def _exports(s: Settings, run: dict[str, Any]) -> None:
    # Built on click (deferred): the HTML report inlines plotly.js, megabytes on every rerun.
    c1, c2, c3 = st.columns(3)
    c1.download_button("Rows as CSV", lambda: _csv(rows_table(run)), f"{run['id']}.csv",
                       "text/csv", key=f"ev-csv-{run['id']}")
    c2.download_button("Run as JSON", lambda: json.dumps(run, indent=2, default=str),
                       f"{run['id']}.json", "application/json", key=f"ev-json-{run['id']}")
    c3.download_button("HTML report", lambda: html_report(s, [run["id"]]), f"{run['id']}.html",
                       "text/html", key=f"ev-html-{run['id']}")


def _results_tab(s: Settings) -> None:
    from ragloom.evals.runs import get_run, list_runs

    runs = list_runs(s)
    if not runs:
        st.info("No evaluation runs yet: start one in the Run tab.")
        return
    with st.expander(f"All runs ({len(runs)})"):
        st.dataframe(runs_table(runs), hide_index=True)
    ids = [r["id"] for r in runs]
    if any(i not in ids for i in st.session_state.get("ev-pick", [])):
        st.session_state.pop("ev-pick")
    picked = st.multiselect("Runs to show", ids, key="ev-pick",
                            default=None if "ev-pick" in st.session_state else ids[:1],
                            format_func=lambda i: run_label(next(r for r in runs if r["id"] == i)))
    chosen = [get_run(s, i) for i in picked]
    if not chosen:
        return
    st.plotly_chart(bars_figure(chosen), key="ev-bars")
    st.dataframe(summary_table(chosen), hide_index=True)
    run = chosen[0] if len(chosen) == 1 else next(
        r for r in chosen if r["id"] == st.selectbox("Rows of run", [r["id"] for r in chosen],
                                                     key="ev-rows-run"))
    st.markdown(f"**Rows of** {run_label(run)} · status {run['status']} · commit "
                f"`{run['config'].get('commit') or '?'}` · prompts {run['config'].get('prompts')}")
    if run["status"] in ("queued", "running") and st.button(
            "Cancel this run", key=f"ev-cancel-run-{run['id']}", icon=":material/cancel:",
            help="Its remaining rows are not answered (by this app or by the workers)"):
        with shown_errors("cancelling the run"):
            _cancel([run["id"]])
    table = rows_table(run)
    rows = [{**r, "trace": f"traces?trace={r['trace']}" if r["trace"] else None} for r in table]
    st.dataframe(rows, hide_index=True, column_config={"trace": st.column_config.LinkColumn(
        "trace", display_text="open trace", help="How this row's answer was made")})
    _row_trace(s, run["id"], {r["id"]: r["trace"] for r in table if r["trace"]})
    _exports(s, run)


def _row_trace(s: Settings, run_id: str, traces: dict[str, str]) -> None:
    """A row's trace here on the page (the table's link opens it on the Traces page)."""
    if not traces:
        return
    row = st.selectbox("Why did a row score as it did? Open its trace", ["(none)", *traces],
                       key=f"ev-row-trace-{run_id}")
    if row != "(none)":
        from ragloom.agents.service import get_trace
        from ragloom.ui.trace_view import render_trace_detail

        with st.container(border=True):
            render_trace_detail(get_trace(s, traces[row]))


def _compare_tab(s: Settings) -> None:
    from ragloom.evals.compare import MIN_ROWS, compare_runs
    from ragloom.evals.runs import list_runs

    runs = list_runs(s)
    if len(runs) < 2:
        st.info("Compare needs two runs: run a suite with two prompt versions, for example.")
        return
    ids = [r["id"] for r in runs]
    label = {r["id"]: run_label(r) for r in runs}
    c1, c2 = st.columns(2)
    a = c1.selectbox("Run A (baseline)", ids, index=1, key="ev-cmp-a", format_func=label.get)
    b = c2.selectbox("Run B", ids, index=0, key="ev-cmp-b", format_func=label.get)
    if a == b:
        st.warning("Pick two different runs.")
        return
    cmp = compare_runs(s, a, b)
    for warning in cmp.warnings:  # different dataset versions, too few rows
        st.warning(warning, icon=":material/warning:")
    metrics, rows = comparison_tables(cmp)
    st.dataframe(metrics, hide_index=True)
    st.caption("B − A over the rows scored in both runs, with a 95% bootstrap interval; "
               "'better'/'worse' only when the interval excludes 0 and at least "
               f"{MIN_ROWS} rows were compared.")
    if rows:
        st.markdown("**Rows that changed most**")
        st.dataframe(rows, hide_index=True)


def render() -> None:
    s = settings()
    st.title("Evaluations")
    run, results, compare, dataset = st.tabs(["Run", "Results", "Compare", "Datasets"],
                                             key="ev-tabs")
    with run, shown_errors("starting the evaluation"):
        _run_tab(s)
    with results, shown_errors("showing results"):
        _results_tab(s)
    with compare, shown_errors("comparing runs"):
        _compare_tab(s)
    with dataset, shown_errors("showing the dataset"):
        render_dataset_tab(s)
