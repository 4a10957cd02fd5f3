"""Comparing two runs: per-metric means, deltas with paired bootstrap 95% intervals, and the
rows that changed most."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ragloom.core.settings import Settings
from ragloom.evals.metrics import LOWER_IS_BETTER, NEUTRAL
from ragloom.evals.runs import get_run
from ragloom.evals.summary import BOOTSTRAP_SAMPLES, SEED, bootstrap_ci, metric_values

MIN_ROWS = 5  # fewer compared rows than this get no better/worse verdict


@dataclass
class MetricDelta:
    metric: str
    mean_a: float | None
    mean_b: float | None
    n_a: int
    n_b: int
    paired: int  # rows scored in both runs: the delta and its interval use only these
    delta: float | None
    ci95: tuple[float, float] | None
    verdict: str  # "better", "worse", "no clear change", "n/a"


@dataclass
class RowChange:
    row_id: str
    question: str
    changes: dict[str, tuple[float, float]]  # metric -> (a, b)
    size: float  # mean absolute change over the metrics scored in both runs
    answer_a: str | None = None
    answer_b: str | None = None


@dataclass
class Comparison:
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    metrics: list[MetricDelta]
    rows: list[RowChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. the runs asked different datasets


def paired_delta_ci(a: list[float], b: list[float]) -> tuple[float, float] | None:
    """Bootstrap interval of mean(b - a) over paired rows."""
    return bootstrap_ci([y - x for x, y in zip(a, b, strict=True)])


def _verdict(metric: str, delta: float | None, ci: tuple[float, float] | None, n: int) -> str:
    if delta is None:
        return "n/a"
    if n < MIN_ROWS:  # a bootstrap over 2-4 rows excludes 0 by chance: no verdict
        return f"too few rows ({n})"
    if ci is None or ci[0] <= 0 <= ci[1]:
        return "no clear change"
    if metric in NEUTRAL:
        return "changed"
    return "better" if (ci[0] > 0) != (metric in LOWER_IS_BETTER) else "worse"


def _unpaired_ci(a: list[float], b: list[float]) -> tuple[float, float] | None:
    """Interval of mean(b) - mean(a) when the runs share too few rows to pair them."""
    if len(a) < 2 or len(b) < 2:
        return None
    rng = np.random.default_rng(SEED)
    xa, xb = np.asarray(a), np.asarray(b)
    diffs = (xb[rng.integers(0, len(xb), (BOOTSTRAP_SAMPLES, len(xb)))].mean(axis=1)
             - xa[rng.integers(0, len(xa), (BOOTSTRAP_SAMPLES, len(xa)))].mean(axis=1))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def compare_runs(settings: Settings, run_a: str, run_b: str, *, top: int = 5) -> Comparison:
    """B against A: for each metric both runs computed, the means, B - A and its interval."""
    a, b = get_run(settings, run_a), get_run(settings, run_b)
    metrics = [m for m in a["config"]["metrics"] if m in b["config"]["metrics"]]
    deltas = []
    for metric in metrics:
        va, vb = metric_values(a["rows"], metric), metric_values(b["rows"], metric)
        shared = [rid for rid in va if rid in vb]
        if len(shared) >= 2:
            xa, xb = [va[r] for r in shared], [vb[r] for r in shared]
            delta = statistics.fmean(xb) - statistics.fmean(xa)
            ci = paired_delta_ci(xa, xb)
        elif va and vb:
            delta = statistics.fmean(vb.values()) - statistics.fmean(va.values())
            ci = _unpaired_ci(list(va.values()), list(vb.values()))
        else:
            delta, ci = None, None
        n = len(shared) if len(shared) >= 2 else min(len(va), len(vb))
        deltas.append(MetricDelta(metric, a["summary"][metric]["mean"],
                                  b["summary"][metric]["mean"], len(va), len(vb), len(shared),
                                  delta, ci, _verdict(metric, delta, ci, n)))
    warnings = _warnings(a, b)
    fewest = min((d.paired or min(d.n_a, d.n_b) for d in deltas if d.delta is not None),
                 default=None)
    if fewest is not None and fewest < MIN_ROWS:
        warnings.append(f"only {fewest} row(s) compared: no verdict below {MIN_ROWS} rows, and "
                        "intervals this small move with every row; run more rows (--limit)")
    return Comparison(_head(a), _head(b), deltas, _row_changes(a, b, metrics, top), warnings)


def _warnings(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What makes the comparison less than like for like."""
    da, db = a["config"].get("dataset"), b["config"].get("dataset")
    if da and db and da != db:
        shared = len({r["id"] for r in a["rows"]} & {r["id"] for r in b["rows"]})
        return [f"the runs asked different dataset versions ({da} vs {db}): only the {shared} "
                "rows both have are paired, and a row edited in between is compared as if it "
                "were the same question"]
    return []


def _head(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("id", "suite", "variant", "created", "status", "row_count")} | {
        "prompts": run["config"].get("prompts"), "commit": run["config"].get("commit"),
        "dataset": run["config"].get("dataset")}


def _row_changes(a: dict[str, Any], b: dict[str, Any], metrics: list[str], top: int
                 ) -> list[RowChange]:
    # Scale-free metrics only: latency and call counts would swamp the 0..1 scores.
    scored = [m for m in metrics if m not in LOWER_IS_BETTER]
    rows_b = {r["id"]: r for r in b["rows"]}
    out = []
    for ra in a["rows"]:
        rb = rows_b.get(ra["id"])
        if rb is None:
            continue
        changes = {}
        for m in scored:
            x = (ra.get("scores", {}).get(m) or {}).get("value")
            y = (rb.get("scores", {}).get(m) or {}).get("value")
            if x is not None and y is not None:
                changes[m] = (float(x), float(y))
        if changes:
            size = statistics.fmean(abs(y - x) for x, y in changes.values())
            out.append(RowChange(ra["id"], ra["question"], changes, size, ra.get("answer"),
                                 rb.get("answer")))
    out.sort(key=lambda c: c.size, reverse=True)
    return [c for c in out if c.size > 0][:top]
