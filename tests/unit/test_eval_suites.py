"""Suite files load, validate with clear errors, and read JSONL/CSV datasets; metrics and the
summary maths (bootstrap intervals, thresholds) behave."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragloom.core.errors import ConfigError, RagloomError
from ragloom.evals.metrics import Observed, deterministic, doc_id
from ragloom.evals.suites import list_suites, load_suite, read_rows
from ragloom.evals.summary import bootstrap_ci, failed_thresholds, parse_thresholds, summarize
from ragloom.evals.text_metrics import contains, exact_match, strip_citations, token_f1


def test_shipped_suites_load_and_resolve_their_data() -> None:
    assert {"sample", "hotpotqa"} <= set(list_suites())
    sample = load_suite("sample")
    rows = sample.rows()
    assert len(rows) == 10 and all(r.reference and r.gold_sources for r in rows)
    assert all(sample.resolve(p).is_dir() for p in sample.collection.paths)
    hotpot = load_suite("hotpotqa")
    assert hotpot.dataset.builtin == "hotpotqa" and hotpot.collection.builtin_corpus == "hotpotqa"


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("body", "message"), [
    ("dataset: {path: d.jsonl}\n", "collection: Field required"),
    ("dataset: {}\ncollection: {name: abc}\n", "exactly one of dataset.path or dataset.builtin"),
    ("dataset: {path: d.jsonl}\ncollection: {name: abc}\nmetrics: [faithfulness, vibes]\n",
     "unknown metric(s) ['vibes']"),
    ("dataset: {path: d.jsonl}\ncollection: {name: abc}\nmetrics: [refusal]\n"
     "thresholds: {faithfulness: 0.5}\n", "thresholds for metrics the suite does not compute"),
    ("dataset: {path: d.jsonl}\ncollection: {name: abc}\ncolour: red\n", "colour: Extra inputs"),
    ("dataset: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "must be a YAML mapping"),
])
def test_invalid_suites_say_what_and_where(tmp_path, body, message) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_unknown_suite_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no suite 'nope'.*sample"):
        load_suite("nope")


def test_rows_from_jsonl_and_csv_with_clear_errors(tmp_path) -> None:
    jsonl = _write(tmp_path, '{"question": "Q1?", "reference": "A"}\n\n{"id": 7, "question": "Q2?"}\n',
                   "d.jsonl")
    rows = read_rows(jsonl)
    assert [(r.id, r.question, r.reference) for r in rows] == [("row-1", "Q1?", "A"),
                                                                ("7", "Q2?", None)]
    csv_path = _write(tmp_path, "id,question,reference,gold_sources\na,Q?,R,x.pdf|y.md\n", "d.csv")
    assert read_rows(csv_path)[0].gold_sources == ["x.pdf", "y.md"]
    with pytest.raises(ConfigError, match="line 1 is not JSON"):
        read_rows(_write(tmp_path, "{oops\n", "bad.jsonl"))
    with pytest.raises(ConfigError, match="row 1 is invalid: question"):
        read_rows(_write(tmp_path, '{"question": ""}\n', "empty.jsonl"))
    suite = load_suite(_write(tmp_path, "dataset: {path: dup.jsonl}\ncollection: {name: abc}\n"))
    _write(tmp_path, '{"id": "a", "question": "Q?"}\n{"id": "a", "question": "R?"}\n', "dup.jsonl")
    with pytest.raises(ConfigError, match="duplicate row ids"):
        suite.rows()


def test_text_metrics_follow_squad_normalisation() -> None:
    assert exact_match("The Spirit.", "a spirit") == 1.0
    assert token_f1("Lilu is a spirit", "a spirit") == pytest.approx(0.5)  # P 1/3, R 1
    assert contains("Lilu is a spirit [1].", "a spirit") == 1.0
    assert contains("spirited away", "spirit") == 0.0
    assert strip_citations("Yes [1, 2] and [3].") == "Yes  and ."


def _obs(**kw) -> Observed:  # type: ignore[no-untyped-def]
    base = dict(answer="85 degrees [1]", refused=False, contexts=["c"],
                retrieved_docs=["tea-guide.pdf", "tea-guide.pdf", "faq.txt"], citations=1,
                dropped_citations=1, seconds=2.5, model_calls=3)
    return Observed(**{**base, **kw})


def test_deterministic_metrics_and_their_na_reasons() -> None:
    obs = _obs()
    assert deterministic("retrieval_recall", obs, None, ["tea-guide.pdf", "x.md"]).value == 0.5
    assert deterministic("retrieval_ndcg", obs, None, ["tea-guide.pdf"]).value == 1.0
    assert deterministic("retrieval_recall", obs, None, []).na == "no gold sources"
    assert deterministic("answer_contains", obs, "85 degrees", []).value == 1.0
    assert deterministic("token_f1", obs, None, []).na == "no reference answer"
    assert deterministic("citation_validity", obs, None, []).value == 0.5
    refusal = _obs(refused=True, citations=0, dropped_citations=0)
    assert deterministic("citation_validity", refusal, None, []).na == "refusal"
    assert deterministic("refusal", refusal, None, []).value == 1.0
    assert deterministic("latency_s", obs, None, []).value == 2.5
    assert deterministic("model_calls", obs, None, []).value == 3.0
    assert doc_id("hotpotqa://hp-p0005") == "hp-p0005"
    assert doc_id("/data/corpus/tea-guide.pdf") == "tea-guide.pdf"


def test_claim_support_is_the_share_of_supported_claims() -> None:
    assert deterministic("claim_support", _obs(claims=3, supported_claims=2), None, []).value == (
        pytest.approx(2 / 3))
    assert deterministic("claim_support", _obs(claims=1, supported_claims=1), None, []).value == 1.0
    assert deterministic("claim_support", _obs(), None, []).na == "the answer makes no claim"
    assert deterministic("claim_support", _obs(refused=True, claims=1), None, []).na == "refusal"


def test_summary_counts_na_and_bootstraps_an_interval() -> None:
    rows = [{"id": str(i), "scores": {"f": {"value": v}}} for i, v in enumerate([0.2, 0.4, 0.9])]
    rows.append({"id": "x", "scores": {"f": {"value": None, "na": "no reference answer"}}})
    s = summarize(rows, ["f", "missing"])
    assert s["f"]["mean"] == pytest.approx(0.5) and s["f"]["n"] == 3 and s["f"]["na"] == 1
    lo, hi = s["f"]["ci95"]
    assert 0.2 <= lo < 0.5 < hi <= 0.9
    assert s["missing"]["mean"] is None and s["missing"]["na_reasons"] == {"not computed": 4}
    assert bootstrap_ci([1.0]) is None and bootstrap_ci([0.5, 0.5]) == (0.5, 0.5)


def test_thresholds_parse_and_gate() -> None:
    gate = parse_thresholds("faithfulness=0.7, context_recall=0.8")
    assert gate == {"faithfulness": 0.7, "context_recall": 0.8}
    summary = {"faithfulness": {"mean": 0.75}, "context_recall": {"mean": None}}
    assert failed_thresholds(summary, gate) == ["context_recall: no scored rows (floor 0.8)"]
    assert failed_thresholds(summary, {"faithfulness": 0.8}) == ["faithfulness: 0.750 < 0.8"]
    for bad in ("faithfulness", "faithfulness=high"):
        with pytest.raises(ValueError):
            parse_thresholds(bad)


def test_generated_rows_are_synthetic_with_gold_sources(settings, fake_embeddings,
                                                       monkeypatch) -> None:
    import ragloom.evals.generate as gen
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import ingest
    from tests.conftest import SAMPLE_CORPUS
    from tests.fakes import scripted_chat

    ingest([SAMPLE_CORPUS], Collection(settings, "sample", fake_embeddings), workers=1)
    monkeypatch.setattr(gen, "get_embeddings", lambda *a: fake_embeddings)
    chat = scripted_chat('{"question": "How long does shipping to Canada take?", "answer": "7 '
                         'to 10 business days"}', "not json at all", "still not json",
                         '{"question": "When are members paid?", "answer": "June, December"}')
    rows = gen.generate_rows(settings, "sample", 3, chat=chat)
    # The middle chunk's reply never parsed (after a retry): skipped, not invented.
    assert [r.question for r in rows] == ["How long does shipping to Canada take?",
                                          "When are members paid?"]
    assert all(r.synthetic and r.gold_sources and r.reference for r in rows)
    assert {g for r in rows for g in r.gold_sources} <= {
        "shipping-faq.txt", "company-handbook.md", "tea-guide.pdf"}
    Collection(settings, "empty-one", fake_embeddings)
    with pytest.raises(RagloomError, match="has no chunks"):
        gen.generate_rows(settings, "empty-one", 1, chat=chat)
