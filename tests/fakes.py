"""Fast, deterministic stand-ins for unit tests of logic (never for integration tests)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage


class BagOfWordsEmbeddings(Embeddings):
    """Hashes words into a fixed number of dimensions: texts sharing words are close."""

    def __init__(self, dim: int = 256):
        self.dimension = dim

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norm = np.linalg.norm(vec)
        return (vec / norm if norm else vec).tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def scripted_chat(*replies: str) -> GenericFakeChatModel:
    """A chat model that answers with ``replies`` in order (and fails when they run out)."""
    return GenericFakeChatModel(messages=iter(AIMessage(content=r) for r in replies))


class ExplodingChat(GenericFakeChatModel):
    """A chat model that must not be called."""

    def _generate(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the chat model was called but should not have been")
