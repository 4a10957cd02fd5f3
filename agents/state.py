"""Typed graph state: a narrow input and a richer internal state, merged by reducers.

``history`` keeps the conversation across turns (given by the caller, or kept by a
checkpointer through its ``add`` reducer); every other field describes the current turn and
is reset by the first node (``new_turn``). The trace fields (``steps``, ``model_calls``,
``prompts``) are merged by their reducers, so a node returns only its own part and parallel
branches cannot overwrite each other.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.types import Overwrite

from ragloom.agents.citations import Citation
from ragloom.agents.claims import ClaimVerdict
from ragloom.prompts import PromptStore
from ragloom.retrieval.retriever import Retriever
from ragloom.retrieval.types import RetrievedChunk

if TYPE_CHECKING:
    from ragloom.core.settings import Settings


class Turn(TypedDict):
    question: str
    answer: str


class AskInput(TypedDict):
    question: str
    # Earlier turns the caller kept (an OpenAI-style message list); a thread adds its own.
    history: NotRequired[Annotated[list[Turn], operator.add]]


class SubAnswer(TypedDict):
    question: str
    answer: str
    sources: list[RetrievedChunk]


def add_counts(current: dict[str, int] | None, new: dict[str, int]) -> dict[str, int]:
    """Reducer: model calls per role, summed over the turn's nodes."""
    total = dict(current or {})
    for role, n in new.items():
        total[role] = total.get(role, 0) + n
    return total


def merge(current: dict[str, str] | None, new: dict[str, str]) -> dict[str, str]:
    """Reducer: prompt refs per role; a later node's ref for the same role wins."""
    return {**(current or {}), **new}


class RagState(AskInput, total=False):
    query: str  # what is searched: the stand-alone question, or its rewrite
    route: str
    retrieved: list[RetrievedChunk]  # everything the retriever returned
    sources: list[RetrievedChunk]  # what the model is shown, numbered [1..n]
    rewrites: int
    generations: int
    grounding_feedback: str | None
    sub_answers: list[SubAnswer]
    answer: str
    citations: list[Citation]
    dropped_citations: int
    repointed_citations: int  # [n] moved to the chunk that supports the sentence
    claims: list[ClaimVerdict]  # the deterministic check of the answer's claims
    links_removed: int  # links/images in the answer that neither question nor sources contain
    refused: bool
    grounded: bool | None
    prompts: Annotated[dict[str, str], merge]  # role -> name@version used
    model_calls: Annotated[dict[str, int], add_counts]  # role -> calls this turn
    steps: Annotated[list[dict[str, Any]], operator.add]  # node, seconds, details: the trace


# What every per-turn field starts a turn as. Checked against RagState when this module loads:
# a field added to the state without a fresh value here would leak from the previous turn.
_FRESH: dict[str, Any] = {
    "query": "", "route": "documents", "retrieved": [], "sources": [], "rewrites": 0,
    "generations": 0, "grounding_feedback": None, "sub_answers": [], "answer": "",
    "citations": [], "dropped_citations": 0, "repointed_citations": 0, "claims": [],
    "links_removed": 0, "refused": False, "grounded": None, "prompts": {}, "model_calls": {},
    "steps": [],
}
_TURN_FIELDS = (RagState.__required_keys__ | RagState.__optional_keys__) - (
    AskInput.__required_keys__ | AskInput.__optional_keys__)
if _FRESH.keys() != _TURN_FIELDS:
    raise TypeError(f"agents.state: per-turn fields without a fresh value: "
                    f"{sorted(_TURN_FIELDS ^ _FRESH.keys())}")
_REDUCED = {"prompts", "model_calls", "steps"}


def new_turn(question: str) -> dict[str, Any]:
    """The update that starts a turn: every per-turn field fresh (reducers bypassed), the
    question as the query."""
    fresh = {key: type(value)() if isinstance(value, list | dict) else value
             for key, value in _FRESH.items()}
    fresh["query"] = question
    return {key: Overwrite(value) if key in _REDUCED else value for key, value in fresh.items()}


@dataclass
class RagContext:
    """What nodes need at run time, injected rather than read from settings."""

    chat_model: BaseChatModel
    retriever: Retriever
    prompts: PromptStore = field(default_factory=PromptStore)
    prompt_refs: dict[str, str] = field(default_factory=dict)  # role -> ref, e.g. answer -> answer@2
    prompt_label: str = "production"
    chat_provider: str = "local"  # picks the JSON mode for structured outputs
    top_k: int = 4
    context_order: str = "best-first"  # "best-last": the closest chunk is shown last, as [n]
    min_relevance: float = 0.15
    max_rewrites: int = 1
    max_generations: int = 2  # the first answer plus one regeneration after a failed check
    max_sub_questions: int = 3
    min_supported_share: float = 1.0  # grounded only when this share of claims is supported
    claim_threshold: float = 0.6  # IDF-weighted share of a claim's new words a chunk must hold
    condense: str = "auto"  # "auto": only follow-ups that lean on the conversation; "always"
    grade_with_model: bool = True  # False: keep what passed the relevance floor (no model call)
    ground_with_model: bool = True  # False: the deterministic claim check alone decides
    collection: str = "default"
    where: dict[str, Any] | None = None  # metadata filter for every retrieval of this request
    # Wraps each model call by role ("chat", "embedding") to turn outages into clear errors.
    model_guard: Callable[[str], AbstractContextManager[None]] = (
        lambda role: contextlib.nullcontext())

    def prompt(self, role: str):  # type: ignore[no-untyped-def]
        """The prompt version for a node role: pinned by the request, else by label."""
        return self.prompts.get(self.prompt_refs.get(role, f"{role}:{self.prompt_label}"))


# (settings, collection, prompt pins, metadata filter) -> what one question needs. The one
# signature every interface calls: ``agents.service.build_context`` is the real factory, the
# API's ``ContextCache`` reuses what it built, tests pass fakes.
ContextFactory = Callable[["Settings", str, dict[str, str], dict[str, Any] | None], RagContext]
