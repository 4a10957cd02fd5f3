"""OpenAI-compatible embeddings that fail clearly when a server returns per-token vectors."""

from __future__ import annotations

from typing import Any

from langchain_openai import OpenAIEmbeddings

from ragloom.core.errors import ConfigError


class FlatOpenAIEmbeddings(OpenAIEmbeddings):
    """A chat GGUF served by llama.cpp without pooling answers one vector per token; say so."""

    def embed_documents(self, texts: list[str], chunk_size: int | None = None,
                        **kwargs: Any) -> list[list[float]]:
        vectors = super().embed_documents(texts, chunk_size, **kwargs)
        if vectors and vectors[0] and isinstance(vectors[0][0], list):
            raise ConfigError(
                f"{self.openai_api_base or 'the server'} returned one vector per token for "
                f"'{self.model}', not one per text",
                fix="serve an embedding model, or start llama.cpp's server with "
                "--kv_overrides <arch>.pooling_type=int:1",
            )
        return vectors
