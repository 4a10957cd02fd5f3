"""The records that flow from ingestion through retrieval to the agent."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A loaded piece of a document before chunking (a page of a PDF, a whole text file)."""

    text: str
    page: int | None = None
    heading: str | None = Field(None, description='Heading path when known, e.g. "Intro > Scope".')


class Chunk(BaseModel):
    id: str
    text: str
    source: str
    chunk_index: int
    page: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def store_metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma (scalars only; None is not allowed there)."""
        meta = {"source": self.source, "chunk_index": self.chunk_index, **self.metadata}
        if self.page is not None:
            meta["page"] = self.page
        return {k: v for k, v in meta.items() if v is not None}


class RetrievedChunk(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    text: str
    source: str
    chunk_index: int
    page: int | None = None
    score: float = Field(description="Cosine similarity to the query (higher is closer).")
    fused_score: float | None = Field(None, description="Reciprocal-rank-fusion score (hybrid).")
    lexical_score: float | None = Field(None, description="BM25 score, when BM25 found it.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    vector: Any = Field(None, exclude=True, repr=False)  # np.ndarray for MMR; never serialised
