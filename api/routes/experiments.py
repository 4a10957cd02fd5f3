"""Live experiments on prompts: start, list, report per variant, stop (admin keys, audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ragloom.api.deps import Caller, Service, require_admin

router = APIRouter(prefix="/experiments", tags=["experiments"])


class NewExperiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str = Field("answer", pattern=r"^[a-z][a-z0-9_-]{0,40}$")
    variants: list[str] = Field(min_length=2, max_length=8, description="LABEL=WEIGHT or "
                                "VERSION=WEIGHT, e.g. [\"production=90\", \"5=10\"].")


def _describe(exp: Any) -> dict[str, Any]:
    return {"id": exp.id, "prompt": exp.prompt, "status": exp.status, "created": exp.created,
            "stopped": exp.stopped, "variants": [v.__dict__ for v in exp.variants]}


@router.post("", status_code=201, summary="Split a prompt's traffic between versions")
def start(body: NewExperiment, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.experiments import ExperimentStore, parse_variants
    from ragloom.prompts import prompt_store

    require_admin(who, "start experiments")
    variants = parse_variants(body.prompt, body.variants)
    for v in variants:  # a variant that cannot be served fails now, not on a user's question
        prompt_store(svc.settings).checked(v.ref)
    store = ExperimentStore.for_settings(svc.settings)
    try:
        exp = store.start(body.prompt, variants)
    finally:
        store.close()
    svc.audit.record(who, "experiment.start", target=exp.id, prompt=body.prompt,
                     variants=body.variants)
    return _describe(exp)


@router.get("", summary="Experiments, newest first")
def list_experiments(svc: Service, who: Caller) -> list[dict[str, Any]]:
    from ragloom.evals.experiments import ExperimentStore

    require_admin(who, "read experiments")
    store = ExperimentStore.for_settings(svc.settings)
    try:
        return [_describe(e) for e in store.list()]
    finally:
        store.close()


@router.get("/{ref}/report", summary="Per-variant answers, refusals, citations, latency, thumbs")
def report(ref: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.experiments import report as build

    require_admin(who, "read experiments")
    return build(svc.settings, ref)


@router.post("/{ref}/stop", summary="End an experiment (every question gets the label again)")
def stop(ref: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.experiments import ExperimentStore

    require_admin(who, "stop experiments")
    store = ExperimentStore.for_settings(svc.settings)
    try:
        exp = store.stop(ref)
    finally:
        store.close()
    svc.audit.record(who, "experiment.stop", target=exp.id)
    return _describe(exp)
