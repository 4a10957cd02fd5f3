"""Typed graph state: a narrow input and a richer internal state with explicit reducers."""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Annotated, TypedDict

from langchain_core.language_models import BaseChatModel

from agents.citations import Citation
from prompts import PromptStore
from retrieval.retriever import Retriever
from retrieval.types import RetrievedChunk


class AskInput(TypedDict):
    question: str


class RagState(AskInput, total=False):
    retrieved: list[RetrievedChunk]  # everything the retriever returned
    sources: list[RetrievedChunk]  # the relevant ones, numbered [1..n] for the model
    answer: str
    citations: list[Citation]
    dropped_citations: int
    refused: bool
    prompts: Annotated[dict[str, str], operator.or_]  # role -> name@version used
    timings: Annotated[dict[str, float], operator.or_]  # step -> seconds


@dataclass
class RagContext:
    """What nodes need at run time, injected rather than read from settings."""

    chat_model: BaseChatModel
    retriever: Retriever
    prompts: PromptStore = field(default_factory=PromptStore)
    answer_prompt: str = "answer"  # a prompt reference: name, name@N or name:label
    top_k: int = 4
    min_relevance: float = 0.15
    collection: str = "default"
    # Wraps each model call by role ("chat", "embedding") to turn outages into clear errors.
    model_guard: Callable[[str], AbstractContextManager[None]] = lambda role: contextlib.nullcontext()
