"""`ragloom bench`: measure retrieval on the public data sets or a folder of your own data."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ragloom.console import err, out, settings_of

bench_app = typer.Typer(help="Benchmarks on public data sets or your own.", no_args_is_help=True)
DATASET_HELP = ("scifact, hotpotqa, docugami, or the path to a folder in the BEIR or records format "
                "(docs/benchmarks.md, 'Your own data').")


@bench_app.command("retrieval")
def bench_retrieval(
    ctx: typer.Context,
    dataset_arg: Annotated[str | None, typer.Argument(
        metavar="DATASET", help=DATASET_HELP + " Default: scifact.", show_default=False)] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="The same as DATASET (kept for older scripts).")] = None,
    split: Annotated[str, typer.Option(help="A BEIR folder's qrels split "
                                       "(qrels/SPLIT.tsv).")] = "test",
    retriever: Annotated[str, typer.Option(help="dense, bm25 or hybrid.")] = "hybrid",
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Folder holding the named data sets "
                                                  "(default: ../shared/data).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    fail_under: Annotated[list[str] | None, typer.Option(
        help="metric=value floors, e.g. ndcg@10=0.65; exit 1 when one is missed.")] = None,
) -> None:
    """nDCG@10, recall@k, MRR (and all-gold@k / hit@k) plus query latency, with no LLM."""
    from ragloom.core.errors import ConfigError
    from ragloom.evals.retrieval_bench import run_retrieval_bench

    if retriever not in ("dense", "bm25", "hybrid"):
        raise ConfigError(f"unknown retriever '{retriever}'", fix="use dense, bm25 or hybrid")
    if dataset_arg and dataset and dataset_arg != dataset:
        raise ConfigError(f"two data sets given: '{dataset_arg}' and --dataset '{dataset}'",
                          fix="give one of them")
    dataset = dataset_arg or dataset or "scifact"
    with err.status(f"ingesting (once) and querying {dataset}…"):
        result = run_retrieval_bench(settings_of(ctx), dataset, retriever,  # type: ignore[arg-type]
                                     limit=limit, data_dir=data_dir, split=split)
    if as_json:
        out.print_json(json.dumps(asdict(result)))
    else:
        table = Table("metric", "value", title=f"{dataset} · {retriever} · {result.questions} "
                      f"questions · {result.chunks} chunks")
        for name, value in result.metrics.items():
            table.add_row(name, f"{value:.3f}")
        for name, ms in result.latency_ms.items():
            table.add_row(f"latency {name}", f"{ms:.1f} ms")
        out.print(table)
        if result.ingest_s is not None:
            out.print(f"ingested the corpus in {result.ingest_s:.1f}s (cached for later runs)")
    missed = []
    for floor in fail_under or []:
        name, _, value = floor.partition("=")
        if name not in result.metrics:
            raise ConfigError(f"unknown metric '{name}'", fix=f"use {', '.join(result.metrics)}")
        if result.metrics[name] < float(value):
            missed.append(f"{name} {result.metrics[name]:.3f} < {value}")
    if missed:
        err.print("below the floor: " + "; ".join(missed))
        raise typer.Exit(1)
