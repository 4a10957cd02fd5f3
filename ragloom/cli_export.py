"""`ragloom export`: fine-tuning data from rated (and reviewed) answers."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer

from ragloom.console import err, out, settings_of

export_app = typer.Typer(help="Export data for fine-tuning.", no_args_is_help=True)


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        err.print(f"error: --since {value!r} is not a date. Fix: use YYYY-MM-DD")
        raise typer.Exit(2) from None
    return datetime.datetime.combine(day, datetime.time(), datetime.UTC).timestamp()


@export_app.command("finetune")
def finetune(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to write.")],
    rating: Annotated[str | None, typer.Option(
        help="up (👍 answers), down (👎 answers a reviewer corrected) or both.")] = "up",
    since: Annotated[str | None, typer.Option(help="Only ratings from this day (YYYY-MM-DD).")
                     ] = None,
    preference: Annotated[bool, typer.Option(
        "--preference", help="chosen/rejected pairs (a 👍 and a 👎 answer to one question) "
        "instead of chat examples.")] = False,
) -> None:
    """Chat-format JSONL (system, user with the sources as the model saw them, assistant) with
    the prompt version and model of each example; reviewer corrections replace answers."""
    from ragloom.evals.export import finetune_examples, preference_pairs, write_jsonl

    settings = settings_of(ctx)
    skipped: list[tuple[str, str]] = []
    items = (preference_pairs(settings, _since(since)) if preference
             else finetune_examples(settings, None if rating == "both" else rating,
                                    _since(since), skipped))
    n = write_jsonl(items, output)
    for trace_id, why in skipped:
        err.print(f"skipped trace {trace_id}: {why}", highlight=False)
    out.print(f"wrote {n} {'pair' if preference else 'example'}(s) to {output}", highlight=False)
