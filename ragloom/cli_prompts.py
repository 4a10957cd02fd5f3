"""`ragloom prompts`: list, show, new, diff, label, rollback, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from ragloom.console import out, settings_of
from ragloom.core.errors import PromptError

prompts_app = typer.Typer(help="Versioned prompt templates: author, diff, label, roll back.",
                          no_args_is_help=True)


def _store(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from ragloom.prompts import prompt_store

    return prompt_store(settings_of(ctx))


@prompts_app.command("list")
def list_prompts(ctx: typer.Context) -> None:
    """Every prompt with its versions and labels."""
    store = _store(ctx)
    for name in store.names():
        labels = ", ".join(f"{k}→{v}" for k, v in sorted(store.labels(name).items()))
        out.print(f"{name:10} versions {', '.join(map(str, store.versions(name))):12} {labels}",
                  highlight=False)


@prompts_app.command("show")
def show(ctx: typer.Context, ref: Annotated[str, typer.Argument(
        help="NAME, NAME@VERSION or NAME:LABEL")]) -> None:
    """A version's text, variables, parameters and commit message."""
    from ragloom.prompts.authoring import as_text

    version = _store(ctx).get(ref)
    out.print(f"# author {version.author or '?'} · created {version.created or '?'} · "
              f"sha256 {version.sha256[:12]}", highlight=False, markup=False)
    out.print("\n".join(as_text(version)), highlight=False, markup=False)


@prompts_app.command("new")
def new(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. answer.")],
    from_file: Annotated[Path, typer.Option("--from", exists=True, dir_okay=False, help=(
        "A YAML file with messages (and optional variables, params), or a text file used as "
        "one user message."))],
    message: Annotated[str, typer.Option("-m", "--message", help="What changed and why.")],
    author: Annotated[str, typer.Option(help="Who made it.")] = "",
    label: Annotated[str | None, typer.Option(help="Also point this label at it.")] = None,
) -> None:
    """Save a new immutable version (validated first)."""
    from ragloom.prompts.authoring import create_version, set_label

    text = from_file.read_text(encoding="utf-8")
    if from_file.suffix.lower() in (".yaml", ".yml"):
        try:
            spec = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise PromptError(f"not valid YAML: {exc}", subject=str(from_file)) from exc
        if not isinstance(spec, dict):
            raise PromptError("the YAML file must hold a mapping with 'messages'",
                              subject=str(from_file))
        messages, variables, params = spec.get("messages"), spec.get("variables"), spec.get("params")
    else:
        messages, variables, params = [{"role": "user", "content": text}], None, None
    store = _store(ctx)
    version = create_version(store, name, messages, message=message, author=author,
                             variables=variables, params=params)
    out.print(f"saved {version.ref}", highlight=False)
    if label:
        set_label(store, name, label, version.version)
        out.print(f"{label} → {version.ref}", highlight=False)


@prompts_app.command("diff")
def diff(ctx: typer.Context, name: str, a: Annotated[str, typer.Argument(help="Version or label.")],
         b: Annotated[str, typer.Argument(help="Version or label.")]) -> None:
    """Unified diff of two versions' text and parameters."""
    from ragloom.prompts.authoring import diff as run_diff

    out.print(run_diff(_store(ctx), name, a, b) or "no differences", highlight=False, markup=False)


@prompts_app.command("label")
def label(ctx: typer.Context, name: str, version: int,
          label_name: Annotated[str, typer.Argument(metavar="LABEL")]) -> None:
    """Point a label (production, staging, …) at a version."""
    from ragloom.prompts.authoring import set_label

    before = set_label(_store(ctx), name, label_name, version)
    out.print(f"{name}:{label_name} {before if before is not None else '–'} → {version}",
              highlight=False)


@prompts_app.command("rollback")
def rollback(ctx: typer.Context, name: str,
             label_name: Annotated[str, typer.Argument(metavar="LABEL")] = "production") -> None:
    """Move a label back to the version it pointed to before."""
    from ragloom.prompts.authoring import rollback as run_rollback

    current, target = run_rollback(_store(ctx), name, label_name)
    out.print(f"{name}:{label_name} {current} → {target}", highlight=False)


@prompts_app.command("render")
def render(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME:LABEL")],
    var: Annotated[list[str] | None, typer.Option("--var", help="k=v (repeatable).")] = None,
) -> None:
    """Preview a version rendered with sample variables (a missing one is an error)."""
    values = dict(v.partition("=")[::2] for v in var or [])
    for role, text in _store(ctx).get(ref).render(**values):
        out.print(f"--- {role} ---\n{text}", highlight=False, markup=False)
