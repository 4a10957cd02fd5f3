"""Prompt templates: list and show (any key); new versions, labels, rollback (admin keys, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ragloom.api.deps import Caller, Service, require_admin
from ragloom.api.errors import ApiError
from ragloom.prompts import PromptStore, PromptVersion, prompt_store

router = APIRouter(prefix="/prompts", tags=["prompts"])
NamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,40}$")]
LabelPath = Annotated[str, Path(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern=r"^(system|user|assistant)$")
    content: str = Field(min_length=1, max_length=20000)


class NewVersion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[Message] = Field(min_length=1, max_length=20)
    message: str = Field(min_length=1, max_length=500, description="What changed and why.")
    variables: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,40}$",
                              description="Also point this label at the new version.")


class LabelMove(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    gate: str | None = Field(None, max_length=200, description="Move only if this suite's gate: "
                             "rules find no regression against the label's current version (runs "
                             "the suite, or reuses finished runs: may take minutes).")
    limit: int | None = Field(None, ge=1, le=10000, description="Gate on the first N rows.")
    force: bool = Field(False, description="Move even if the gate refuses (audited).")


def _store(svc: Service) -> PromptStore:
    return prompt_store(svc.settings)


def _version(v: PromptVersion) -> dict[str, Any]:
    return {"ref": v.ref, "name": v.name, "version": v.version, "message": v.message,
            "author": v.author, "created": v.created, "sha256": v.sha256,
            "variables": list(v.variables), "params": v.params,
            "messages": [{"role": r, "content": c} for r, c in v.messages]}


@router.get("", summary="Every prompt with its versions and labels")
def list_prompts(svc: Service, who: Caller) -> list[dict[str, Any]]:
    store = _store(svc)
    return [{"name": n, "versions": store.versions(n), "labels": store.labels(n),
             "archived": sorted(store.archived(n))}
            for n in store.names()]


@router.get("/{ref}", summary="One version: NAME, NAME@VERSION or NAME:LABEL")
def show_prompt(ref: Annotated[str, Path(max_length=100)], svc: Service,
                who: Caller) -> dict[str, Any]:
    return _version(_store(svc).get(ref))


@router.get("/{name}/diff", summary="Unified diff of two versions (numbers or labels)")
def diff_prompt(name: NamePath, a: Annotated[str, Query(max_length=40)],
                b: Annotated[str, Query(max_length=40)], svc: Service,
                who: Caller) -> dict[str, str]:
    from ragloom.prompts.authoring import diff

    return {"diff": diff(_store(svc), name, a, b)}


@router.post("/{name}/versions", status_code=201, summary="Save a new validated version")
def new_version(name: NamePath, body: NewVersion, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.prompts.authoring import create_version, set_label

    require_admin(who, "author prompts")
    store = _store(svc)
    version = create_version(store, name, [m.model_dump() for m in body.messages],
                             message=body.message, author=f"api:{who.name}",
                             variables=body.variables, params=body.params)
    svc.audit.record(who, "prompt.create", target=version.ref, message=body.message,
                     sha256=version.sha256)
    if body.label:
        before = set_label(store, name, body.label, version.version)
        svc.audit.record(who, "prompt.label", target=f"{name}:{body.label}",
                         version=version.version, previous=before)
    return _version(version)


@router.put("/{name}/labels/{label}", summary="Point a label (e.g. production) at a version")
def move_label(name: NamePath, label: LabelPath, body: LabelMove, svc: Service,
               who: Caller) -> dict[str, Any]:
    from ragloom.prompts.authoring import set_label

    require_admin(who, "label prompts")
    gate = None
    if body.gate:
        from ragloom.evals.gate import gate_promotion
        from ragloom.evals.suites import load_suite

        gate = gate_promotion(svc.settings, load_suite(body.gate), name, body.version, label,
                              limit=body.limit)
        if not gate.passed and not body.force:
            svc.audit.record(who, "prompt.promote", target=f"{name}@{body.version}",
                             outcome="refused", label=label, gate=body.gate, runs=gate.runs)
            raise ApiError(409, f"{name}@{body.version} does not pass the gate of suite "
                           f"'{body.gate}'; {name}:{label} stays at {gate.current}",
                           "see gate.checks; improve the version, or send force: true",
                           extra={"gate": gate.to_json()})
    before = set_label(_store(svc), name, label, body.version)
    if gate is None:
        svc.audit.record(who, "prompt.label", target=f"{name}:{label}", version=body.version,
                         previous=before)
    else:
        svc.audit.record(who, "prompt.promote", target=f"{name}@{body.version}",
                         outcome="ok" if gate.passed else "forced", label=label,
                         gate=body.gate, previous=before, runs=gate.runs)
    return {"name": name, "label": label, "version": body.version, "previous": before,
            "gate": gate.to_json() if gate else None}


@router.post("/{name}/labels/{label}/rollback", summary="Move a label back to its previous version")
def rollback_label(name: NamePath, label: LabelPath, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.prompts.authoring import rollback

    require_admin(who, "roll back prompts")
    current, target = rollback(_store(svc), name, label)
    svc.audit.record(who, "prompt.rollback", target=f"{name}:{label}", version=target,
                     previous=current)
    return {"name": name, "label": label, "version": target, "previous": current}
