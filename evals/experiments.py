"""Live experiments: split a prompt's traffic between versions and compare them on real answers.

An experiment names a prompt (``answer``) and weighted variants (``production=90``,
``answer@5=10``: a label or a pinned version each). Every question that does not pin that prompt
itself is assigned a variant by a hash of the experiment id and a stable key (the conversation,
else the API key or web session), so one user keeps one variant; the answer and its trace
record ``{id, variant}``. The report aggregates each variant's answers from the traces: answers,
refusal rate, answers with every citation valid, grounded rate, median and mean latency, and the
share of 👍 among rated answers, with 95% intervals (Wilson for rates, bootstrap for latency).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ragloom.core.errors import ConfigError
from ragloom.core.models.usage import total_usage
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target
from ragloom.core.storage.schema import experiments as _experiments
from ragloom.evals.summary import bootstrap_ci


@dataclass(frozen=True)
class Variant:
    name: str
    ref: str  # NAME@VERSION or NAME:LABEL
    weight: int


@dataclass(frozen=True)
class Experiment:
    id: str
    prompt: str
    status: str
    created: float
    stopped: float | None
    variants: tuple[Variant, ...]

    def assign(self, key: str) -> Variant:
        """The variant for ``key``: the same key always gets the same one."""
        total = sum(v.weight for v in self.variants)
        point = int(hashlib.sha256(f"{self.id}:{key}".encode()).hexdigest()[:12], 16) % total
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant
        return self.variants[-1]


def parse_variants(prompt: str, specs: list[str]) -> tuple[Variant, ...]:
    """``["production=90", "answer@5=10"]`` (a bare label or version number means of ``prompt``)."""
    variants = []
    for spec in specs:
        target, sep, weight = spec.rpartition("=")
        if not sep or not weight.isdigit() or int(weight) < 1 or not target:
            raise ConfigError(f"bad variant {spec!r}", fix="write LABEL=WEIGHT or "
                              f"{prompt}@VERSION=WEIGHT, e.g. production=90 {prompt}@5=10")
        ref = target if target.startswith((f"{prompt}@", f"{prompt}:")) else (
            f"{prompt}@{target}" if target.isdigit() else f"{prompt}:{target}")
        variants.append(Variant(target, ref, int(weight)))
    if len(variants) < 2 or len({v.name for v in variants}) != len(variants):
        raise ConfigError("an experiment needs two or more distinct variants",
                          fix="repeat --variant, e.g. --variant production=50 --variant 5=50")
    return tuple(variants)


class ExperimentStore(SqlStore):
    tables = [_experiments]

    @classmethod
    def for_settings(cls, settings: Settings) -> ExperimentStore:
        return cls(store_target(settings.database, settings.home / "experiments.sqlite"))

    def start(self, prompt: str, variants: tuple[Variant, ...]) -> Experiment:
        with self.engine.begin() as db:
            if db.execute(select(_experiments.c.id).where(_experiments.c.prompt == prompt,
                                                          _experiments.c.status == "running")
                          ).first():
                raise ConfigError(f"an experiment on prompt '{prompt}' is already running",
                                  fix=f"stop it first: ragloom experiments stop {prompt}")
            exp_id = uuid.uuid4().hex[:12]
            db.execute(_experiments.insert().values(
                id=exp_id, prompt=prompt, status="running", created=time.time(),
                variants=json.dumps([v.__dict__ for v in variants])))
        return self.get(exp_id)

    def get(self, ref: str) -> Experiment:
        """By id, or the running (else the newest) experiment of a prompt name."""
        with self.engine.connect() as db:
            rows = db.execute(select(_experiments).where(
                (_experiments.c.id == ref) | (_experiments.c.prompt == ref))
                .order_by((_experiments.c.status == "running").desc(),
                          _experiments.c.created.desc())).all()
        if not rows:
            raise ConfigError(f"no experiment '{ref}'", fix="see `ragloom experiments list`")
        return _experiment(rows[0])

    def running(self, prompt: str) -> Experiment | None:
        with self.engine.connect() as db:
            row = db.execute(select(_experiments).where(_experiments.c.prompt == prompt,
                                                        _experiments.c.status == "running")).first()
        return _experiment(row) if row else None

    def list(self) -> list[Experiment]:
        with self.engine.connect() as db:
            rows = db.execute(select(_experiments).order_by(_experiments.c.created.desc())).all()
        return [_experiment(r) for r in rows]

    def stop(self, ref: str) -> Experiment:
        exp = self.get(ref)
        with self.engine.begin() as db:
            db.execute(update(_experiments).where(_experiments.c.id == exp.id)
                       .values(status="stopped", stopped=time.time()))
        return self.get(exp.id)


@functools.lru_cache(maxsize=16)
def _shared(home: Path, database: str | None) -> ExperimentStore:
    """One store per data directory or database: every question asks it (an indexed read)."""
    return ExperimentStore(store_target(database, home / "experiments.sqlite"))


def _experiment(row: Any) -> Experiment:
    return Experiment(row.id, row.prompt, row.status, row.created, row.stopped,
                      tuple(Variant(**v) for v in json.loads(row.variants)))


def assignment(settings: Settings, pinned: dict[str, str], key: str,
               prompt: str = "answer") -> tuple[dict[str, str], dict[str, str] | None]:
    """The prompt pins for one question and its experiment tag: an explicit pin of the prompt
    wins (the question is not part of the experiment)."""
    if prompt in pinned:
        return pinned, None
    exp = _shared(settings.home, settings.database).running(prompt)
    if exp is None:
        return pinned, None
    variant = exp.assign(key)
    return {**pinned, prompt: variant.ref}, {"id": exp.id, "variant": variant.name}


def _wilson(k: int, n: int) -> tuple[float, float] | None:
    if n == 0:
        return None
    z, p = 1.96, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At 0 and n the interval ends exactly at 0 or 1 (rounding must not put p outside it).
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"value": k / n if n else None, "n": n, "ci95": _wilson(k, n)}


def report(settings: Settings, ref: str) -> dict[str, Any]:
    """Per-variant figures from the experiment's traces."""
    from ragloom.agents.traces import traces_of

    store = ExperimentStore.for_settings(settings)
    try:
        exp = store.get(ref)
    finally:
        store.close()
    answers = traces_of(settings).experiment_answers(exp.id)
    variants = []
    for v in exp.variants:
        mine = [a for a in answers if a["variant"] == v.name]
        answered = [a for a in mine if not a.get("refused")]
        latency = [float(a["timings"]["total"]) for a in mine if a.get("timings")]
        rated = [a for a in mine if a["rating"]]
        variants.append({
            "name": v.name, "ref": v.ref, "weight": v.weight, "answers": len(mine),
            "refusal_rate": _rate(sum(bool(a.get("refused")) for a in mine), len(mine)),
            "citations_valid": _rate(sum(a.get("dropped_citations", 0) == 0 for a in answered),
                                     len(answered)),
            "grounded_rate": _rate(sum(a.get("grounded") is True for a in answered),
                                   len(answered)),
            "latency_s": {"median": statistics.median(latency) if latency else None,
                          "mean": statistics.fmean(latency) if latency else None,
                          "ci95": bootstrap_ci(latency) if len(latency) > 1 else None},
            "thumbs_up": _rate(sum(a["rating"] == "up" for a in rated), len(rated)),
            "usage": total_usage([a.get("usage") or {} for a in mine]),
            "prompts_used": sorted({(a.get("prompts") or {}).get(exp.prompt, "?") for a in mine})})
    return {"id": exp.id, "prompt": exp.prompt, "status": exp.status, "created": exp.created,
            "stopped": exp.stopped, "answers": len(answers), "variants": variants}
