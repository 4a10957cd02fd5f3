"""The model hub: every model ragloom can use, across providers, in one list.

- ``local``: the embedded catalog (size, licence, SHA-256, fetched and verified or not);
- ``ollama``: the server's ``/api/tags``, each with ``/api/show``'s family, parameters,
  quantization and context length; ``pull_ollama`` streams ``/api/pull``'s progress;
- ``openai``: an OpenAI-compatible server's ``/v1/models`` (OpenAI, vLLM, llama.cpp's server).

A provider that cannot be reached is reported with the reason and the fix, never fatal: the others
are still listed. Fine-tuned models registered with ``register_finetune`` (from a ragloom
fine-tuning export) carry their source; an Ollama model built with an ``ADAPTER`` says so too.
The clients are Ollama's and OpenAI's own Python packages (already there for the chat models).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragloom.core.errors import ConfigError, RagloomError
from ragloom.core.settings import Settings

PROVIDERS = ("local", "ollama", "openai")
_REGISTRY = "finetuned.json"  # under HOME/models: fine-tuned models and where they came from


@dataclass(frozen=True)
class HubModel:
    provider: str
    name: str
    roles: tuple[str, ...]  # "chat", "embedding"; empty when the server does not say
    size_bytes: int | None = None
    installed: bool | None = None  # local: fetched and verified; servers: listed = present
    details: dict[str, Any] = field(default_factory=dict)  # family, parameters, licence, …
    source: str | None = None  # fine-tuned models: what they were trained on

    @property
    def spec(self) -> str:
        return f"{self.provider}/{self.name}"


@dataclass
class Listing:
    models: list[HubModel]
    errors: dict[str, str]  # provider -> why it could not be listed, with the fix


@dataclass(frozen=True)
class PullProgress:
    status: str
    completed: int | None = None
    total: int | None = None


def size_text(n: int | None) -> str:
    """"2.0 GB", "491 MB", or "" when the provider did not say."""
    return "" if n is None else f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


def roles_using(settings: Settings, spec: str) -> list[str]:
    """The configured roles (chat, embedding, judge) that use ``spec`` now."""
    return [r for r in ("chat", "embedding", "judge") if getattr(settings, r) == spec]


# --------------------------------------------------------------------------- local


def local_models(settings: Settings) -> list[HubModel]:
    from ragloom.core.artifacts import is_verified
    from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING

    cache = settings.model_cache
    found = [HubModel("local", name, ("chat",), a.size, is_verified(a, cache),
                      {"licence": a.license, "sha256": a.sha256, "file": a.filename,
                       "format": "gguf"})
             for name, a in LOCAL_CHAT.items()]
    for name, arts in LOCAL_EMBEDDING.items():
        details: dict[str, Any] = {
            "licence": "; ".join(sorted({a.license for a in arts})) or
            "packaged with wordllama (MIT)"}
        if arts:
            details["sha256"] = {a.filename: a.sha256 for a in arts}
        found.append(HubModel("local", name, ("embedding",),
                              sum(a.size for a in arts) if arts else None,
                              all(is_verified(a, cache) for a in arts), details))
    return found


# --------------------------------------------------------------------------- ollama


def _ollama(settings: Settings) -> Any:
    import ollama

    return ollama.Client(host=settings.ollama.host, timeout=settings.ollama.timeout_s)


def _unreachable(provider: str, where: str, exc: Exception, fix: str) -> RagloomError:
    return RagloomError(f"{provider} at {where} could not be reached: {type(exc).__name__}: "
                        f"{exc}"[:300], fix=fix)


def _ollama_error(settings: Settings, exc: Exception) -> RagloomError:
    return _unreachable("Ollama", settings.ollama.host, exc,
                        "start it (`ollama serve`) or set ollama.host / RAGLOOM_OLLAMA__HOST")


def _context_length(model_info: dict[str, Any]) -> int | None:
    """``ARCH.context_length`` in ``/api/show``'s model_info (e.g. ``llama.context_length``)."""
    arch = model_info.get("general.architecture")
    value = model_info.get(f"{arch}.context_length") if arch else None
    if value is None:
        value = next((v for k, v in model_info.items() if k.endswith(".context_length")), None)
    return int(value) if isinstance(value, int | float) else None


def _ollama_roles(show: dict[str, Any]) -> tuple[str, ...]:
    caps = show.get("capabilities") or []
    if "embedding" in caps:
        return ("embedding",)
    return ("chat",) if "completion" in caps else ()


def _ollama_model(name: str, size: int | None, show: dict[str, Any] | None,
                  registry: dict[str, Any]) -> HubModel:
    details: dict[str, Any] = {}
    roles: tuple[str, ...] = ()
    source = (registry.get(f"ollama/{name}") or registry.get(f"ollama/{_base(name)}") or {}
              ).get("source")
    if show is not None:
        d = show.get("details") or {}
        details = {k: v for k, v in {
            "family": d.get("family"), "parameters": d.get("parameter_size"),
            "quantization": d.get("quantization_level"), "format": d.get("format"),
            "context_length": _context_length(show.get("model_info") or {}),
            "capabilities": show.get("capabilities") or None,
            "licence": (show.get("license") or "").strip().split("\n", 1)[0][:80] or None,
        }.items() if v}
        roles = _ollama_roles(show)
        adapter = next((line.split(None, 1)[1] for line in (show.get("modelfile") or "").splitlines()
                        if line.upper().startswith("ADAPTER ") and len(line.split(None, 1)) == 2),
                       None)
        if adapter and not source:
            source = f"fine-tuned: ADAPTER {adapter}"
    return HubModel("ollama", name, roles, size, True, details, source)


def _base(name: str) -> str:
    return name.removesuffix(":latest")


def ollama_models(settings: Settings, *, details: bool = True) -> list[HubModel]:
    client = _ollama(settings)
    try:
        tags = client.list().model_dump(mode="json")["models"]
    except Exception as exc:  # connection refused, timeout, a proxy's HTML
        raise _ollama_error(settings, exc) from exc
    registry = finetuned(settings)
    found = []
    for tag in tags:
        name = tag.get("model") or tag.get("name")
        show = _show(client, name) if details else None
        found.append(_ollama_model(_base(name), tag.get("size"), show, registry))
    return found


def _show(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.show(name).model_dump(mode="json", by_alias=True)
    except Exception:  # a listed model whose details fail is still listed, without them
        return None


def pull_ollama(settings: Settings, name: str,
                on_progress: Callable[[PullProgress], None] | None = None) -> None:
    """Pull ``name`` through Ollama's ``/api/pull``, reporting each progress line."""
    import ollama

    client = _ollama(settings)
    try:
        stream: Iterator[Any] = client.pull(name, stream=True)
        for part in stream:
            if on_progress is not None:
                on_progress(PullProgress(part.status or "", part.completed, part.total))
    except ollama.ResponseError as exc:  # the server answered: unknown model, no space, …
        raise RagloomError(f"Ollama could not pull '{name}': {exc.error}", subject=name,
                           fix="check the name at https://ollama.com/library "
                           "(e.g. llama3.2:3b)") from exc
    except Exception as exc:
        raise _ollama_error(settings, exc) from exc


# --------------------------------------------------------------------------- openai


def openai_models(settings: Settings) -> list[HubModel]:
    import openai

    from ragloom.core.models import _openai_key

    o = settings.openai
    where = o.base_url or "api.openai.com"
    try:
        client = openai.OpenAI(base_url=o.base_url, api_key=_openai_key(settings),
                               timeout=o.timeout_s, max_retries=0)
        listed = list(client.models.list())
    except openai.AuthenticationError as exc:
        raise RagloomError(f"the OpenAI-compatible server at {where} refused the API key",
                           fix="set RAGLOOM_OPENAI__API_KEY (or OPENAI_API_KEY)") from exc
    except Exception as exc:
        raise _unreachable("the OpenAI-compatible server", where, exc,
                           "start it, or set openai.base_url / RAGLOOM_OPENAI__BASE_URL") from exc
    registry = finetuned(settings)
    return [HubModel("openai", m.id, _openai_roles(m.id), None, True,
                     {k: v for k, v in {"owned_by": getattr(m, "owned_by", None)}.items() if v},
                     (registry.get(f"openai/{m.id}") or {}).get("source"))
            for m in sorted(listed, key=lambda m: m.id)]


def _openai_roles(model_id: str) -> tuple[str, ...]:
    """``/v1/models`` says nothing about roles; OpenAI's own names do."""
    return ("embedding",) if "embed" in model_id.lower() else ()


# --------------------------------------------------------------------------- all of them

_LISTERS: dict[str, Callable[[Settings], list[HubModel]]] = {
    "local": local_models, "ollama": ollama_models, "openai": openai_models}


def list_models(settings: Settings, providers: list[str] | None = None) -> Listing:
    """Every provider's models; one that fails is reported in ``errors``, the rest still listed."""
    wanted = providers or list(PROVIDERS)
    unknown = [p for p in wanted if p not in _LISTERS]
    if unknown:
        raise ConfigError(f"no model list for provider {', '.join(unknown)}",
                          fix=f"use {', '.join(PROVIDERS)}")
    models: list[HubModel] = []
    errors: dict[str, str] = {}
    for provider in wanted:
        try:
            models += _LISTERS[provider](settings)
        except RagloomError as exc:
            errors[provider] = str(exc)
    return Listing(models, errors)


def show_model(settings: Settings, spec: str) -> HubModel:
    """One model's entry, by ``provider/model``; an unknown one is a clear error."""
    provider, sep, name = spec.strip().partition("/")
    if not sep or provider not in _LISTERS:
        raise ConfigError(f"'{spec}' is not provider/model", fix=f"use {', '.join(PROVIDERS)}"
                          "/NAME, as `ragloom models list` shows")
    if provider == "ollama":  # one /api/show, not the whole list
        client = _ollama(settings)
        show = _show(client, name)
        if show is None:
            ollama_models(settings, details=False)  # unreachable: raises with the fix
            raise ConfigError(f"Ollama has no model '{name}'", subject=spec,
                              fix=f"`ragloom models pull {spec}`")
        return _ollama_model(_base(name), None, show, finetuned(settings))
    for model in _LISTERS[provider](settings):
        if model.name in (name, _base(name)):
            return model
    raise ConfigError(f"no model '{spec}'", subject=spec, fix="see `ragloom models list`")


# --------------------------------------------------------------------------- fine-tuned


def _registry_path(settings: Settings) -> Path:
    return Path(settings.home) / "models" / _REGISTRY


def finetuned(settings: Settings) -> dict[str, Any]:
    path = _registry_path(settings)
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}  # a damaged registry hides sources; it never hides models


def register_finetune(settings: Settings, spec: str, dataset: Path) -> dict[str, Any]:
    """Record that ``spec`` (a model now served by Ollama or an OpenAI-compatible server) was
    fine-tuned on ``dataset``, a ragloom fine-tuning export: its name, SHA-256 and examples."""
    from ragloom.core.artifacts import sha256_file
    from ragloom.core.private import private_dir

    provider, sep, name = spec.partition("/")
    if not sep or provider not in ("ollama", "openai") or not name:
        raise ConfigError(f"'{spec}' is not ollama/NAME or openai/NAME",
                          fix="register the name the server serves the fine-tuned model as")
    if not dataset.is_file():
        raise ConfigError(f"no fine-tuning export at {dataset}",
                          fix="write one with `ragloom export finetune -o train.jsonl`")
    with dataset.open("rb") as fh:
        examples = sum(1 for line in fh if line.strip())
    entry = {"source": f"fine-tuned on {dataset.name} ({examples} examples, sha256 "
                       f"{sha256_file(dataset)[:12]})",
             "dataset": str(dataset.resolve()), "examples": examples, "registered": time.time()}
    registry = finetuned(settings)
    registry[f"{provider}/{name}"] = entry
    path = _registry_path(settings)
    private_dir(path.parent)
    path.write_text(json.dumps(registry, indent=1, sort_keys=True))
    return entry
