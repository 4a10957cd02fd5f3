"""The ``ragloom`` command line: a thin layer over the same functions the UI and API call."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ragloom import (
    cli_bench,
    cli_data,
    cli_db,
    cli_eval,
    cli_experiments,
    cli_export,
    cli_prompts,
    cli_review,
    cli_serve,
)
from ragloom.cli_models import models_app
from ragloom.console import ChatOption, EmbeddingOption, err, out, settings_of
from ragloom.core import private
from ragloom.core.errors import RagloomError
from ragloom.core.settings import load_settings
from ragloom.ui import launch as ui_launch

app = typer.Typer(help="ragloom: ask questions over your documents, with cited answers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(models_app, name="models")
app.command()(cli_data.ingest)
app.command()(cli_data.reindex)
app.add_typer(cli_data.collections_app, name="collections")
app.add_typer(cli_bench.bench_app, name="bench")
app.add_typer(cli_prompts.prompts_app, name="prompts")
app.add_typer(cli_eval.eval_app, name="eval")
app.add_typer(cli_review.review_app, name="review")
app.add_typer(cli_export.export_app, name="export")
app.add_typer(cli_experiments.experiments_app, name="experiments")
app.command()(cli_serve.serve)
app.add_typer(cli_serve.keys_app, name="keys")
app.add_typer(cli_db.db_app, name="db")
app.command()(cli_db.worker)
app.command("ui")(ui_launch.ui)


@app.callback()
def configure(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(help="A ragloom.toml to read.")] = None,
    chat: ChatOption = None,
    embedding: EmbeddingOption = None,
    home: Annotated[Path | None, typer.Option(help="Data directory (indexes, traces).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    """Settings: defaults < ragloom.toml < RAGLOOM_* environment < these flags."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"settings": load_settings(config, chat=chat, embedding=embedding, home=home)}
    private.tighten(ctx.obj["settings"].home)  # an existing 0755 home from an older version


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search.")] = None,
    prompt: Annotated[list[str] | None, typer.Option(
        help="Pin a prompt version, NAME@VERSION or NAME:LABEL (repeatable), e.g. answer@2.")
                      ] = None,
    graph: Annotated[str | None, typer.Option(
        help="simple, corrective (default), adaptive, or a graph an installed package "
             "declares (entry point group ragloom.graphs).")] = None,
    thread: Annotated[str | None, typer.Option(
        help="Conversation id: follow-up questions in the same thread remember earlier turns.")
                      ] = None,
    where: Annotated[str | None, typer.Option(
        help='Metadata filter as JSON, e.g. \'{"file_type": "pdf", "page": {"$lte": 10}}\'.')
                     ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
    stream: Annotated[bool, typer.Option(help="Stream steps and tokens as they come.")] = False,
    chat: ChatOption = None,
    embedding: EmbeddingOption = None,
) -> None:
    """Answer a question from the collection, with numbered citations."""
    from ragloom.agents.service import Answer, ask_stream, prompt_overrides
    from ragloom.retrieval.where import parse_where

    filters = parse_where(where)  # a bad filter is one line and exit code 2, before any work
    settings = settings_of(ctx, chat=chat, embedding=embedding)
    answer = None
    for kind, value in ask_stream(question, settings, collection=collection, graph=graph,
                                  prompts=prompt_overrides(prompt), thread=thread,
                                  where=filters):
        if kind == "answer":
            answer = value
        elif stream and not as_json:
            if kind == "step":
                err.print(f"[dim]… {value}[/dim]", highlight=False)
            elif kind == "answer-reset":
                out.print()
                err.print(f"[dim]… {value}[/dim]", highlight=False)
            else:
                out.print(value, end="", highlight=False, markup=False)
    assert isinstance(answer, Answer)
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    if stream:
        out.print()
    else:
        out.print(answer.answer, highlight=False, markup=False)
    _print_sources(answer)


def verdict_line(answer: Any) -> str:
    """"grounded · 2/2 claims supported", "not verified · 1/3 claims supported", "unchecked"."""
    check = {True: "grounded", False: "not verified", None: "unchecked"}[answer.grounded]
    if answer.claims:
        check += f" · {sum(c.supported for c in answer.claims)}/{len(answer.claims)} claims supported"
    return check


def _print_sources(answer: Any) -> None:
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        out.print(f"  [{c.n}] {c.source}{page} (chunk {c.chunk_index})", highlight=False,
                  markup=False)
    for claim in answer.claims:  # name what no source supports, and why
        if not claim.supported:
            why = ", ".join(claim.missing[:5]) or "no source supports it"
            out.print(f"  not verified: {claim.text} (missing: {why})", highlight=False,
                      markup=False)
    calls = sum(answer.model_calls.values())
    check = verdict_line(answer)
    u = answer.usage
    tokens = f"{u.total_tokens:,} tokens" + ("" if u.cost_usd is None or not u.cost_usd
                                             else f" (${u.cost_usd:.4f})") + " · " if u.calls else ""
    out.print(f"[dim]{answer.graph} · {check} · {calls} model call(s) · {tokens}"
              f"{' '.join(answer.prompts.values()) or 'no prompt'} · {answer.models['chat']} · "
              f"{answer.timings['total']:.1f}s · trace {answer.trace_id}[/dim]", highlight=False)


@app.command()
def trace(
    ctx: typer.Context,
    trace_id: Annotated[str | None, typer.Argument(help="Trace id (printed after each answer); "
                                                   "none: list the recent traces.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Also print each model call's messages "
                                       "and completion, and each chunk's text.")] = False,
    search: Annotated[str | None, typer.Option(help="List: text in the question or answer.")
                      ] = None,
    collection: Annotated[str | None, typer.Option(help="List: only this collection.")] = None,
    graph: Annotated[str | None, typer.Option(help="List: only this graph.")] = None,
    rating: Annotated[str | None, typer.Option(help="List: up, down or unrated.")] = None,
    refused: Annotated[bool | None, typer.Option("--refused/--answered",
                                                 help="List: only refusals, or only answers.")
                       ] = None,
    limit: Annotated[int, typer.Option(help="List: how many.")] = 20,
) -> None:
    """Show how an answer was made: a timeline of steps, each model call (tokens, latency, with
    --full its prompt and completion), the chunks with their scores, kept and cited."""
    import datetime
    import json

    from ragloom.agents.service import get_trace, search_traces
    from ragloom.agents.trace_rows import call_rows, chunk_rows, timeline_rows
    from ragloom.core.errors import ConfigError

    settings = settings_of(ctx)
    if trace_id is None:
        if rating not in (None, "up", "down", "unrated"):
            raise ConfigError(f"rating '{rating}' is not up, down or unrated")
        for t in search_traces(settings, text=search, collection=collection, graph=graph,
                               rating=rating, refused=refused, limit=limit):
            when = datetime.datetime.fromtimestamp(t["created"]).strftime("%Y-%m-%d %H:%M")
            marks = " ".join(m for m in (t["rating"] and f"[{t['rating']}]",
                                         t["refused"] and "[refused]") if m)
            out.print(f"{t['id']}  {when}  {t['collection']:12} {t['graph']:10}  {t['question']}"
                      f"{'  ' + marks if marks else ''}", highlight=False, markup=False)
        return
    t = get_trace(settings, trace_id)
    if as_json:
        out.print_json(json.dumps(t))
        return

    def say(text: str) -> None:
        out.print(text, highlight=False, markup=False)

    say(f"question: {t['question']}\nanswer:   {t['answer']}")
    verdict = ("refused" if t.get("refused") else "grounded" if t.get("grounded")
               else "not grounded" if t.get("grounded") is False else "not checked")
    say(f"graph {t['graph']} · route {t.get('route')} · collection {t['collection']} · {verdict} "
        f"· prompts {', '.join(t.get('prompts', {}).values())}")
    if (usage := t.get("usage")) and usage.get("calls"):
        from ragloom.core.models.usage import usage_line

        say(f"usage: {usage_line(usage)}")
    say("timeline:")
    for r in timeline_rows(t):
        say(f"  {r['start_s']:7.2f}s +{r['seconds']:6.2f}s  {r['step']:22} {r['detail']}"[:220])
    calls = call_rows(t)
    if calls:
        say("model calls:")
    for c in calls:
        counts = (f"{c['prompt tokens']:,} + {c['completion tokens']:,} tokens"
                  if c["prompt tokens"] is not None else "not counted by the provider")
        cost = "not priced" if c["cost $"] is None else f"${c['cost $']:.6f}"
        secs = f"{c['seconds']:.2f}s" if c["seconds"] is not None else "–"
        say(f"  {c['n']}. {c['step']:22} {c['model']}  {counts}  {secs}  {cost}")
        if full:
            for m in c["messages"]:
                say(f"     [{m['role']}] {m['content']}")
            if c["completion"] is not None:
                say(f"     [completion] {c['completion']}")
    chunks = chunk_rows(t)
    if chunks:
        say("chunks (score: cosine similarity to the query; fused: rank fusion, hybrid order):")
    for r in chunks:
        marks = " ".join(m for m, on in (("kept", r["kept"]), ("cited", r["cited"])) if on)
        fused = f" fused {r['fused']}" if r["fused"] is not None else ""
        say(f"  {r['rank']:2}. score {r['score']:.3f}{fused}  {r['source']} p{r['page']}  {marks}")
        if full and r["text"]:
            say("      " + r["text"].replace("\n", "\n      "))


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check each configured model and the store; say what works and what to fix."""
    from ragloom.core.health import check_models
    from ragloom.retrieval.store import check_store

    settings = settings_of(ctx)
    checks = [*check_models(settings), check_store(settings)]
    for c in checks:
        mark = "[green]ok[/green]  " if c.ok else "[red]FAIL[/red]"
        out.print(f"{mark} {c.component}: {c.detail}", highlight=False)
        if c.fix:
            out.print(f"       fix: {c.fix}", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def main() -> None:
    private.restrict_new_files()  # what Chroma, SQLite and bm25s write under home: 0600/0700
    try:
        app()
    except RagloomError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

