"""Answer-vs-reference string metrics (SQuAD style), used by eval suites and benchmarks/agents.py."""

from __future__ import annotations

import re
import string
from collections import Counter

_CITATION = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_PUNCTUATION = set(string.punctuation)


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def strip_citations(answer: str) -> str:
    """The answer without its ``[n]`` citation markers."""
    return _CITATION.sub("", answer)


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains(prediction: str, gold: str) -> float:
    """1.0 when the normalised gold answer appears, on word boundaries, in the prediction."""
    g = normalize(gold)
    return float(bool(g) and f" {g} " in f" {normalize(prediction)} ")
