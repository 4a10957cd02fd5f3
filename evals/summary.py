"""Per-metric summaries of a run's rows, with bootstrap confidence intervals."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

BOOTSTRAP_SAMPLES = 2000
SEED = 7  # fixed: the same rows always give the same interval


def bootstrap_ci(values: Sequence[float], *, level: float = 0.95,
                 samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None with fewer than two values."""
    if len(values) < 2:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(SEED)
    means = data[rng.integers(0, len(data), size=(samples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return float(lo), float(hi)


def metric_values(rows: list[dict[str, Any]], metric: str) -> dict[str, float]:
    """row id -> value, for the rows where ``metric`` has a value."""
    out = {}
    for row in rows:
        score = row.get("scores", {}).get(metric)
        if score and score.get("value") is not None:
            out[row["id"]] = float(score["value"])
    return out


def summarize(rows: list[dict[str, Any]], metrics: list[str]) -> dict[str, dict[str, Any]]:
    """metric -> mean, ci95, n (scored), na (count), na_reasons, spread (mean over repeats)."""
    out: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        values = list(metric_values(rows, metric).values())
        reasons: Counter[str] = Counter()
        spreads = []
        for row in rows:
            score = row.get("scores", {}).get(metric) or {"na": "not computed"}
            if score.get("value") is None:
                reasons[score.get("na") or "no value"] += 1
            if score.get("spread") is not None:
                spreads.append(float(score["spread"]))
        out[metric] = {"mean": statistics.fmean(values) if values else None,
                       "ci95": bootstrap_ci(values), "n": len(values), "na": sum(reasons.values()),
                       "na_reasons": dict(reasons.most_common()),
                       "spread": statistics.fmean(spreads) if spreads else None}
    return out


def failed_thresholds(summary: dict[str, dict[str, Any]], thresholds: dict[str, float]
                      ) -> list[str]:
    """One line per missed threshold; a metric with no value at all counts as missed."""
    missed = []
    for metric, floor in thresholds.items():
        mean = summary.get(metric, {}).get("mean")
        if mean is None:
            missed.append(f"{metric}: no scored rows (floor {floor:g})")
        elif mean < floor:
            missed.append(f"{metric}: {mean:.3f} < {floor:g}")
    return missed


def parse_thresholds(text: str | None) -> dict[str, float]:
    """``"faithfulness=0.7,context_recall=0.8"`` -> dict; raises ValueError on bad input."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"'{part.strip()}' is not METRIC=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"'{value.strip()}' is not a number (in '{part.strip()}')") from None
    return out
