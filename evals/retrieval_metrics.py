"""Retrieval metrics over ranked document ids with binary relevance (as in BEIR)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def ndcg_at_k(ranked: Sequence[str], gold: set[str] | frozenset[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold), k)))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], gold: set[str] | frozenset[str], k: int) -> float:
    return len(set(ranked[:k]) & gold) / len(gold) if gold else 0.0


def all_gold_at_k(ranked: Sequence[str], gold: set[str] | frozenset[str], k: int) -> float:
    return float(bool(gold) and gold <= set(ranked[:k]))


def hit_at_k(ranked: Sequence[str], gold: set[str] | frozenset[str], k: int) -> float:
    return float(bool(set(ranked[:k]) & gold))


def reciprocal_rank(ranked: Sequence[str], gold: set[str] | frozenset[str]) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked) if d in gold), 0.0)


def dedupe(ids: Sequence[str]) -> list[str]:
    """Document ids in order of their first appearance in a chunk ranking."""
    return list(dict.fromkeys(ids))
