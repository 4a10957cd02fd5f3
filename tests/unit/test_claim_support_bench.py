"""benchmarks/claim_support.py: the labelled set built from a tiny HotpotQA-shaped fixture, and its
counting (no real data, no model; the checker itself is stubbed except in the smoke test)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from ragloom.retrieval.types import RetrievedChunk

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "claim_support.py"
_spec = importlib.util.spec_from_file_location("claim_support_bench", _PATH)
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
sys.modules["claim_support_bench"] = bench
_spec.loader.exec_module(bench)
labelled = sys.modules["benchmarks.claim_support_set"]  # how the set is built (imported by bench)


def _p(pid: str, title: str, *sentences: str) -> dict:
    return {"id": pid, "title": title, "text": " ".join(sentences), "sentences": list(sentences)}


CORPUS = [
    # q1: Jack Owens; its gold passages also name Mary Stanley (q2's answer): that swap is rejected
    _p(
        "p1",
        "Aloha Night",
        "Aloha Night is a song written by Jack Owens.",
        "It was sung at a luau with Mary Stanley.",
    ),
    _p("p2", "Jack Owens", "Jack Owens was an American singer.", "He was born in Tulsa."),
    _p("p3", "Luau music", "Jack Owens played at many luaus."),  # distractor holding the answer
    # q2: Mary Stanley
    _p("p4", "Edward Stafford", "Edward Stafford was an English baron.", "His mother was Mary Stanley."),
    _p("p5", "Mary Stanley", "Mary Stanley was the daughter of an earl."),
    _p("p6", "Stafford Castle", "Stafford Castle is a ruin in Staffordshire."),  # clean distractor
    # q3: 1993 (no other number answer: no swap)
    _p(
        "p7", "Adelaide Lightning", "Adelaide Lightning is a basketball team.", "The team was formed in 1993."
    ),
    _p("p8", "WNBL", "The WNBL is a women's league."),
    _p("p9", "Perth Lynx", "Perth Lynx is another team."),
    # q4: yes/no
    _p("p10", "Medici", "Medici is a board game."),
    _p("p11", "Senet", "Senet is a board game."),
]
QUESTIONS = [
    {
        "id": "q1",
        "question": "Who wrote the song Aloha Night?",
        "answer": "Jack Owens",
        "type": "bridge",
        "supporting_facts": [["Aloha Night", 0], ["Jack Owens", 0]],
        "gold_passage_ids": ["p1", "p2"],
        "candidate_passage_ids": ["p1", "p2", "p3"],
    },
    {
        "id": "q2",
        "question": "Who was the mother of Edward Stafford?",
        "answer": "Mary Stanley",
        "type": "bridge",
        "supporting_facts": [["Edward Stafford", 1], ["Mary Stanley", 0]],
        "gold_passage_ids": ["p4", "p5"],
        "candidate_passage_ids": ["p4", "p5", "p6"],
    },
    {
        "id": "q3",
        "question": "In what year was the Adelaide team formed?",
        "answer": "1993",
        "type": "bridge",
        "supporting_facts": [["Adelaide Lightning", 1], ["WNBL", 0]],
        "gold_passage_ids": ["p7", "p8"],
        "candidate_passage_ids": ["p7", "p8", "p9"],
    },
    {
        "id": "q4",
        "question": "Are Medici and Senet both board games?",
        "answer": "yes",
        "type": "comparison",
        "supporting_facts": [["Medici", 0], ["Senet", 0]],
        "gold_passage_ids": ["p10", "p11"],
        "candidate_passage_ids": ["p10", "p11"],
    },
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hotpotqa"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(p) for p in CORPUS) + "\n")
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    return tmp_path


def _build(data_dir: Path) -> tuple[list, object]:
    questions, corpus = bench.load(data_dir)
    return bench.build_set(questions, corpus, seed=0)


def _one(items: list, qid: str, form: str, family: str):
    [item] = [it for it in items if (it.qid, it.form, it.family) == (qid, form, family)]
    return item


def test_positives_are_the_short_answer_against_the_gold_passages(data_dir: Path) -> None:
    items, stats = _build(data_dir)
    pos = _one(items, "q1", "a", "positive")
    assert pos.label is True and pos.statement == "Jack Owens."
    assert [c.text for c in pos.chunks] == [
        "Aloha Night. Aloha Night is a song written by Jack Owens. It was sung at a luau with Mary Stanley.",
        "Jack Owens. Jack Owens was an American singer. He was born in Tulsa.",
    ]
    # (c): the same statement, chunks of the supporting sentences only (title kept)
    sf = _one(items, "q1", "c", "positive")
    assert sf.statement == "Jack Owens." and [c.text for c in sf.chunks] == [
        "Aloha Night. Aloha Night is a song written by Jack Owens.",
        "Jack Owens. Jack Owens was an American singer.",
    ]
    assert pos.verbatim and sf.verbatim


def test_yes_no_questions_are_excluded_and_counted(data_dir: Path) -> None:
    items, stats = _build(data_dir)
    assert stats.questions == 4 and stats.answerable == 4 and stats.scored == 3
    assert stats.yes_no == ["q4"] and not any(it.qid == "q4" for it in items)
    assert stats.answer_types == {"name": 2, "number": 1}


def test_a_swapped_answer_not_in_the_passages_is_negative(data_dir: Path) -> None:
    items, _ = _build(data_dir)
    for form in ("a", "c"):
        swap = _one(items, "q2", form, "swap")
        assert swap.label is False and swap.replacement == "Jack Owens"
        assert swap.statement == "Jack Owens." and not swap.verbatim
        assert [c.id for c in swap.chunks] == [c.id for c in _one(items, "q2", form, "positive").chunks]


def test_a_replacement_found_in_the_gold_passages_is_rejected(data_dir: Path) -> None:
    items, stats = _build(data_dir)
    # q1's only same-type candidate, Mary Stanley, is named in q1's gold passage: no swap for q1
    assert not [it for it in items if it.qid == "q1" and it.family == "swap"]
    # q3's number has no other number answer to swap in
    assert not [it for it in items if it.qid == "q3" and it.family == "swap"]
    assert stats.no_replacement == ["q1", "q3"] and stats.rejected_in_gold == 1


def test_replacement_draw_is_seeded_and_skips_near_synonyms() -> None:
    chunks = [
        RetrievedChunk(
            id="x",
            text="Albany. Albany is the capital of New York state.",
            source="Albany",
            chunk_index=0,
            score=1.0,
        )
    ]
    pool = ["New York", "Boston", "Albany", "Chicago"]
    picks = {labelled.pick_replacement(f"q{i}", "New York City", pool, chunks, seed=0)[0] for i in range(20)}
    assert picks <= {"Boston", "Chicago"} and picks  # "New York" shares a word, Albany is in gold
    first = labelled.pick_replacement("q7", "New York City", pool, chunks, seed=0)
    assert first == labelled.pick_replacement("q7", "New York City", pool, chunks, seed=0)
    for candidate, why in first[1]:
        assert (candidate, why) in {
            ("New York", "shares a word with the gold answer"),
            ("Albany", "in the gold passages"),
        }


def test_distractor_family_skips_questions_whose_answer_is_in_a_distractor(data_dir: Path) -> None:
    items, stats = _build(data_dir)
    assert "q1" in stats.distractor_excluded  # "Luau music" names Jack Owens
    for form in ("a", "c"):
        neg = _one(items, "q2", form, "distractor")
        assert neg.label is False and neg.statement == "Mary Stanley."
        assert [c.id for c in neg.chunks] == ["p6"]
    # q3's distractor (Perth Lynx) does not hold "1993": kept
    assert _one(items, "q3", "a", "distractor").chunks[0].id == "p9"


def test_answer_types_and_statements() -> None:
    assert [
        labelled.answer_type(a) for a in ("1993", "8 June 1951", "Jack Owens", "The WB", "a spirit", "twice")
    ] == ["number", "number", "name", "name", "other", "other"]
    assert labelled.statement("Walt Disney Pictures.") == "Walt Disney Pictures."
    assert labelled.statement("Jack  Owens") == "Jack Owens."


def test_counting_with_a_stubbed_checker(data_dir: Path) -> None:
    items, _ = _build(data_dir)

    # a checker that supports every positive, q2's distractor, and nothing else
    def stub(item, threshold):
        return item.family == "positive" or (item.qid, item.family) == ("q2", "distractor"), []

    results = bench.evaluate(items, [0.6], check_fn=stub)
    s = results[0.6]["a"]["score"]
    assert s["recall"]["k"] == 3 and s["recall"]["n"] == 3 and s["recall"]["rate"] == 1.0
    assert (s["false_support"]["swap"]["k"], s["false_support"]["swap"]["n"]) == (0, 1)
    assert (s["false_support"]["distractor"]["k"], s["false_support"]["distractor"]["n"]) == (1, 2)
    assert s["precision"]["swap"]["rate"] == 1.0
    assert s["precision"]["all"]["rate"] == pytest.approx(3 / 4)
    assert s["precision"]["all"]["negatives"] == 3 and s["precision"]["all"]["fp"] == 1
    assert s["precision"]["all"]["f1"] == pytest.approx(2 * 0.75 / 1.75)
    lo, hi = s["recall"]["ci95"]
    assert 0 < lo < 1 and hi == 1.0


def test_the_script_runs_end_to_end_on_the_fixture(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert bench.main(["--data-dir", str(data_dir), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "excluded yes/no 1" in printed and "threshold sweep" in printed
    payload = json.loads(out.read_text())
    assert payload["default_threshold"] == 0.6
    assert set(payload["summary"]) == {"0.4", "0.5", "0.6", "0.7", "0.8"}
    assert {r["family"] for r in payload["rows"]} == {"positive", "swap", "distractor"}
