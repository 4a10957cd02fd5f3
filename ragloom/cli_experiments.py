"""`ragloom experiments`: split a prompt's traffic between versions, report, stop (and promote)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from ragloom.console import out, settings_of

experiments_app = typer.Typer(help="Live experiments: a prompt's traffic split between versions.",
                              no_args_is_help=True)


def _store(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from ragloom.evals.experiments import ExperimentStore

    return ExperimentStore.for_settings(settings_of(ctx))


@experiments_app.command("start")
def start(ctx: typer.Context, prompt: str,
          variant: Annotated[list[str], typer.Option(
              help="LABEL=WEIGHT or VERSION=WEIGHT, repeatable (production=90, 5=10).")]) -> None:
    """Split the prompt's traffic: each conversation / API key / web session keeps one variant."""
    from ragloom.evals.experiments import parse_variants
    from ragloom.prompts import prompt_store

    variants = parse_variants(prompt, variant)
    for v in variants:  # a variant that cannot be served fails now, not on a user's question
        prompt_store(settings_of(ctx)).checked(v.ref)
    exp = _store(ctx).start(prompt, variants)
    out.print(f"started experiment {exp.id} on '{prompt}': "
              + ", ".join(f"{v.name} ({v.ref}) {v.weight}" for v in exp.variants), highlight=False)


@experiments_app.command("list")
def list_experiments(ctx: typer.Context) -> None:
    """Experiments, newest first."""
    for exp in _store(ctx).list():
        out.print(f"{exp.id}  {exp.prompt:10} {exp.status:8} "
                  + ", ".join(f"{v.name}={v.weight}" for v in exp.variants), highlight=False)


def _rate(r: dict) -> str:  # type: ignore[type-arg]
    if r["value"] is None:
        return "–"
    lo, hi = r["ci95"]
    return f"{r['value']:.2f} [{lo:.2f}, {hi:.2f}] n={r['n']}"


@experiments_app.command("report")
def report(ctx: typer.Context, ref: Annotated[str, typer.Argument(
               help="Experiment id, or a prompt name (its running or newest experiment).")],
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per variant: answers, refusal rate, citations valid, grounded, latency, 👍 share (95% CI)."""
    from ragloom.evals.experiments import report as build

    result = build(settings_of(ctx), ref)
    if as_json:
        out.print_json(json.dumps(result))
        return
    table = Table("variant", "answers", "refusals", "citations valid", "grounded",
                  "latency s (median, mean [95% CI])", "👍 share", "tokens / answer", "cost",
                  title=f"experiment {result['id']} on '{result['prompt']}' ({result['status']})")
    for v in result["variants"]:
        lat = v["latency_s"]
        latency = "–" if lat["median"] is None else (
            f"{lat['median']:.2f}, {lat['mean']:.2f}"
            + (f" [{lat['ci95'][0]:.2f}, {lat['ci95'][1]:.2f}]" if lat["ci95"] else ""))
        table.add_row(f"{v['name']} ({v['ref']})", str(v["answers"]), _rate(v["refusal_rate"]),
                      _rate(v["citations_valid"]), _rate(v["grounded_rate"]), latency,
                      _rate(v["thumbs_up"]), *_usage_cells(v["usage"]))
    out.print(table)


def _usage_cells(usage: dict[str, Any]) -> tuple[str, str]:
    """Mean tokens per answer that recorded usage, and the estimated total cost."""
    if not usage["answers"]:
        return "–", "–"
    cost = "not priced" if usage["cost_usd"] is None else f"${usage['cost_usd']:.4f}"
    return f"{usage['total_tokens'] / usage['answers']:,.0f}", cost


@experiments_app.command("stop")
def stop(ctx: typer.Context, ref: str,
         promote: Annotated[str | None, typer.Option(
             help="Then move the label to this variant's version (through --gate if given).")
                            ] = None,
         label: Annotated[str, typer.Option(help="The label --promote moves.")] = "production",
         gate: Annotated[str | None, typer.Option(help="Suite whose gate the winner must pass.")
                         ] = None) -> None:
    """End the experiment; with --promote VARIANT, promote the winner like `prompts promote`."""
    from ragloom.cli_prompts import promote as promote_version
    from ragloom.prompts import prompt_store

    exp = _store(ctx).stop(ref)
    out.print(f"stopped experiment {exp.id}", highlight=False)
    if promote is None:
        return
    winner = next((v for v in exp.variants if v.name == promote), None)
    if winner is None:
        raise typer.BadParameter(f"no variant {promote!r}; the variants are "
                                 + ", ".join(v.name for v in exp.variants), param_hint="--promote")
    _, version = prompt_store(settings_of(ctx)).resolve(winner.ref)
    promote_version(ctx, exp.prompt, version, label_name=label, gate=gate, limit=None,
                    fresh=False, force=False, as_json=False)
