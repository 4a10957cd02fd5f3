"""``provider/model`` strings, parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from ragloom.core.errors import ConfigError

Provider = Literal["local", "ollama", "openai"]
PROVIDERS: tuple[Provider, ...] = ("local", "ollama", "openai")


@dataclass(frozen=True)
class ModelSpec:
    provider: Provider
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        provider, sep, model = text.strip().partition("/")
        if not sep or not model or provider not in PROVIDERS:
            raise ConfigError(
                f"model '{text}' is not of the form provider/model",
                fix=f"use one of {', '.join(p + '/…' for p in PROVIDERS)}, "
                "e.g. local/qwen2.5-coder-0.5b, ollama/llama3.2, openai/gpt-4o-mini",
            )
        return cls(cast(Provider, provider), model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"
