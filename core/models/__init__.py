"""Chat and embedding models behind one small interface, built by factories keyed on provider/model.

Heavy libraries are imported lazily inside each builder, and built models are cached per process
(loading the embedded GGUF takes a second; nothing loads at import time).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ragloom.core.artifacts import ensure
from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING
from ragloom.core.errors import ConfigError
from ragloom.core.models.providers import build, register_provider
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings

if TYPE_CHECKING:  # importing LangChain's model stack costs a second; ingest never needs it
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

__all__ = ["ModelSpec", "get_chat_model", "get_embeddings", "local_chat_path",
           "register_provider"]


def local_chat_path(model: str, settings: Settings) -> Path:
    """Path of an embedded GGUF: a catalogued name (fetched and verified) or a file path."""
    if model in LOCAL_CHAT:
        return ensure(LOCAL_CHAT[model], settings.model_cache)
    path = Path(model).expanduser()
    if path.suffix == ".gguf" and path.is_file():
        return path
    raise ConfigError(
        f"unknown local chat model '{model}'",
        fix=f"use one of {', '.join(f'local/{name}' for name in LOCAL_CHAT)}, or "
        "local/PATH/TO/MODEL.gguf for a file that exists (see `ragloom models list`)",
    )


def get_chat_model(spec: str | ModelSpec, settings: Settings) -> BaseChatModel:
    """The chat model of ``provider/model``, built by its provider (core/models/providers.py)."""
    spec = ModelSpec.parse(spec) if isinstance(spec, str) else spec
    return build("chat", spec.provider, spec.model, settings)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=2)
def _local_chat(path: str, n_ctx: int, n_threads: int | None, max_tokens: int,
                temperature: float) -> BaseChatModel:
    from ragloom.core.models.embedded_chat import EmbeddedChat

    log.info("loading embedded chat model %s", path)
    # llama-cpp-python's own default generates on half the cores; use them all.
    threads = n_threads or os.cpu_count() or 1
    return EmbeddedChat(model_path=path, n_ctx=n_ctx, n_threads=threads, max_tokens=max_tokens,
                        temperature=temperature, n_batch=512, verbose=False)


def get_embeddings(spec: str | ModelSpec, settings: Settings) -> Embeddings:
    """The embedding model of ``provider/model``, built by its provider."""
    spec = ModelSpec.parse(spec) if isinstance(spec, str) else spec
    return build("embeddings", spec.provider, spec.model, settings)  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=4)
def _local_embeddings(model: str, cache: Path) -> Embeddings:
    from ragloom.core.models.local_embeddings import OnnxSentenceEmbeddings, WordLlamaEmbeddings

    if model == "wordllama-l2-supercat":
        return WordLlamaEmbeddings()
    onnx, tokenizer = (ensure(a, cache) for a in LOCAL_EMBEDDING[model])
    return OnnxSentenceEmbeddings(onnx, tokenizer)


def _openai_key(settings: Settings) -> str:
    key = settings.openai.api_key
    if key is not None:
        return key.get_secret_value()
    if settings.openai.base_url:
        return "not-needed"  # local OpenAI-compatible servers accept any key
    raise ConfigError(
        "no OpenAI API key is set",
        fix="set RAGLOOM_OPENAI__API_KEY, or RAGLOOM_OPENAI__BASE_URL for a local server",
    )
