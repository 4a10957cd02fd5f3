"""Evaluation suites as YAML files: the dataset, the collection and how to build it, the graph,
prompts and settings, the metrics and their thresholds. Validated on load with clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ragloom.core.errors import ConfigError
from ragloom.evals.datasets import DATASETS, default_data_dir, is_named, load_dataset
from ragloom.evals.metrics import ALL_METRICS, DEFAULT_METRICS, NEUTRAL
from ragloom.retrieval.where import WhereFilter

SUITES_DIR = Path(__file__).resolve().parent / "suites"


class SuiteRow(BaseModel):
    """One question of a suite's dataset."""

    model_config = ConfigDict(extra="allow")

    id: str
    question: str = Field(min_length=1)
    reference: str | None = Field(None, description="Reference answer, if any.")
    gold_sources: list[str] = Field(default_factory=list,
                                    description="File names or record ids of the gold documents.")
    synthetic: bool = False
    where: WhereFilter = Field(None, description="Metadata filter for this question (replaces "
                                                 "the suite's); JSON text in a CSV column.")


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(None, description="JSONL or CSV, relative to the suite file.")
    builtin: str | None = Field(None, description=f"One of {', '.join(DATASETS)} (shared/data), "
                                "or a folder in the BEIR or records format (relative to the "
                                "suite file; see docs/benchmarks.md).")
    split: str = Field("test", description="A BEIR folder's qrels split (qrels/SPLIT.tsv).")
    data_dir: Path | None = Field(None, description="Folder of the named builtin data sets.")

    @model_validator(mode="after")
    def _one_source(self) -> DatasetSpec:
        if (self.path is None) == (self.builtin is None):
            raise ValueError("give exactly one of dataset.path or dataset.builtin")
        if self.builtin is not None and not self.builtin.strip():
            raise ValueError(f"dataset.builtin is empty: give one of {', '.join(DATASETS)} or "
                             "a folder path")
        return self


class CollectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=3)
    paths: list[Path] = Field(default_factory=list,
                              description="Files or folders to ingest, relative to the suite file.")
    builtin_corpus: str | None = Field(None, description="Ingest a builtin data set's records: "
                                       "a name, or a BEIR or records folder (its corpus.jsonl).")


class GateRule(BaseModel):
    """A promotion gate on one metric: the paired 95% interval of (candidate - current) must not
    lie below ``-margin`` (above ``+margin`` for latency and model calls), over at least
    ``min_n`` rows scored in both runs (``ragloom.evals.gate``)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    margin: float = Field(0.0, ge=0, description="How much worse the candidate may be.")
    min_n: int = Field(5, ge=2, description="Rows both runs must have scored.")


class Suite(BaseModel):
    """A validated suite. ``base_dir`` is the folder its relative paths start from."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    dataset: DatasetSpec
    collection: CollectionSpec
    graph: str | None = Field(None, description="A registered graph (simple, corrective, "
                              "adaptive, or your own); None = settings.")
    prompts: dict[str, str] = Field(default_factory=dict, description="role -> NAME@VERSION.")
    settings: dict[str, Any] = Field(default_factory=dict, description="Settings overrides.")
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))
    thresholds: dict[str, float] = Field(default_factory=dict)
    gate: list[GateRule] = Field(default_factory=list, description="What a promotion gated on "
                                 "this suite may not make worse.")
    judge: str | None = Field(None, description="provider/model; None = settings.judge.")
    where: WhereFilter = Field(None, description="Metadata filter for every question.")
    base_dir: Path = Field(default=SUITES_DIR, exclude=True)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in ALL_METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(ALL_METRICS)}")
        return value

    @model_validator(mode="after")
    def _resolve_folders(self) -> Suite:
        """A builtin that is not a public set's name is a folder, relative to the suite file."""
        if self.dataset.builtin and not is_named(self.dataset.builtin):
            self.dataset.builtin = str(self.resolve(Path(self.dataset.builtin).expanduser()))
        corpus = self.collection.builtin_corpus
        if corpus and not is_named(corpus):
            self.collection.builtin_corpus = str(self.resolve(Path(corpus).expanduser()))
        return self

    @model_validator(mode="after")
    def _thresholds_are_metrics(self) -> Suite:
        unknown = [m for m in self.thresholds if m not in self.metrics]
        if unknown:
            raise ValueError(f"thresholds for metrics the suite does not compute: {unknown}")
        return self

    @model_validator(mode="after")
    def _gate_on_computed_metrics(self) -> Suite:
        for rule in self.gate:
            if rule.metric not in self.metrics:
                raise ValueError(f"gate on '{rule.metric}', which the suite does not compute")
            if rule.metric in NEUTRAL:
                raise ValueError(f"'{rule.metric}' has no better or worse direction: it cannot "
                                 "gate a promotion")
        return self

    def with_metrics(self, metrics: list[str]) -> Suite:
        """The same suite computing only ``metrics`` (thresholds of the others are dropped)."""
        try:
            return Suite.model_validate({
                **self.model_dump(), "base_dir": self.base_dir, "metrics": metrics,
                "thresholds": {m: v for m, v in self.thresholds.items() if m in metrics},
                "gate": [g.model_dump() for g in self.gate if g.metric in metrics]})
        except ValidationError as exc:
            raise ConfigError(f"invalid metrics: {_first_error(exc)}", subject=self.name,
                              fix=f"use some of {', '.join(ALL_METRICS)}") from None

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def data_dir(self) -> Path:
        return self.resolve(self.dataset.data_dir) if self.dataset.data_dir else default_data_dir()

    def rows(self, limit: int | None = None) -> list[SuiteRow]:
        """The dataset's questions (the first ``limit`` of them)."""
        rows = _builtin_rows(self) if self.dataset.builtin else read_rows(
            self.resolve(self.dataset.path))  # type: ignore[arg-type]
        ids = [r.id for r in rows]
        if len(set(ids)) != len(ids):
            raise ConfigError("duplicate row ids in the dataset", subject=self.name,
                              fix="give every row a unique id")
        return rows[:limit] if limit else rows


def _builtin_rows(suite: Suite) -> list[SuiteRow]:
    ds = load_dataset(str(suite.dataset.builtin), suite.data_dir(), split=suite.dataset.split)
    return [SuiteRow(id=q.id, question=q.text, reference=q.answer, gold_sources=sorted(q.gold),
                     type=q.kind) for q in ds.questions]


def read_rows(path: Path) -> list[SuiteRow]:
    """Rows from JSONL or CSV (columns: id, question, reference, gold_sources separated by ``|``)."""
    if path.is_dir():
        raise ConfigError(f"dataset.path is a folder: {path}",
                          fix="name a JSONL or CSV file, or put a BEIR or records folder in "
                          "dataset.builtin (docs/evals.md)")
    if not path.is_file():
        raise ConfigError(f"dataset file not found: {path}", fix="check dataset.path in the suite")
    raw: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                gold = rec.pop("gold_sources", "") or ""
                raw.append({**rec, "gold_sources": [g for g in gold.split("|") if g]})
    else:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"line {n} is not JSON: {exc.msg}", subject=str(path),
                                  fix="one JSON object per line") from None
    rows = []
    for n, rec in enumerate(raw, start=1):
        rec.setdefault("id", f"row-{n}")
        rec["id"] = str(rec["id"])
        try:
            rows.append(SuiteRow.model_validate(rec))
        except ValidationError as exc:
            raise ConfigError(f"row {n} is invalid: {_first_error(exc)}",
                              subject=f"{path}, id {rec['id']}",
                              fix="each row needs a non-empty 'question' (and a valid 'where', "
                                  "if any)") from None
    return rows


def write_rows(rows: list[SuiteRow], path: Path) -> None:
    """Write rows as JSONL (what ``dataset from-feedback`` and ``generate`` produce)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row.model_dump(exclude_none=True), ensure_ascii=False) + "\n")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def load_suite(name_or_path: str | Path) -> Suite:
    """A suite by name (``evals/suites/NAME.yaml``) or by path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = SUITES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"no suite '{name_or_path}'",
                          fix=f"use one of {', '.join(list_suites()) or '(none)'} or a YAML path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"suite is not valid YAML: {exc}".splitlines()[0], subject=str(path),
                          fix="fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError("suite must be a YAML mapping", subject=str(path),
                          fix="see docs/evals.md for the format")
    data.setdefault("name", path.stem)
    try:
        return Suite.model_validate({**data, "base_dir": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(f"invalid suite: {_first_error(exc)}", subject=str(path),
                          fix="see docs/evals.md for the suite format") from None


def list_suites(folder: Path = SUITES_DIR) -> list[str]:
    """Names of the suites shipped in ``evals/suites``."""
    return sorted(p.stem for p in folder.glob("*.yaml"))
