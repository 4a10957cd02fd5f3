"""Evaluation-gated promotion: a label moves to a prompt version only if the suite says the
version makes no gated metric worse than the one the label points to now.

Both versions are run on the suite (or a finished run that asked the same rows in the same way is
reused: ``run_suite(reuse=True)``), the runs are compared row by row (``compare_runs``: paired
bootstrap 95% intervals of candidate - current), and each of the suite's ``gate:`` rules passes
when at least ``min_n`` rows were scored in both runs and the interval does not lie below
``-margin`` (above ``+margin`` for latency and model calls). A refused gate changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragloom.core.errors import ConfigError
from ragloom.core.settings import Settings
from ragloom.evals.compare import MetricDelta, compare_runs
from ragloom.evals.metrics import LOWER_IS_BETTER
from ragloom.evals.runs import RunProgress, Runtime, run_suite, variants_from
from ragloom.evals.suites import GateRule, Suite


@dataclass(frozen=True)
class GateCheck:
    rule: GateRule
    delta: MetricDelta | None
    passed: bool
    reason: str


@dataclass
class GateResult:
    prompt: str
    label: str
    current: int | None  # the version the label pointed to (None: the label is new)
    candidate: int
    suite: str
    runs: dict[str, str] = field(default_factory=dict)  # "current" / "candidate" -> run id
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "label": self.label, "current": self.current,
                "candidate": self.candidate, "suite": self.suite, "runs": self.runs,
                "passed": self.passed,
                "checks": [{"metric": c.rule.metric, "margin": c.rule.margin,
                            "min_n": c.rule.min_n, "passed": c.passed, "reason": c.reason,
                            "current": c.delta.mean_a if c.delta else None,
                            "candidate": c.delta.mean_b if c.delta else None,
                            "delta": c.delta.delta if c.delta else None,
                            "ci95": list(c.delta.ci95) if c.delta and c.delta.ci95 else None,
                            "paired": c.delta.paired if c.delta else 0}
                           for c in self.checks]}


def check(rule: GateRule, delta: MetricDelta | None) -> GateCheck:
    """One rule against the comparison of its metric."""
    if delta is None or delta.delta is None:
        return GateCheck(rule, delta, False, "not scored in both runs")
    if delta.paired < rule.min_n:
        return GateCheck(rule, delta, False,
                         f"{delta.paired} rows scored in both runs, the gate needs {rule.min_n}")
    if delta.ci95 is None:
        return GateCheck(rule, delta, False, "no interval (too few rows)")
    low, high = delta.ci95
    if rule.metric in LOWER_IS_BETTER:
        if high > rule.margin:
            return GateCheck(rule, delta, False, f"may be worse by up to {high:+.3f} "
                             f"(allowed +{rule.margin:.3f})")
    elif low < -rule.margin:
        return GateCheck(rule, delta, False, f"may be worse by up to {low:+.3f} "
                         f"(allowed -{rule.margin:.3f})")
    return GateCheck(rule, delta, True, "no regression beyond the margin")


def gate_promotion(settings: Settings, suite: Suite, prompt: str, candidate: int, label: str, *,
                   limit: int | None = None, reuse: bool = True,
                   progress: Callable[[RunProgress], None] | None = None,
                   runtime: Runtime | None = None) -> GateResult:
    """Run (or reuse) the suite on ``prompt@candidate`` and on the version ``label`` points to,
    and check the suite's gate rules. Moves nothing: the caller promotes when it passed."""
    from ragloom.prompts import prompt_store

    if not suite.gate:
        raise ConfigError(f"suite '{suite.name}' has no gate: section",
                          fix="add e.g. `gate: [{metric: answer_contains, margin: 0.05, "
                          "min_n: 10}]` to the suite (docs/evals.md)")
    store = prompt_store(settings)
    if candidate not in store.versions(prompt):
        raise ConfigError(f"prompt '{prompt}' has no version {candidate}",
                          fix=f"see `ragloom prompts show {prompt}`")
    current = store.labels(prompt).get(label)
    result = GateResult(prompt, label, current, candidate, suite.name)
    if current is None or current == candidate:  # nothing to be worse than
        return result
    refs = {"current": f"{prompt}@{current}", "candidate": f"{prompt}@{candidate}"}
    for role, ref in refs.items():
        (variant,) = variants_from(prompts=[ref])
        (result.runs[role],) = run_suite(suite, settings, [variant], limit=limit, reuse=reuse,
                                         progress=progress, runtime=runtime)
    comparison = compare_runs(settings, result.runs["current"], result.runs["candidate"])
    deltas = {d.metric: d for d in comparison.metrics}
    result.checks = [check(rule, deltas.get(rule.metric)) for rule in suite.gate]
    return result
