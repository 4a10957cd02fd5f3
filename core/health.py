"""Health checks for each configured model and the store: what works, and what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from ragloom.core.artifacts import Artifact, is_verified
from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
from ragloom.core.errors import RagloomError
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings


@dataclass(frozen=True)
class Check:
    component: str
    ok: bool
    detail: str
    fix: str = ""


def _local(role: str, spec: ModelSpec, settings: Settings) -> Check:
    needed: tuple[Artifact, ...] | None
    if role == "embedding":
        needed = LOCAL_EMBEDDING.get(spec.model)
    elif spec.model in LOCAL_CHAT:
        needed = (LOCAL_CHAT[spec.model],)
    else:  # a GGUF file given by path
        needed = () if Path(spec.model).expanduser().is_file() else None
    if needed is None:
        return Check(f"{role}: {spec}", False, "unknown local model or missing file",
                     "see `ragloom models list`")
    missing = [a.name for a in needed if not is_verified(a, settings.model_cache)]
    if missing:
        return Check(f"{role}: {spec}", False, f"not fetched yet: {', '.join(missing)}",
                     "run `ragloom models pull` (or it is fetched on first use)")
    return Check(f"{role}: {spec}", True, f"embedded, verified in {settings.model_cache}")


def _ollama(role: str, spec: ModelSpec, settings: Settings) -> Check:
    host = settings.ollama.host.rstrip("/")
    try:
        resp = httpx.get(f"{host}/api/tags", timeout=3.0)
        resp.raise_for_status()
        names = {m.get("name", "") for m in resp.json().get("models", [])}
    except (httpx.HTTPError, ValueError) as exc:
        return Check(f"{role}: {spec}", False, f"cannot reach Ollama at {host} ({exc})",
                     "start `ollama serve` or set RAGLOOM_OLLAMA__HOST")
    if spec.model not in names and f"{spec.model}:latest" not in names:
        return Check(f"{role}: {spec}", False, f"Ollama at {host} does not have '{spec.model}'",
                     f"run `ollama pull {spec.model}`")
    return Check(f"{role}: {spec}", True, f"served by Ollama at {host}")


def _openai(role: str, spec: ModelSpec, settings: Settings) -> Check:
    base = (settings.openai.base_url or "https://api.openai.com/v1").rstrip("/")
    key = settings.openai.api_key.get_secret_value() if settings.openai.api_key else "not-needed"
    try:
        resp = httpx.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=5.0)
        resp.raise_for_status()
        ids = {m.get("id") for m in resp.json().get("data", [])}
    except (httpx.HTTPError, ValueError) as exc:
        return Check(f"{role}: {spec}", False, f"cannot reach {base} ({exc})",
                     "check RAGLOOM_OPENAI__BASE_URL and RAGLOOM_OPENAI__API_KEY")
    if ids and spec.model not in ids:
        return Check(f"{role}: {spec}", False, f"{base} does not list '{spec.model}'",
                     f"available: {', '.join(sorted(map(str, ids))[:8])}")
    return Check(f"{role}: {spec}", True, f"served by {base}")


def check_model(role: str, text: str, settings: Settings) -> Check:
    try:
        spec = ModelSpec.parse(text)
    except RagloomError as exc:
        return Check(f"{role}: {text}", False, exc.what, exc.fix or "")
    return {"local": _local, "ollama": _ollama, "openai": _openai}[spec.provider](
        role, spec, settings)


def check_models(settings: Settings) -> list[Check]:
    roles = {"chat": settings.chat, "embedding": settings.embedding, "judge": settings.judge}
    return [check_model(role, text, settings) for role, text in roles.items()]
