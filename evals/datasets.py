"""The public evaluation sets in ``shared/data`` (SciFact, HotpotQA, Docugami SEC 10-Q), loaded
into one shape: a corpus (records or a folder of files) and questions with gold document ids."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.errors import ConfigError
from retrieval.ingest import Record

DatasetName = Literal["scifact", "hotpotqa", "docugami"]
DATASETS: tuple[DatasetName, ...] = ("scifact", "hotpotqa", "docugami")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    gold: frozenset[str]  # gold document ids (SciFact doc ids, HotpotQA passage ids, PDF names)
    answer: str | None = None
    kind: str | None = None


@dataclass
class Dataset:
    name: DatasetName
    questions: list[Question]
    corpus_files: list[Path]  # what the cache key hashes
    records: list[Record] = field(default_factory=list)  # record corpora
    folder: Path | None = None  # file corpora
    multi_hop: bool = False


def default_data_dir() -> Path:
    """``../shared/data`` beside the repository (where the project keeps its data)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _jsonl(path: Path) -> Iterator[dict]:  # type: ignore[type-arg]
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_dataset(name: str, data_dir: Path | None = None) -> Dataset:
    root = (data_dir or default_data_dir()) / {"scifact": "scifact", "hotpotqa": "hotpotqa",
                                               "docugami": "docugami_sec10q"}.get(name, name)
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset '{name}'", fix=f"use one of {', '.join(DATASETS)}")
    if not root.is_dir():
        raise ConfigError(f"dataset folder not found: {root}",
                          fix="pass --data-dir pointing at the folder that holds scifact/, "
                          "hotpotqa/ and docugami_sec10q/")
    return {"scifact": _scifact, "hotpotqa": _hotpotqa, "docugami": _docugami}[name](root)


def _scifact(root: Path) -> Dataset:
    corpus = root / "corpus.jsonl"
    records = [Record(id=str(d["_id"]), text=d["text"], title=d.get("title") or None)
               for d in _jsonl(corpus)]
    qrels: dict[str, set[str]] = {}
    with (root / "qrels" / "test.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels.setdefault(row["query-id"], set()).add(row["corpus-id"])
    queries = {str(q["_id"]): q["text"] for q in _jsonl(root / "queries.jsonl")}
    questions = [Question(qid, queries[qid], frozenset(gold)) for qid, gold in qrels.items()]
    return Dataset("scifact", questions, [corpus, root / "qrels" / "test.tsv"], records=records)


def _hotpotqa(root: Path) -> Dataset:
    corpus = root / "corpus.jsonl"
    records = [Record(id=p["id"], text=p["text"], title=p.get("title") or None)
               for p in _jsonl(corpus)]
    questions = [Question(q["id"], q["question"], frozenset(q["gold_passage_ids"]), q["answer"],
                          q.get("type")) for q in _jsonl(root / "questions.jsonl")]
    return Dataset("hotpotqa", questions, [corpus], records=records, multi_hop=True)


def _docugami(root: Path) -> Dataset:
    docs = root / "docs"
    questions = [Question(q["id"], q["question"], frozenset(q["gold_docs"]), q["answer"],
                          q.get("question_type")) for q in _jsonl(root / "questions.jsonl")]
    return Dataset("docugami", questions, sorted(docs.glob("*.pdf")), folder=docs)
