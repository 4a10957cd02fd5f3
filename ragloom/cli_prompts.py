"""`ragloom prompts`: list, show, new, diff, label, promote (evaluation-gated), rollback, archive,
render."""

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
        hidden = store.archived(name)
        archived = f" (archived: {', '.join(map(str, sorted(hidden)))})" if hidden else ""
        out.print(f"{name:10} versions {', '.join(map(str, store.active_versions(name))):12} "
                  f"{labels}{archived}", highlight=False)


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


@prompts_app.command("promote")
def promote(
    ctx: typer.Context, name: str, version: int,
    label_name: Annotated[str, typer.Option("--label", help="The label to move.")] = "production",
    gate: Annotated[str | None, typer.Option(
        help="Suite (name or YAML) whose gate: rules the version must pass against the one the "
        "label points to now.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N rows of the suite.")] = None,
    fresh: Annotated[bool, typer.Option(
        help="Run both versions again even if finished runs of them can be reused.")] = False,
    force: Annotated[bool, typer.Option(
        help="Promote even if the gate refuses (the audit log records it).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the gate's result as JSON.")
                       ] = False,
) -> None:
    """Move a label to a version, after an evaluation gate (--gate SUITE) says it is no worse."""
    import getpass
    import json

    from ragloom.api.audit import audit_log
    from ragloom.api.keys import Principal
    from ragloom.console import err
    from ragloom.evals.gate import gate_promotion
    from ragloom.evals.suites import load_suite
    from ragloom.prompts.authoring import set_label

    settings = settings_of(ctx)
    result = None
    if gate:
        result = gate_promotion(settings, load_suite(gate), name, version, label_name,
                                limit=limit, reuse=not fresh,
                                progress=lambda p: err.print(p.message, highlight=False)
                                if p.phase in ("collection", "done") else None)
        if as_json:
            out.print_json(json.dumps(result.to_json()))
        else:
            _print_gate(result)
    passed = result is None or result.passed
    who = Principal(id="cli", name=f"ragloom CLI ({getpass.getuser()})", role="admin")
    log = audit_log(settings)
    try:
        if not passed and not force:
            log.record(who, "prompt.promote", target=f"{name}@{version}",
                       outcome="refused", label=label_name, gate=gate)
            err.print(f"refused: {name}@{version} does not pass the gate of suite '{gate}'; "
                      f"{name}:{label_name} stays at {result.current}. Fix: improve the version, "
                      "or --force to promote anyway (recorded in the audit log)", highlight=False)
            raise typer.Exit(1)
        before = set_label(_store(ctx), name, label_name, version)
        log.record(who, "prompt.promote", target=f"{name}@{version}",
                   outcome="ok" if passed else "forced", label=label_name, gate=gate,
                   previous=before, runs=result.runs if result else {})
    finally:
        log.close()
    note = "" if passed else " (FORCED past a refusing gate)"
    out.print(f"{name}:{label_name} {before if before is not None else '–'} → {version}{note}",
              highlight=False)


def _print_gate(result) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table

    from ragloom.console import err

    if not result.checks:
        err.print(f"gate: {result.prompt}:{result.label} points to "
                  f"{result.current if result.current is not None else 'nothing'}: nothing to "
                  "compare against", highlight=False)
        return
    table = Table(title=f"gate {result.suite}: {result.prompt}@{result.current} (current) → "
                  f"@{result.candidate} (candidate)")
    for column in ("metric", "current", "candidate", "Δ", "95% CI", "margin", "n", "verdict"):
        table.add_column(column)
    for c in result.checks:
        d = c.delta

        def num(x: float | None) -> str:
            return "–" if x is None else f"{x:.3f}"

        table.add_row(c.rule.metric, num(d.mean_a if d else None), num(d.mean_b if d else None),
                      "–" if not d or d.delta is None else f"{d.delta:+.3f}",
                      "–" if not d or not d.ci95 else f"[{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]",
                      f"{c.rule.margin:.3f}", str(d.paired if d else 0),
                      ("pass" if c.passed else "FAIL") + f": {c.reason}")
    out.print(table)
    out.print(f"runs: current {result.runs['current']}, candidate {result.runs['candidate']}",
              highlight=False)


@prompts_app.command("rollback")
def rollback(ctx: typer.Context, name: str,
             label_name: Annotated[str, typer.Argument(metavar="LABEL")] = "production") -> None:
    """Move a label back to the version it pointed to before."""
    from ragloom.prompts.authoring import rollback as run_rollback

    current, target = run_rollback(_store(ctx), name, label_name)
    out.print(f"{name}:{label_name} {current} → {target}", highlight=False)


@prompts_app.command("archive")
def archive(ctx: typer.Context, name: str, version: int,
            undo: Annotated[bool, typer.Option("--undo", help="Show it in pickers again.")] = False
            ) -> None:
    """Hide a bad version from the pickers; it stays readable (history, diffs, old runs)."""
    from ragloom.prompts.authoring import archive as run_archive

    run_archive(_store(ctx), name, version, undo=undo)
    out.print(f"{name}@{version} {'unarchived' if undo else 'archived'}", highlight=False)


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
