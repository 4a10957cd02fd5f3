"""Structured outputs of the graph's judgement steps, as types."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChunkGrades(BaseModel):
    relevant: list[int] = Field(description="Numbers of the documents that help answer the question.")


class RewrittenQuery(BaseModel):
    query: str = Field(min_length=2, description="A better search query for the same question.")


class Route(BaseModel):
    route: Literal["documents", "decompose", "clarify", "direct"]


class Decomposition(BaseModel):
    sub_questions: list[str] = Field(min_length=1, max_length=4)


class GroundingVerdict(BaseModel):
    grounded: bool
    unsupported: list[str] = Field(default_factory=list,
                                   description="Claims of the answer that no document supports.")


class StandaloneQuestion(BaseModel):
    question: str = Field(min_length=2)
