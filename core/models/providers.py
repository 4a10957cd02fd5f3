"""Model providers behind one registry, the way simonw/llm registers models: the shipped
``local`` (embedded llama.cpp / ONNX), ``ollama`` and ``openai`` (any OpenAI-compatible server)
register here like any other, and an installed package adds its own through the entry point
group ``ragloom.providers`` (a provider object or class with ``chat(model, settings)`` and/or
``embeddings(model, settings)`` returning LangChain models). ``provider/model`` strings then reach
it from settings, the CLI, the API and the web app alike.
"""

from __future__ import annotations

import logging
import re
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ragloom.core.errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from ragloom.core.settings import Settings

log = logging.getLogger(__name__)
ENTRY_POINTS = "ragloom.providers"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class ModelProvider(Protocol):
    """What a provider offers; either method may be missing (a chat-only provider)."""

    def chat(self, model: str, settings: Settings) -> BaseChatModel: ...

    def embeddings(self, model: str, settings: Settings) -> Embeddings: ...


PROVIDERS: dict[str, Any] = {}
_loaded = False


def register_provider(name: str, provider: Any) -> None:
    """Make ``name/MODEL`` strings build their models with ``provider``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"provider name {name!r} must be 1-32 lowercase letters, digits, "
                          "'-' or '_', starting with a letter")
    if not any(callable(getattr(provider, m, None)) for m in ("chat", "embeddings")):
        raise ConfigError(f"provider {name!r} has neither a chat() nor an embeddings() method")
    PROVIDERS[name] = provider


def provider_names() -> list[str]:
    """The shipped providers, then those of installed packages (read once per process)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for ep in entry_points(group=ENTRY_POINTS):
            try:
                found = ep.load()
                PROVIDERS.setdefault(ep.name, found() if isinstance(found, type) else found)
            except Exception as exc:  # one broken plugin must not take the shipped ones down
                log.warning("provider %r from %s could not be loaded: %s: %s", ep.name,
                            ep.value, type(exc).__name__, exc)
    return list(PROVIDERS)


def build(kind: Literal["chat", "embeddings"], provider: str, model: str,
          settings: Settings) -> Any:
    if provider not in provider_names():
        raise ConfigError(f"unknown model provider '{provider}'",
                          fix=f"use one of {', '.join(PROVIDERS)}, or install a package that "
                          f"declares it (entry point group {ENTRY_POINTS})")
    method = getattr(PROVIDERS[provider], kind, None)
    if not callable(method):
        raise ConfigError(f"provider '{provider}' has no {'chat' if kind == 'chat' else 'embedding'}"
                          " models", subject=f"{provider}/{model}",
                          fix="pick another provider for this role")
    return method(model, settings)


class LocalProvider:
    """The embedded models: GGUF chat through llama.cpp, ONNX / static embeddings."""

    def chat(self, model: str, settings: Settings) -> BaseChatModel:
        from ragloom.core import models as m

        s = settings.local
        return m._local_chat(str(m.local_chat_path(model, settings)), s.n_ctx, s.n_threads,
                             s.max_tokens, s.temperature)

    def embeddings(self, model: str, settings: Settings) -> Embeddings:
        from ragloom.core import models as m
        from ragloom.core.artifacts.catalog import LOCAL_EMBEDDING

        if model not in LOCAL_EMBEDDING:
            raise ConfigError(f"unknown local embedding model '{model}'",
                              fix=f"use one of {', '.join(LOCAL_EMBEDDING)}")
        return m._local_embeddings(model, settings.model_cache)


class OllamaProvider:
    """An Ollama server (``num_ctx`` set explicitly: its 4096 default truncates RAG prompts)."""

    def chat(self, model: str, settings: Settings) -> BaseChatModel:
        from langchain_ollama import ChatOllama

        o = settings.ollama
        return ChatOllama(model=model, base_url=o.host, num_ctx=o.num_ctx,
                          temperature=o.temperature, client_kwargs={"timeout": o.timeout_s})

    def embeddings(self, model: str, settings: Settings) -> Embeddings:
        from langchain_ollama import OllamaEmbeddings

        o = settings.ollama
        return OllamaEmbeddings(model=model, base_url=o.host, num_ctx=o.num_ctx,
                                client_kwargs={"timeout": o.timeout_s})


class OpenAIProvider:
    """OpenAI, or any OpenAI-compatible server (vLLM, llama.cpp's, LM Studio) at a base URL."""

    def chat(self, model: str, settings: Settings) -> BaseChatModel:
        from langchain_openai import ChatOpenAI

        from ragloom.core import models as m

        o = settings.openai
        return ChatOpenAI(model=model, base_url=o.base_url, api_key=m._openai_key(settings),
                          timeout=o.timeout_s, max_retries=o.max_retries,
                          temperature=o.temperature, stream_usage=o.stream_usage)

    def embeddings(self, model: str, settings: Settings) -> Embeddings:
        from ragloom.core import models as m
        from ragloom.core.models.openai_embeddings import FlatOpenAIEmbeddings

        o = settings.openai
        return FlatOpenAIEmbeddings(
            model=model, base_url=o.base_url, api_key=m._openai_key(settings),
            timeout=o.timeout_s, max_retries=o.max_retries,
            # Token-id arrays break non-OpenAI servers, and tiktoken downloads its files offline.
            check_embedding_ctx_length=o.base_url is None,
        )


for _name, _provider in (("local", LocalProvider()), ("ollama", OllamaProvider()),
                         ("openai", OpenAIProvider())):
    register_provider(_name, _provider)
