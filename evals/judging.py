"""Judge metrics for one row: preconditions (N/A with a reason), the SQLite judge cache, repeats.

The cache key is (judge model, metric, fingerprint of Ragas' prompts for the metric, the inputs,
the repeat index): re-running an unchanged suite makes no judge call at all, and the judge (for
the embedded model: a llama.cpp server) is not even started.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import statistics
from collections.abc import Callable

from ragloom.evals.judge import Judge, JudgeError, JudgeInput, prompt_fingerprint
from ragloom.evals.metrics import JUDGE_METRICS, Score, na
from ragloom.evals.store import RunStore

NEEDS_REFERENCE = frozenset({"context_precision", "context_recall", "answer_correctness"})
NEEDS_CONTEXTS = frozenset({"faithfulness", "context_precision", "context_recall"})
JUDGES_THE_ANSWER = frozenset({"faithfulness", "answer_relevancy", "answer_correctness"})


def precondition(metric: str, item: JudgeInput, refused: bool) -> str | None:
    """Why ``metric`` cannot apply to this row, or None."""
    if metric in NEEDS_REFERENCE and not item.reference:
        return "no reference answer"
    if metric in NEEDS_CONTEXTS and not item.contexts:
        return "no contexts were retrieved"
    if metric in JUDGES_THE_ANSWER:
        if refused:
            return "the answer is a refusal"
        if not item.answer.strip():
            return "empty answer"
    return None


# The inputs each metric reads: a changed answer does not invalidate context precision/recall.
INPUTS = {"faithfulness": ("question", "answer", "contexts"),
          "answer_relevancy": ("question", "answer"),
          "context_precision": ("question", "reference", "contexts"),
          "context_recall": ("question", "reference", "contexts"),
          "answer_correctness": ("question", "answer", "reference")}


def cache_key(judge_id: str, metric: str, fingerprint: str, item: JudgeInput, repeat: int) -> str:
    values = {"question": item.question, "answer": item.answer,
              "contexts": list(item.contexts), "reference": item.reference}
    payload = json.dumps([judge_id, metric, fingerprint, repeat,
                          [values[k] for k in INPUTS[metric]]])
    return hashlib.sha256(payload.encode()).hexdigest()


class LazyJudge:
    """Builds the judge (maybe starting a server) only on the first cache miss."""

    def __init__(self, model_id: str, factory: Callable[[], Judge]):
        self.model_id = model_id
        self._factory = factory
        self.judge: Judge | None = None

    def get(self) -> Judge:
        if self.judge is None:
            self.judge = self._factory()
        return self.judge

    @property
    def calls(self) -> int:
        return self.judge.calls if self.judge else 0


async def _one(lazy: LazyJudge, store: RunStore, metric: str, item: JudgeInput,
               repeat: int) -> tuple[float | None, str | None]:
    """(value, None) or (None, reason). Judge failures are not cached: a re-run tries again."""
    key = cache_key(lazy.model_id, metric, prompt_fingerprint(metric), item, repeat)
    hit, value = store.cached(key)
    if not hit:
        try:
            raw = await lazy.get().score(metric, item, repeat)
        except JudgeError as exc:
            return None, str(exc)
        value = None if math.isnan(raw) else raw
        store.cache(key, lazy.model_id, metric, value)
    if value is None:
        return None, "the judge found nothing to score (e.g. no statements in the answer)"
    return value, None


async def judge_metric(lazy: LazyJudge, store: RunStore, metric: str, item: JudgeInput,
                       refused: bool, repeats: int) -> Score:
    if metric not in JUDGE_METRICS:
        raise KeyError(metric)
    if reason := precondition(metric, item, refused):
        return na(reason)
    results = await asyncio.gather(*(_one(lazy, store, metric, item, r) for r in range(repeats)))
    values = [v for v, _ in results if v is not None]
    if not values:
        return na(next(r for _, r in results if r))
    score = Score(statistics.fmean(values), repeats=values)
    if len(values) > 1:
        score.spread = statistics.stdev(values)
    failed = len(results) - len(values)
    if failed:
        score.na = f"{failed} of {repeats} repeats failed: {next(r for _, r in results if r)}"
    return score


async def judge_row(lazy: LazyJudge, store: RunStore, metrics: list[str], item: JudgeInput,
                    refused: bool, repeats: int = 1) -> dict[str, Score]:
    names = [m for m in metrics if m in JUDGE_METRICS]
    scores = await asyncio.gather(*(judge_metric(lazy, store, m, item, refused, repeats)
                                    for m in names))
    return dict(zip(names, scores, strict=True))
