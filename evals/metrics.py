"""The metrics a suite can ask for, and the deterministic ones (no judge) computed per row.

Every metric of a row is either a number or N/A with a reason: a metric that cannot apply (no
reference answer, no gold sources, a refusal) is never scored 0 and never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragloom.evals.retrieval_metrics import dedupe, ndcg_at_k, recall_at_k
from ragloom.evals.text_metrics import contains, exact_match, strip_citations, token_f1

JUDGE_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall",
                 "answer_correctness")
DETERMINISTIC_METRICS = ("retrieval_recall", "retrieval_ndcg", "exact_match", "token_f1",
                         "answer_contains", "citation_validity", "claim_support", "refusal",
                         "latency_s", "model_calls")
ALL_METRICS = JUDGE_METRICS + DETERMINISTIC_METRICS
DEFAULT_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall",
                   *DETERMINISTIC_METRICS)
# Where lower is better (compare and reports colour deltas by this); refusal is neither.
LOWER_IS_BETTER = frozenset({"latency_s", "model_calls"})
NEUTRAL = frozenset({"refusal"})


@dataclass
class Score:
    """A metric's value on one row: ``value`` or ``na`` (the reason it has no value)."""

    value: float | None = None
    na: str | None = None
    repeats: list[float] = field(default_factory=list)  # per-repeat judge values
    spread: float | None = None  # standard deviation over repeats

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.na:
            out["na"] = self.na
        if len(self.repeats) > 1:
            out |= {"repeats": self.repeats, "spread": self.spread}
        return out


def na(reason: str) -> Score:
    return Score(na=reason)


@dataclass
class Observed:
    """What answering one question produced: the input to every metric."""

    answer: str
    refused: bool
    contexts: list[str]
    retrieved_docs: list[str]  # document ids of the retrieved chunks, in rank order
    citations: int
    dropped_citations: int
    seconds: float
    model_calls: int
    # The answer's claims and how many the claim check (agents/claims.py) found supported.
    claims: int = 0
    supported_claims: int = 0


def doc_id(source: str, record_id: str | None = None) -> str:
    """The id gold sources are written in: a record id, else the file name."""
    if record_id:
        return record_id
    if "://" in source:
        return source.split("://", 1)[1]
    return Path(source).name


def deterministic(metric: str, obs: Observed, reference: str | None, gold: list[str]) -> Score:
    """One deterministic metric of one row."""
    if metric in ("retrieval_recall", "retrieval_ndcg"):
        if not gold:
            return na("no gold sources")
        docs = dedupe(obs.retrieved_docs)
        fn = recall_at_k if metric == "retrieval_recall" else ndcg_at_k
        return Score(fn(docs, set(gold), max(len(docs), 1)))
    if metric in ("exact_match", "token_f1", "answer_contains"):
        if not reference:
            return na("no reference answer")
        text = strip_citations(obs.answer)
        fn = {"exact_match": exact_match, "token_f1": token_f1, "answer_contains": contains}[metric]
        return Score(fn(text, reference))
    if metric == "citation_validity":
        total = obs.citations + obs.dropped_citations
        if total == 0:
            return na("refusal" if obs.refused else "the answer cites nothing")
        return Score(obs.citations / total)
    if metric == "claim_support":  # share of the answer's claims a source chunk supports
        if obs.refused:
            return na("refusal")
        if obs.claims == 0:
            return na("the answer makes no claim")
        return Score(obs.supported_claims / obs.claims)
    if metric == "refusal":
        return Score(float(obs.refused))
    if metric == "latency_s":
        return Score(obs.seconds)
    if metric == "model_calls":
        return Score(float(obs.model_calls))
    raise KeyError(metric)
