"""Evaluation data sets loaded into one shape: a corpus (records or a folder of files) and questions
with gold document ids.

Two kinds of source:

- the public sets in ``shared/data``, by name: ``scifact`` (BEIR), ``hotpotqa`` (records),
  ``docugami`` (PDFs);
- any folder in one of the two documented formats (docs/benchmarks.md, "Your own data"), detected
  from the files it holds: **BEIR** (``corpus.jsonl`` + ``queries.jsonl`` + ``qrels/<split>.tsv``)
  or **records** (``corpus.jsonl`` + ``questions.jsonl``, the HotpotQA copy's layout).

Files are read line by line (never whole), and every problem is a ``ConfigError`` naming the file,
the line and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ragloom.core.errors import ConfigError
from ragloom.evals.jsonl_files import bad_line, id_of, jsonl, lines, require_file, text_of, unique
from ragloom.retrieval.ingest import Record

DatasetName = Literal["scifact", "hotpotqa", "docugami"]
DATASETS: tuple[DatasetName, ...] = ("scifact", "hotpotqa", "docugami")
DatasetFormat = Literal["beir", "records", "files"]
_FOLDERS = {"scifact": "scifact", "hotpotqa": "hotpotqa", "docugami": "docugami_sec10q"}
_DOCS = "see docs/benchmarks.md, 'Your own data'"
_FORMATS = "records: corpus.jsonl + questions.jsonl; BEIR: corpus.jsonl + queries.jsonl + qrels/<split>.tsv"


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    gold: frozenset[str]  # gold document ids (SciFact doc ids, HotpotQA passage ids, PDF names)
    answer: str | None = None
    kind: str | None = None


@dataclass
class Dataset:
    name: str  # one of DATASETS, or the folder's name
    questions: list[Question]
    corpus_files: list[Path]  # what the cache key hashes
    records: list[Record] = field(default_factory=list)  # record corpora
    folder: Path | None = None  # file corpora
    multi_hop: bool = False
    format: DatasetFormat = "records"
    root: Path | None = None  # the data set's folder


def default_data_dir() -> Path:
    """``../shared/data`` beside the repository (where the project keeps its data)."""
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def is_named(name_or_path: str | Path) -> bool:
    """Whether this is one of the public sets' names (anything else is a folder path)."""
    return isinstance(name_or_path, str) and name_or_path in DATASETS


def slug(name: str) -> str:
    """A data set's name made safe for a directory name and a record namespace."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "dataset"


def load_dataset(name_or_path: str | Path, data_dir: Path | None = None, *, split: str = "test") -> Dataset:
    """A public set by name (read from ``data_dir``, default ``../shared/data``), or a folder in
    the BEIR or records format. ``split`` picks a BEIR folder's ``qrels/<split>.tsv``."""
    if not is_named(name_or_path):
        return load_folder(Path(name_or_path), split=split)
    name = str(name_or_path)
    root = (data_dir or default_data_dir()) / _FOLDERS[name]
    if not root.is_dir():
        raise ConfigError(
            f"dataset folder not found: {root}",
            fix="pass --data-dir pointing at the folder that holds scifact/, hotpotqa/ and docugami_sec10q/",
        )
    if name == "scifact":
        return _beir(root, split, name="scifact", multi_hop=False)
    if name == "hotpotqa":  # its cache key hashes the corpus only, as it always has
        ds = _records(root, name="hotpotqa", multi_hop=True)
        ds.corpus_files = ds.corpus_files[:1]
        return ds
    return _docugami(root)


def detect_format(folder: Path) -> Literal["beir", "records"]:
    """``beir`` or ``records`` from the files the folder holds (a clear error when neither)."""
    beir = (folder / "queries.jsonl").is_file() or (folder / "qrels").is_dir()
    records = (folder / "questions.jsonl").is_file()
    if beir and records:
        raise ConfigError(
            "the folder holds both questions.jsonl (records format) and "
            "queries.jsonl or qrels/ (BEIR format)",
            subject=str(folder),
            fix="keep the files of one format only, or split them into two folders",
        )
    if beir:
        return "beir"
    if records:
        return "records"
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    raise ConfigError(
        "unknown data set format: no questions.jsonl, queries.jsonl or qrels/ "
        f"(found: {', '.join(found[:8]) or 'nothing'}"
        f"{', …' if len(found) > 8 else ''})",
        subject=str(folder),
        fix=f"lay the folder out as {_FORMATS} ({_DOCS})",
    )


def load_folder(folder: Path, *, split: str = "test") -> Dataset:
    """A data set from a folder in the BEIR or records format (detected)."""
    folder = folder.expanduser()
    if not folder.exists():
        raise ConfigError(
            f"no data set named '{folder}' and no folder there",
            subject=str(folder.absolute()),
            fix=f"use one of {', '.join(DATASETS)}, or the path to a folder in "
            f"the BEIR or records format ({_DOCS})",
        )
    if not folder.is_dir():
        raise ConfigError(
            "a data set is a folder, not a file",
            subject=str(folder),
            fix=f"pass the folder that holds the files ({_FORMATS})",
        )
    folder = folder.resolve()
    name = slug(folder.name)
    if detect_format(folder) == "beir":
        return _beir(folder, split, name=name, multi_hop=None)
    return _records(folder, name=name, multi_hop=None)


def _require(path: Path, role: str) -> Path:
    return require_file(path, role, f"add it; {_FORMATS} ({_DOCS})")


def _corpus(path: Path, id_key: str) -> tuple[list[Record], set[str]]:
    shape = f'{{"{id_key}": ID, "text": TEXT, "title": TITLE (optional)}}'
    fix = f"each line of corpus.jsonl is a document: {shape}"
    records: list[Record] = []
    ids: set[str] = set()
    for n, obj in jsonl(_require(path, "the documents")):
        rid = id_of(obj, id_key, path, n, fix)
        text = text_of(obj, "text", path, n, required=False, fix=fix)
        title = text_of(obj, "title", path, n, required=False, fix=fix)
        if text is None:
            raise bad_line(path, n, f"document '{rid}' has no 'text'", fix)
        if not text.strip() and not (title or "").strip():
            raise bad_line(
                path,
                n,
                f"document '{rid}' has an empty 'text' and no 'title'",
                "give it some text, or remove the line",
            )
        unique(rid, ids, path, n, "document")
        records.append(Record(id=rid, text=text, title=title or None))
    if not records:
        raise ConfigError(
            "the corpus is empty (no documents)",
            subject=str(path),
            fix=f"add one JSON object per line: {shape}",
        )
    return records, ids


def _multi_hop(questions: list[Question], given: bool | None) -> bool:
    return given if given is not None else any(len(q.gold) > 1 for q in questions)


def _records(root: Path, *, name: str, multi_hop: bool | None) -> Dataset:
    """corpus.jsonl (``id``, ``text``, ``title``) + questions.jsonl (``id``, ``question``,
    ``answer``, ``gold_passage_ids``, ``type``)."""
    corpus_path = root / "corpus.jsonl"
    records, ids = _corpus(corpus_path, "id")
    path = _require(root / "questions.jsonl", "the questions")
    fix = (
        'each line of questions.jsonl is {"id": ID, "question": TEXT, "answer": TEXT '
        '(optional), "gold_passage_ids": [corpus ids] (optional), "type": TEXT (optional)}'
    )
    questions: list[Question] = []
    seen: set[str] = set()
    for n, obj in jsonl(path):
        qid = id_of(obj, "id", path, n, fix)
        text = text_of(obj, "question", path, n, required=True, fix=fix)
        answer = text_of(obj, "answer", path, n, required=False, fix=fix)
        kind = text_of(obj, "type", path, n, required=False, fix=fix)
        gold = obj.get("gold_passage_ids") or []
        if not isinstance(gold, list) or not all(
            isinstance(g, str | int) and not isinstance(g, bool) for g in gold
        ):
            raise bad_line(path, n, "'gold_passage_ids' is not a list of corpus ids", fix)
        gold_ids = frozenset(str(g) for g in gold)
        missing = sorted(gold_ids - ids)
        if missing:
            raise bad_line(
                path,
                n,
                f"question '{qid}' names gold passage(s) {missing[:5]} that are not in corpus.jsonl",
                "fix the ids in gold_passage_ids, or add those documents to corpus.jsonl",
            )
        unique(qid, seen, path, n, "question")
        questions.append(Question(qid, str(text), gold_ids, answer, kind))
    if not questions:
        raise ConfigError("no questions", subject=str(path), fix=f"add one per line: {fix}")
    return Dataset(
        name,
        questions,
        [corpus_path, path],
        records=records,
        multi_hop=_multi_hop(questions, multi_hop),
        format="records",
        root=root,
    )


def _beir(root: Path, split: str, *, name: str, multi_hop: bool | None) -> Dataset:
    """corpus.jsonl (``_id``, ``title``, ``text``) + queries.jsonl (``_id``, ``text``) +
    qrels/<split>.tsv (``query-id``, ``corpus-id``, ``score``; score > 0 is relevant)."""
    corpus_path = root / "corpus.jsonl"
    records, ids = _corpus(corpus_path, "_id")
    qpath = _require(root / "queries.jsonl", "the queries")
    qfix = 'each line of queries.jsonl is {"_id": ID, "text": TEXT}'
    queries: dict[str, str] = {}
    for n, obj in jsonl(qpath):
        qid = id_of(obj, "_id", qpath, n, qfix)
        queries[qid] = str(text_of(obj, "text", qpath, n, required=True, fix=qfix))
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", split):
        raise ConfigError(
            f"invalid split name '{split}'",
            fix="use a name such as test, dev or train (the qrels/<split>.tsv file)",
        )
    rpath = root / "qrels" / f"{split}.tsv"
    if not rpath.is_file():
        splits = sorted(p.stem for p in (root / "qrels").glob("*.tsv"))
        raise ConfigError(
            f"missing file qrels/{split}.tsv (the relevance judgments of split '{split}')",
            subject=str(rpath),
            fix=f"choose a split that exists ({', '.join(splits)}) with --split"
            if splits
            else f"add qrels/<split>.tsv with the columns query-id, corpus-id, score ({_DOCS})",
        )
    rfix = "each line of a qrels file is query-id<TAB>corpus-id<TAB>score (a header line is allowed)"
    qrels: dict[str, set[str]] = {}
    first = True
    for n, line in lines(rpath):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        cols = line.split("\t")
        if first and len(cols) == 3 and not _is_int(cols[2]):  # the header
            first = False
            continue
        first = False
        if len(cols) != 3:
            raise bad_line(rpath, n, f"{len(cols)} tab-separated column(s), expected 3", rfix)
        qid, did, score = (c.strip() for c in cols)
        if not _is_int(score):
            raise bad_line(rpath, n, f"score '{score}' is not an integer", rfix)
        if int(score) <= 0:
            continue
        if qid not in queries:
            raise bad_line(
                rpath,
                n,
                f"query '{qid}' is not in queries.jsonl",
                "fix the query id, or add the query to queries.jsonl",
            )
        if did not in ids:
            raise bad_line(
                rpath,
                n,
                f"query '{qid}' names gold document '{did}' that is not in corpus.jsonl",
                "fix the corpus id, or add the document to corpus.jsonl",
            )
        qrels.setdefault(qid, set()).add(did)
    if not qrels:
        raise ConfigError("no relevant pairs (score > 0)", subject=str(rpath), fix=f"add lines: {rfix}")
    questions = [Question(qid, queries[qid], frozenset(gold)) for qid, gold in qrels.items()]
    return Dataset(
        name,
        questions,
        [corpus_path, rpath],
        records=records,
        multi_hop=_multi_hop(questions, multi_hop),
        format="beir",
        root=root,
    )


def _is_int(text: str) -> bool:
    return bool(re.fullmatch(r"\s*-?\d+\s*", text))


def _docugami(root: Path) -> Dataset:
    docs = root / "docs"
    path = _require(root / "questions.jsonl", "the questions")
    fix = "see the upstream README in the data set's folder"
    questions = []
    for n, q in jsonl(path):
        if not isinstance(q.get("gold_docs"), list) or "question" not in q:
            raise bad_line(path, n, "needs 'question' and a 'gold_docs' list", fix)
        questions.append(
            Question(
                id_of(q, "id", path, n, fix),
                q["question"],
                frozenset(q["gold_docs"]),
                q.get("answer"),
                q.get("question_type"),
            )
        )
    return Dataset("docugami", questions, sorted(docs.glob("*.pdf")), folder=docs, format="files", root=root)
