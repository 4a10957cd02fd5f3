"""``provider/model`` strings, parsed once."""

from __future__ import annotations

from dataclasses import dataclass

from ragloom.core.errors import ConfigError

Provider = str  # a registered provider name (core/models/providers.py)


@dataclass(frozen=True)
class ModelSpec:
    provider: Provider
    model: str

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        from ragloom.core.models.providers import provider_names

        provider, sep, model = text.strip().partition("/")
        names = provider_names()
        if not sep or not model or provider not in names:
            raise ConfigError(
                f"model '{text}' is not of the form provider/model",
                fix=f"use one of {', '.join(p + '/…' for p in names)}, "
                "e.g. local/qwen2.5-coder-0.5b, ollama/llama3.2, openai/gpt-4o-mini",
            )
        return cls(provider, model)

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"
