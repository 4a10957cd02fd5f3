"""`ragloom review`: the queue of answers to look at, accepted into a suite's dataset or discarded."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from ragloom.console import err, out, settings_of

review_app = typer.Typer(help="Review thumbs-down answers and low-scoring evaluation rows; "
                         "accept corrected references into a suite's dataset.",
                         no_args_is_help=True)


def _queue(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from ragloom.evals.review import ReviewQueue

    return ReviewQueue.for_settings(settings_of(ctx))


@review_app.command("list")
def list_items(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, accepted, discarded or all.")] = "open",
    collect_first: Annotated[bool, typer.Option(
        "--collect/--no-collect", help="First bring in new thumbs-down answers and low rows.")
                             ] = True,
) -> None:
    """The queue, newest first (new thumbs-down answers and low-scoring rows are collected first)."""
    from ragloom.evals.review import STATUSES, collect

    if status != "all" and status not in STATUSES:
        err.print(f"error: unknown status '{status}'. Fix: use one of {', '.join(STATUSES)}, all")
        raise typer.Exit(2)
    queue = _queue(ctx)
    if collect_first:
        added = collect(settings_of(ctx), queue)
        if added:
            err.print(f"collected {added} new item(s)")
    table = Table("id", "kind", "status", "question", "answer", "why")
    for item in queue.items(None if status == "all" else status):
        table.add_row(item["id"], item["kind"], item["status"], (item["question"] or "")[:60],
                      (item.get("answer") or "")[:60], (item.get("comment") or "")[:60])
    out.print(table)


@review_app.command("show")
def show(ctx: typer.Context, item_id: str) -> None:
    """One item as JSON: question, answer, comment, sources, trace id, decision."""
    import json

    out.print_json(json.dumps(_queue(ctx).get(item_id)))


@review_app.command("accept")
def accept(
    ctx: typer.Context, item_id: str,
    suite: Annotated[str, typer.Option(help="Suite (name or YAML) whose dataset gets the row.")],
    reference: Annotated[str, typer.Option(help="The right answer, as a reviewer writes it.")],
    gold: Annotated[list[str] | None, typer.Option(
        help="A gold source (file name or record id); repeatable.")] = None,
) -> None:
    """Append the item, with your reference, to the suite's dataset (a new dataset version)."""
    from ragloom.evals.review import accept as run_accept
    from ragloom.evals.suites import load_suite

    decision = run_accept(settings_of(ctx), _queue(ctx), item_id, load_suite(suite), reference,
                          gold or [], reviewer=getpass.getuser())
    out.print(f"accepted {item_id} into suite '{decision['suite']}' as row {decision['row_id']}: "
              f"dataset {decision['dataset_before']} → {decision['dataset_after']}",
              highlight=False)


@review_app.command("discard")
def discard(ctx: typer.Context, item_id: str,
            why: Annotated[str, typer.Option(help="Why it is not worth a row.")] = "") -> None:
    """Drop an item from the queue (it is not collected again)."""
    from ragloom.evals.review import discard as run_discard

    run_discard(_queue(ctx), item_id, reviewer=getpass.getuser(), why=why)
    out.print(f"discarded {item_id}", highlight=False)


@review_app.command("versions")
def versions(ctx: typer.Context, suite: str) -> None:
    """The suite's snapshotted dataset versions, oldest first (runs record theirs)."""
    from ragloom.evals.dataset_versions import versions as list_versions
    from ragloom.evals.suites import load_suite

    for version in list_versions(settings_of(ctx), load_suite(suite)):
        out.print(version, highlight=False)
