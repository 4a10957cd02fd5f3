"""Your own data sets: BEIR and records folders are detected, loaded and validated with errors
that name the file, the line and the fix; `ragloom bench retrieval FOLDER` measures them, with a
cached collection per folder content; suites can name such a folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragloom.core.errors import ConfigError
from ragloom.core.settings import load_settings
from ragloom.evals import jsonl_files
from ragloom.evals.datasets import default_data_dir, detect_format, load_dataset
from ragloom.evals.retrieval_bench import bench_settings
from ragloom.evals.suites import load_suite, read_rows

DOCS = [
    {
        "id": "tea",
        "title": "Oolong",
        "text": "Brew the oolong at eighty five degrees for three minutes in a clay pot.",
    },
    {"id": "ship", "text": "Parcels to Canada arrive within seven to ten business days by air."},
    {
        "id": "pay",
        "title": "Pay",
        "text": "Cooperative members are paid twice a year, in June and in December.",
    },
    {"id": "bike", "text": "The courier bicycle has a steel frame, drum brakes and a dynamo light."},
]


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def records_folder(root: Path, questions: list[dict] | None = None) -> Path:  # type: ignore[type-arg]
    _jsonl(root / "corpus.jsonl", DOCS)
    _jsonl(
        root / "questions.jsonl",
        questions
        if questions is not None
        else [
            {
                "id": "q-tea",
                "question": DOCS[0]["text"],
                "answer": "eighty five degrees",
                "gold_passage_ids": ["tea"],
                "type": "lookup",
            },
            {"id": "q-ship", "question": DOCS[1]["text"], "gold_passage_ids": ["ship"]},
            {"id": "q-pay", "question": DOCS[2]["text"], "gold_passage_ids": ["pay"]},
        ],
    )
    return root


def beir_folder(root: Path) -> Path:
    _jsonl(
        root / "corpus.jsonl",
        [{"_id": d["id"], "title": d.get("title", ""), "text": d["text"]} for d in DOCS],
    )
    _jsonl(
        root / "queries.jsonl",
        [
            {"_id": "1", "text": "oolong temperature"},
            {"_id": 2, "text": "delivery to Canada"},
            {"_id": "3", "text": "when are members paid"},
        ],
    )
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n1\ttea\t1\n2\tship\t1\n2\tbike\t0\n"
    )
    (root / "qrels" / "dev.tsv").write_text("3\tpay\t2\n3\tship\t1\n")  # no header
    return root


# Detection and loading -------------------------------------------------------------------------


def test_records_folder_loads_with_optional_fields(tmp_path) -> None:
    folder = records_folder(tmp_path / "my data")
    assert detect_format(folder) == "records"
    ds = load_dataset(folder)
    assert (ds.name, ds.format, ds.root, ds.multi_hop) == ("my-data", "records", folder, False)
    assert [(r.id, r.title) for r in ds.records] == [
        ("tea", "Oolong"),
        ("ship", None),
        ("pay", "Pay"),
        ("bike", None),
    ]
    first = ds.questions[0]
    assert (first.id, first.gold, first.answer, first.kind) == (
        "q-tea",
        frozenset({"tea"}),
        "eighty five degrees",
        "lookup",
    )
    assert ds.questions[1].answer is None and ds.questions[1].kind is None
    assert ds.corpus_files == [folder / "corpus.jsonl", folder / "questions.jsonl"]
    assert load_dataset(str(folder)).questions == ds.questions  # a str path works as well


def test_records_questions_without_gold_are_allowed(tmp_path) -> None:
    folder = records_folder(
        tmp_path / "d",
        [
            {"id": 1, "question": "Anything?"},
            {"id": 2, "question": "Both?", "gold_passage_ids": ["tea", "pay"]},
        ],
    )
    ds = load_dataset(folder)
    assert [q.id for q in ds.questions] == ["1", "2"] and ds.questions[0].gold == frozenset()
    assert ds.multi_hop  # a question with two gold documents: all-gold@k is reported


def test_beir_folder_loads_the_chosen_split(tmp_path) -> None:
    folder = beir_folder(tmp_path / "b")
    assert detect_format(folder) == "beir"
    ds = load_dataset(folder)
    assert (ds.format, ds.name) == ("beir", "b")
    assert [(q.id, q.text, q.gold) for q in ds.questions] == [
        ("1", "oolong temperature", frozenset({"tea"})),
        ("2", "delivery to Canada", frozenset({"ship"})),
    ]  # score 0 is not relevant
    assert ds.records[0].title == "Oolong" and ds.records[1].title is None  # "" title: none
    assert ds.corpus_files == [folder / "corpus.jsonl", folder / "qrels" / "test.tsv"]
    dev = load_dataset(folder, split="dev")
    assert [(q.id, q.gold) for q in dev.questions] == [("3", frozenset({"pay", "ship"}))]
    assert dev.multi_hop


def test_names_still_mean_the_public_sets(tmp_path, monkeypatch) -> None:
    (tmp_path / "hotpotqa").mkdir()  # a folder of that name in the working directory
    with pytest.raises(ConfigError, match="dataset folder not found.*--data-dir"):
        load_dataset("hotpotqa", tmp_path / "elsewhere")
    records_folder(tmp_path / "hotpotqa", None)
    assert load_dataset("./hotpotqa").format == "records"  # a path is a folder


@pytest.mark.skipif(not (default_data_dir() / "hotpotqa").is_dir(), reason="shared data not present")
def test_the_shared_copies_are_folders_in_the_documented_formats() -> None:
    hotpot = load_dataset(default_data_dir() / "hotpotqa")
    named = load_dataset("hotpotqa")
    assert hotpot.format == "records" and hotpot.questions == named.questions
    assert named.corpus_files == [default_data_dir() / "hotpotqa" / "corpus.jsonl"]  # cache kept
    scifact = load_dataset(default_data_dir() / "scifact")
    assert scifact.format == "beir" and len(scifact.questions) == 300


# Errors: the file, the line, what to do ----------------------------------------------------------


def _error(folder: Path, **kw: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_dataset(folder, **kw)
    message = str(info.value)
    assert "Fix:" in message and "Traceback" not in message
    return message


def test_missing_files_are_named(tmp_path) -> None:
    folder = tmp_path / "r"
    _jsonl(folder / "questions.jsonl", [{"id": "q", "question": "Q?"}])
    message = _error(folder)
    assert "missing file corpus.jsonl" in message and str(folder / "corpus.jsonl") in message
    beir = beir_folder(tmp_path / "b")
    (beir / "queries.jsonl").unlink()
    assert "missing file queries.jsonl" in _error(beir)
    beir_folder(tmp_path / "b2")
    message = _error(tmp_path / "b2", split="train")
    assert "missing file qrels/train.tsv" in message and "(dev, test) with --split" in message
    assert "invalid split name" in _error(tmp_path / "b2", split="../x")


def test_not_a_folder_or_not_a_known_format(tmp_path) -> None:
    assert "no data set named" in _error(tmp_path / "absent")
    assert "scifact, hotpotqa, docugami" in _error(tmp_path / "absent")
    _jsonl(tmp_path / "f.jsonl", [{}])
    assert "a data set is a folder, not a file" in _error(tmp_path / "f.jsonl")
    only = tmp_path / "only-corpus"
    _jsonl(only / "corpus.jsonl", DOCS)
    message = _error(only)
    assert "unknown data set format" in message and "found: corpus.jsonl" in message
    both = records_folder(tmp_path / "both")
    _jsonl(both / "queries.jsonl", [{"_id": "1", "text": "x"}])
    assert "holds both questions.jsonl" in _error(both)


def test_malformed_json_lines_give_the_line(tmp_path) -> None:
    folder = records_folder(tmp_path / "r")
    corpus = folder / "corpus.jsonl"
    corpus.write_text(json.dumps(DOCS[0]) + '\n\n{"id": "x", "text": oops}\n')
    message = _error(folder)
    assert "line 3: not valid JSON" in message and str(corpus) in message
    corpus.write_text(json.dumps(DOCS) + "\n")  # a JSON array, not JSON Lines
    assert "line 1: a JSON list, not an object" in _error(folder)
    corpus.write_bytes(b'{"id": "a", "text": "caf\xe9"}\n')
    assert "line 1: not UTF-8 text" in _error(folder)


def test_fields_are_checked(tmp_path) -> None:
    folder = records_folder(tmp_path / "r")
    corpus, questions = folder / "corpus.jsonl", folder / "questions.jsonl"
    _jsonl(corpus, [DOCS[0], {"_id": "x", "text": "BEIR ids in a records corpus"}])
    assert "line 2: 'id' missing" in _error(folder)
    _jsonl(corpus, [DOCS[0], {"id": "x"}])
    assert "line 2: document 'x' has no 'text'" in _error(folder)
    _jsonl(corpus, [{"id": "x", "text": "  "}])
    assert "has an empty 'text' and no 'title'" in _error(folder)
    _jsonl(corpus, [DOCS[0], DOCS[0]])
    assert "line 2: document id 'tea' appears a second time" in _error(folder)
    _jsonl(corpus, DOCS)
    _jsonl(questions, [{"id": "q1", "question": ""}])
    message = _error(folder)
    assert "line 1: 'question' is empty" in message and str(questions) in message
    _jsonl(questions, [{"id": "q1", "question": "Q?", "gold_passage_ids": "tea"}])
    assert "'gold_passage_ids' is not a list" in _error(folder)
    _jsonl(questions, [{"id": "q1", "question": "Q?", "answer": 42}])
    assert "'answer' is a int, not a string" in _error(folder)
    _jsonl(questions, [{"id": "q1", "question": "Q?"}, {"id": "q1", "question": "R?"}])
    assert "line 2: question id 'q1' appears a second time" in _error(folder)


def test_a_gold_id_missing_from_the_corpus(tmp_path) -> None:
    folder = records_folder(
        tmp_path / "r",
        [
            {"id": "q1", "question": "Q?", "gold_passage_ids": ["tea"]},
            {"id": "q7", "question": "R?", "gold_passage_ids": ["tea", "d99"]},
        ],
    )
    message = _error(folder)
    assert (
        "line 2: question 'q7' names gold passage(s) ['d99'] that are not in corpus.jsonl" in message
        and str(folder / "questions.jsonl") in message
    )
    assert "add those documents to corpus.jsonl" in message
    beir = beir_folder(tmp_path / "b")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\ttea\t1\n1\tnope\t1\n")
    message = _error(beir)
    assert "line 3: query '1' names gold document 'nope'" in message
    assert str(beir / "qrels" / "test.tsv") in message
    (beir / "qrels" / "test.tsv").write_text("9\ttea\t1\n")
    assert "line 1: query '9' is not in queries.jsonl" in _error(beir)


def test_qrels_lines_are_checked(tmp_path) -> None:
    beir = beir_folder(tmp_path / "b")
    qrels = beir / "qrels" / "test.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\n1 tea 1\n")
    assert "line 2: 1 tab-separated column(s), expected 3" in _error(beir)
    qrels.write_text("1\ttea\t1\n1\ttea\tyes\n")
    assert "line 2: score 'yes' is not an integer" in _error(beir)
    qrels.write_text("query-id\tcorpus-id\tscore\n1\ttea\t0\n")
    assert "no relevant pairs (score > 0)" in _error(beir)


def test_empty_corpus_and_no_questions(tmp_path) -> None:
    folder = records_folder(tmp_path / "r")
    (folder / "corpus.jsonl").write_text("\n\n")
    message = _error(folder)
    assert "the corpus is empty" in message and str(folder / "corpus.jsonl") in message
    _jsonl(folder / "corpus.jsonl", DOCS)
    (folder / "questions.jsonl").write_text("")
    assert "no questions" in _error(folder)


def test_an_overlong_line_is_refused_without_reading_it_whole(tmp_path, monkeypatch) -> None:
    folder = records_folder(tmp_path / "r")
    monkeypatch.setattr(jsonl_files, "MAX_LINE_BYTES", 64)
    message = _error(folder)
    assert "line 1: longer than" in message and "JSON Lines" in message


def test_the_cli_prints_one_line_and_exits_2(tmp_path, monkeypatch, capsys) -> None:
    from ragloom import cli

    folder = records_folder(tmp_path / "r", [{"id": "q", "question": "Q?", "gold_passage_ids": ["d99"]}])
    monkeypatch.setattr(
        sys, "argv", ["ragloom", "--home", str(tmp_path / "home"), "bench", "retrieval", str(folder)]
    )
    with pytest.raises(SystemExit) as info:
        cli.main()
    printed = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in printed
    assert "error: line 1: question 'q' names gold passage(s) ['d99']" in " ".join(printed.split())


# The bench on a folder -------------------------------------------------------------------------


def test_cache_keys_follow_the_folder_content(tmp_path) -> None:
    settings = load_settings(home=tmp_path / "home", embedding="local/wordllama-l2-supercat")
    one = records_folder(tmp_path / "one" / "data")
    two = records_folder(tmp_path / "two" / "data")
    home_one = bench_settings(settings, load_dataset(one)).home
    assert home_one == bench_settings(settings, load_dataset(two)).home  # the same content
    with (two / "corpus.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "new", "text": "One more document."}) + "\n")
    home_two = bench_settings(settings, load_dataset(two)).home
    assert home_two != home_one and home_one.name.startswith("data-")
    beir = beir_folder(tmp_path / "b")
    assert (
        bench_settings(settings, load_dataset(beir)).home
        != bench_settings(settings, load_dataset(beir, split="dev")).home
    )


def test_bench_retrieval_on_a_records_folder_end_to_end(tmp_path, monkeypatch) -> None:
    from ragloom.cli import app

    monkeypatch.setenv("RAGLOOM_MODEL_CACHE", str(tmp_path / "cache" / "models"))
    folder = records_folder(tmp_path / "mine")
    args = [
        "--embedding",
        "local/wordllama-l2-supercat",
        "--home",
        str(tmp_path / "home"),
        "bench",
        "retrieval",
        str(folder),
        "--retriever",
        "hybrid",
        "--json",
        "--fail-under",
        "recall@2=1.0",
    ]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    assert result["questions"] == 3 and result["chunks"] >= 4 and result["ingest_s"] is not None
    metrics = result["metrics"]
    # Every question is the exact text of its one gold document: it must come first.
    assert metrics["recall@2"] == metrics["mrr"] == metrics["ndcg@10"] == 1.0
    assert "all_gold@5" not in metrics and result["extra"]["format"] == "records"
    assert list((tmp_path / "cache" / "bench").iterdir())[0].name.startswith("mine-")
    again = CliRunner().invoke(app, [*args[:5], "retrieval", "--dataset", str(folder), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["ingest_s"] is None  # the cached collection was reused
    both = CliRunner().invoke(app, [*args[:7], "--dataset", "scifact"])
    assert isinstance(both.exception, ConfigError) and "two data sets given" in str(both.exception)


# Suites naming a folder ------------------------------------------------------------------------


def test_a_suite_can_name_a_folder(tmp_path, settings, fake_embeddings) -> None:
    from ragloom.evals.answering import build_suite_collection

    records_folder(tmp_path / "data" / "mine")
    suite_dir = tmp_path / "suites"
    suite_dir.mkdir()
    (suite_dir / "mine.yaml").write_text(
        "dataset: {builtin: ../data/mine}\ncollection: {name: eval-mine, builtin_corpus: "
        "../data/mine}\nmetrics: [retrieval_recall, token_f1]\n"
    )
    suite = load_suite(suite_dir / "mine.yaml")
    folder = str((tmp_path / "data" / "mine").resolve())
    assert suite.dataset.builtin == folder and suite.collection.builtin_corpus == folder
    assert suite.with_metrics(["token_f1"]).dataset.builtin == folder
    rows = suite.rows()
    assert [(r.id, r.reference, r.gold_sources) for r in rows][:2] == [
        ("q-tea", "eighty five degrees", ["tea"]),
        ("q-ship", None, ["ship"]),
    ]
    assert rows[0].model_extra == {"type": "lookup"}
    col = build_suite_collection(suite, settings, fake_embeddings)
    assert col.store.count() >= len(DOCS)
    assert {meta["record_id"] for _, _, meta in col.store.records()} == {d["id"] for d in DOCS}


def test_a_suite_folder_is_read_when_run_not_when_listed(tmp_path) -> None:
    (tmp_path / "s.yaml").write_text("dataset: {builtin: ./absent, split: dev}\ncollection: {name: abc}\n")
    suite = load_suite(tmp_path / "s.yaml")  # loads: the folder may appear later
    assert suite.dataset.split == "dev"
    with pytest.raises(ConfigError, match="no data set named"):
        suite.rows()
    (tmp_path / "t.yaml").write_text("dataset: {builtin: hotpotqa}\ncollection: {name: abc}\n")
    assert load_suite(tmp_path / "t.yaml").dataset.builtin == "hotpotqa"
    records_folder(tmp_path / "rows")
    with pytest.raises(ConfigError, match="dataset.path is a folder.*dataset.builtin"):
        read_rows(tmp_path / "rows")
