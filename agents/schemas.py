"""Structured outputs of the graph's judgement steps, as types."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

# Sizes are bounded: JSON-mode grammars enforce them, so a small model cannot ramble until
# max_tokens cuts its JSON in half.
Short = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class ChunkGrades(BaseModel):
    relevant: list[int] = Field(max_length=20,
                                description="Numbers of the documents that help answer the question.")


class RewrittenQuery(BaseModel):
    query: str = Field(min_length=2, max_length=300,
                       description="A better search query for the same question.")


class Route(BaseModel):
    route: Literal["documents", "decompose", "clarify", "direct"]


class Decomposition(BaseModel):
    sub_questions: list[Short] = Field(min_length=1, max_length=4)


class GroundingVerdict(BaseModel):
    grounded: bool
    unsupported: list[Short] = Field(default_factory=list, max_length=3,
                                     description="Claims of the answer that no document supports.")


class StandaloneQuestion(BaseModel):
    question: str = Field(min_length=2, max_length=300)
