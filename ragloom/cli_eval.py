"""`ragloom eval`: run suites, compare runs, write reports, build datasets."""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from ragloom.console import err, out, settings_of
from ragloom.core.errors import ConfigError

eval_app = typer.Typer(help="Evaluation suites: run, compare, report, datasets.",
                       no_args_is_help=True)
dataset_app = typer.Typer(help="Build suite datasets.", no_args_is_help=True)
eval_app.add_typer(dataset_app, name="dataset")
log = logging.getLogger(__name__)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "N/A" if value is None else f"{value:.{digits}f}"


def _ci(ci: Any) -> str:
    return "" if not ci else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def print_summary(run: dict[str, Any]) -> None:
    table = Table("metric", "mean", "95% CI", "scored", "N/A", "spread",
                  title=f"{run['suite']} · {run['variant']} · run {run['id']} · {run['status']}")
    for metric, s in run["summary"].items():
        ci = "" if not s["ci95"] else f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"
        table.add_row(metric, _fmt(s["mean"]), ci, str(s["n"]), str(s["na"]),
                      _fmt(s["spread"]) if s["spread"] is not None else "")
    out.print(table)
    reasons: dict[str, int] = {}
    for s in run["summary"].values():
        for reason, count in s["na_reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        out.print(f"[dim]N/A ×{count}: {reason}[/dim]", highlight=False)
    if (usage := run.get("usage")) and usage["answers"]:
        from ragloom.core.models.usage import usage_line

        out.print(f"[dim]{usage_line(usage)} (answers; the judge not included)[/dim]",
                  highlight=False)


@eval_app.command("run")
def run(
    ctx: typer.Context,
    suite: Annotated[str, typer.Argument(help="Suite name (evals/suites/NAME.yaml) or YAML path.")],
    prompt: Annotated[list[str] | None, typer.Option(
        help="Prompt pin NAME@VERSION (repeatable); pins of one prompt are compared as variants.")
                      ] = None,
    graph: Annotated[list[str] | None, typer.Option(help="Graph(s) to compare (repeatable).")
                     ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows.")] = None,
    metrics: Annotated[str | None, typer.Option(
        help="Compute only these of the suite's metrics, comma-separated.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Rows answered/judged at once.")] = 1,
    repeats: Annotated[int, typer.Option(min=1, help="Judge each row N times (mean, spread).")
                       ] = 1,
    resume: Annotated[bool, typer.Option(help="Continue the last unfinished run.")] = False,
    judge: Annotated[str | None, typer.Option(help="Judge model, provider/model.")] = None,
    judge_timeout: Annotated[float, typer.Option(help="Seconds per judge call.")] = 300.0,
    fail_under: Annotated[str | None, typer.Option(
        help="Gate, e.g. faithfulness=0.7,context_recall=0.8; exit 1 when missed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run ids as JSON.")] = False,
    queue: Annotated[bool, typer.Option(
        help="Fan the rows out to `ragloom worker` processes (the shared database's task "
        "queue) and wait for them.")] = False,
) -> None:
    """Run a suite over each variant; store every row; print the summary; apply the gate."""
    from ragloom.evals.runs import JudgeOptions, get_run, run_suite, variants_from
    from ragloom.evals.suites import load_suite
    from ragloom.evals.summary import failed_thresholds, parse_thresholds

    try:
        gate = parse_thresholds(fail_under)
    except ValueError as exc:
        raise ConfigError(f"bad --fail-under: {exc}", fix="use METRIC=VALUE,METRIC=VALUE") from None
    spec = load_suite(suite)
    if metrics:
        spec = spec.with_metrics([m.strip() for m in metrics.split(",") if m.strip()])
    unknown = [m for m in gate if m not in spec.metrics]
    if unknown:
        raise ConfigError(f"--fail-under names metrics the suite does not compute: {unknown}",
                          fix=f"use some of {', '.join(spec.metrics)}")
    settings = settings_of(ctx)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=as_json) as bar:
        tasks: dict[str, Any] = {}

        def on_progress(p: Any) -> None:
            if p.run_id not in tasks:
                tasks[p.run_id] = bar.add_task(p.variant, total=p.total)
            bar.update(tasks[p.run_id], completed=p.done,
                       description=f"{p.variant}: {p.message or p.phase}")

        if queue:
            ids = _queued(suite, settings, variants_from(prompt, graph) or None, limit,
                          [m.strip() for m in metrics.split(",")] if metrics else None, bar)
        else:
            ids = run_suite(spec, settings, variants_from(prompt, graph) or None, limit=limit,
                            concurrency=concurrency, repeats=repeats, resume=resume,
                            progress=on_progress,
                            judge=JudgeOptions(spec=judge, timeout_s=judge_timeout))
    thresholds = {**spec.thresholds, **gate}
    missed_any = False
    for run_id in ids:
        result = get_run(settings, run_id)
        if not as_json:
            print_summary(result)
        missed = failed_thresholds(result["summary"], thresholds)
        if missed:
            missed_any = True
            err.print(f"run {run_id} missed the gate: " + "; ".join(missed), highlight=False)
    if as_json:
        out.print_json(json.dumps({"runs": ids}))
    if missed_any:
        raise typer.Exit(1)


def _queued(suite: str, settings: Any, variants: Any, limit: int | None,
            metrics: list[str] | None, bar: Progress) -> list[str]:
    """Queue one task per row, then follow the runs until every row is stored."""
    import time

    from ragloom.evals.store import RunStore
    from ragloom.queue import enqueue_suite

    ids = enqueue_suite(suite, settings, variants, limit, metrics)
    store = RunStore.for_settings(settings)
    progress = {run_id: bar.add_task(run_id, total=store.run_info(run_id)["config"]["rows"])
                for run_id in ids}
    pending = set(ids)
    while pending:
        for run_id in sorted(pending):
            info = store.run_info(run_id)
            bar.update(progress[run_id], completed=info["row_count"],
                       description=f"{info['variant']}: {info['status']} (on the workers)")
            if info["status"] in ("done", "failed", "cancelled"):
                pending.discard(run_id)
        time.sleep(0.5)
    return ids


@eval_app.command("cancel")
def cancel(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or its unique suffix).")],
) -> None:
    """Cancel a queued or running run: whoever answers it (this machine, the web app, the
    workers) stops before its next row; finished rows stay, and `eval run --resume` continues."""
    from ragloom.evals.store import RunStore

    run = RunStore.for_settings(settings_of(ctx)).cancel(run_id)
    out.print(f"cancelled run {run['id']} ({run['suite']}, {run['variant']}) after "
              f"{run['row_count']} row(s)", highlight=False)


@eval_app.command("list")
def list_(
    ctx: typer.Context,
    suite: Annotated[str | None, typer.Option(help="Only this suite's runs.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
) -> None:
    """Past runs, newest first."""
    from ragloom.evals.runs import list_runs

    runs = list_runs(settings_of(ctx), suite, limit)
    if as_json:
        out.print_json(json.dumps(runs, default=str))
        return
    table = Table("suite", "variant", "started", "status", "rows", "judge")
    table.columns.insert(0, Column("run", no_wrap=True))  # ids are what the user copies
    for r in runs:
        when = datetime.datetime.fromtimestamp(r["created"]).strftime("%m-%d %H:%M")
        table.add_row(r["id"], r["suite"], r["variant"], when, r["status"], str(r["row_count"]),
                      str(r["config"].get("models", {}).get("judge")))
    out.print(table)


@eval_app.command("suites")
def suites() -> None:
    """The shipped suites."""
    from ragloom.evals.suites import list_suites, load_suite

    for name in list_suites():
        out.print(f"{name:12} {load_suite(name).description}", highlight=False)


@eval_app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or its unique suffix).")],
    rows: Annotated[bool, typer.Option(help="Also print every row.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The whole run as JSON.")] = False,
) -> None:
    """A run's summary (and rows)."""
    from ragloom.evals.runs import get_run

    result = get_run(settings_of(ctx), run_id)
    if as_json:
        out.print_json(json.dumps(result, default=str))
        return
    print_summary(result)
    for row in result["rows"] if rows else []:
        scores = " ".join(f"{m}={_fmt(s.get('value'), 2)}" for m, s in row["scores"].items())
        out.print(f"{row['id']}: {row['question']}\n  → {row.get('answer') or row.get('error')}"
                  f"\n  {scores}", highlight=False, markup=False)


@eval_app.command("compare")
def compare(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="Baseline run.")],
    run_b: Annotated[str, typer.Argument(help="Candidate run.")],
    top: Annotated[int, typer.Option(help="How many most-changed rows to show.")] = 5,
) -> None:
    """Per-metric means, B - A with paired bootstrap 95% intervals, rows that changed most."""
    from ragloom.evals.compare import compare_runs

    cmp = compare_runs(settings_of(ctx), run_a, run_b, top=top)
    a, b = cmp.run_a, cmp.run_b
    table = Table(Column("metric", no_wrap=True), f"A {a['variant']}", f"B {b['variant']}",
                  Column("B - A", no_wrap=True), Column("95% CI", no_wrap=True), "paired",
                  Column("verdict", no_wrap=True), title=f"A = {a['id']}   B = {b['id']}")
    colour = {"better": "green", "worse": "red"}
    for d in cmp.metrics:
        verdict = f"[{colour[d.verdict]}]{d.verdict}[/]" if d.verdict in colour else d.verdict
        table.add_row(d.metric, _fmt(d.mean_a), _fmt(d.mean_b),
                      "N/A" if d.delta is None else f"{d.delta:+.3f}", _ci(d.ci95),
                      str(d.paired), verdict)
    out.print(table)
    for warning in cmp.warnings:
        err.print(f"warning: {warning}", highlight=False)
    if cmp.rows:
        rows = Table("row", "question", "changes (A → B)", title="Rows that changed most")
        for c in cmp.rows:
            rows.add_row(c.row_id[:24], c.question[:60], ", ".join(
                f"{m} {x:.2f}→{y:.2f}" for m, (x, y) in c.changes.items() if x != y))
        out.print(rows)


@eval_app.command("report")
def report(
    ctx: typer.Context,
    run_ids: Annotated[list[str], typer.Argument(help="Runs; the first is the baseline.")],
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML report.")],
) -> None:
    """A self-contained HTML report (plots work offline)."""
    from ragloom.evals.report import write_html_report

    path = write_html_report(settings_of(ctx), run_ids, html)
    out.print(f"wrote {path} ({path.stat().st_size // 1024} KiB)", highlight=False)


@dataset_app.command("from-feedback")
def from_feedback(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.")],
    rating: Annotated[str | None, typer.Option(help="up or down (default: both).")] = None,
) -> None:
    """Rated answers (UI/API thumbs) as suite rows; thumbs-down rows need a reference written."""
    from ragloom.evals.feedback import rows_from_feedback
    from ragloom.evals.suites import write_rows

    rows = rows_from_feedback(settings_of(ctx), rating)
    write_rows(rows, output)
    out.print(f"wrote {len(rows)} row(s) to {output}", highlight=False)


@eval_app.command("generate")
def generate(
    ctx: typer.Context,
    collection: Annotated[str, typer.Argument(help="Collection to write questions from.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many questions.")] = 50,
    seed: Annotated[int, typer.Option(help="Which chunks are picked.")] = 0,
) -> None:
    """Synthetic question/reference pairs from a collection (rows marked synthetic: true)."""
    from ragloom.evals.generate import generate_rows
    from ragloom.evals.suites import write_rows

    with err.status("writing questions…") as status:
        rows = generate_rows(settings_of(ctx), collection, n, seed=seed,
                             progress=lambda i, t: status.update(f"writing questions… {i}/{t}"))
    write_rows(rows, output)
    out.print(f"wrote {len(rows)} synthetic row(s) to {output}", highlight=False)
