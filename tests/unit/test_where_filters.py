"""Metadata filters: one grammar (retrieval/where.py) on every entry point, with clear errors.

Each malformed filter from issue 14 item 3 is refused by the grammar, as a 4xx by the API, as
one line by the CLI, as an error box by the web app and when an eval suite is loaded.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import pytest

from ragloom.core.errors import ConfigError, FilterError, RagloomError
from ragloom.retrieval.filters import matches
from ragloom.retrieval.where import EXAMPLE, MAX_CONDITIONS, MAX_DEPTH, MAX_TEXT, parse_where, validate_where

ISSUE_EXAMPLES: list[tuple[Any, str]] = [
    ({"$or": []}, "where.$or: $or takes 2 to 100 filters, got 0"),
    ({"$and": [{}]}, "where.$and: $and takes 2 to 100 filters, got 1"),
    ({"page": {"$gt": {"$ne": 1}}}, "where.page.$gt: $gt compares numbers only, got an object"),
    ({"page": {"$in": []}}, "where.page.$in: $in takes a list of 1 to 100 values, got a list of 0"),
    ({"page": {"$in": "abc"}}, "where.page.$in: $in takes a list of 1 to 100 values, got a string"),
    ({"page": {"$lte": None}}, "where.page.$lte: $lte compares numbers only, got null"),
    ({"page": [1, 2]}, 'where.page: a list is not a value; to match any of several write {"$in"'),
    ({"c": {"$exists": True}}, "where.c.$exists: unknown filter operator '$exists'"),
    ({"$where": "this.page > 1"}, "where: unknown filter operator '$where'"),
]


def _wide(n: int = 5000) -> dict[str, Any]:
    return {f"field{i}": i for i in range(n)}


def _deep(n: int = 1000) -> dict[str, Any]:
    where: dict[str, Any] = {"page": 1}
    for _ in range(n):
        where = {"$and": [where, {"page": 2}]}
    return where


def _deep_text(n: int = 1000) -> str:
    return '{"$and": [' * n + '{"page": 1}' + ', {"page": 2}]}' * n


@pytest.mark.parametrize(("where", "message"), ISSUE_EXAMPLES)
def test_issue_examples_say_what_is_wrong_and_show_a_valid_filter(where, message) -> None:
    with pytest.raises(FilterError) as info:
        validate_where(where)
    assert str(info.value).startswith(f"invalid filter at {message}")
    assert EXAMPLE in (info.value.fix or "") and isinstance(info.value, ConfigError)
    with pytest.raises(FilterError, match="invalid filter at"):  # the same from JSON text
        parse_where(json.dumps(where))


@pytest.mark.parametrize(("where", "message"), [
    (_wide(), f"5000 keys; a filter has at most {MAX_CONDITIONS} conditions"),
    (_deep(), f"filters may nest at most {MAX_DEPTH} levels deep"),
    (_deep(MAX_DEPTH), f"filters may nest at most {MAX_DEPTH} levels deep"),
    ({"$and": [{f"f{i}": {"$gte": 1, "$lte": 9}} for i in range(33)] + [{"g": 1}]},
     f"at most {MAX_CONDITIONS} conditions"),
    ({"page": {"$in": list(range(101))}}, "$in takes a list of 1 to 100 values, got a list of 101"),
    ({"page": {"$in": [1, "2"]}}, "values must all be strings, all numbers or all booleans"),
    ({"page": {"$in": [1, True]}}, "values must all be strings, all numbers or all booleans"),
    ({"page": {"$gt": True}}, "$gt compares numbers only, got true"),
    ({"page": {"$gte": "3"}}, "$gte compares numbers only, got a string"),
    ({"page": 2**63}, "integers must fit in 64 bits"),
    ({"page": math.inf}, "numbers must be finite"),
    ({"source": "x" * 1001}, "strings are at most 1000 characters"),
    ({"x" * 129: 1}, "a field name is a string of 1 to 128 characters"),
    ({"": 1}, "a field name is a string of 1 to 128 characters"),
    ({"#document": "tea"}, "field names may not start with '#'"),
    ({"page": None}, "a value is a string, number or boolean, got null"),
    ({"page": {}}, "a condition needs an operator"),
    ({"$and": "page"}, "$and takes a list of filters, got a string"),
    ({"$or": [{"page": 1}, 3]}, "where.$or[1]: a filter is a JSON object, got a number"),
    ([{"page": 1}], "where: a filter is a JSON object, got a list of 1"),
])
def test_oversized_and_ill_typed_filters_are_refused_quickly(where, message) -> None:
    start = time.perf_counter()
    with pytest.raises(FilterError, match="invalid filter at") as info:
        validate_where(where)
    assert message in str(info.value) and time.perf_counter() - start < 0.1


def test_json_text_is_bounded_before_it_is_parsed() -> None:
    assert len(_deep_text()) < MAX_TEXT
    with pytest.raises(FilterError, match="nested too deeply"):
        parse_where(_deep_text())  # json.loads itself gives up (RecursionError) on this one
    with pytest.raises(FilterError, match=f"the limit is {MAX_TEXT}"):
        parse_where(json.dumps({"source": {"$in": ["x" * 500] * 100}}))
    with pytest.raises(FilterError, match="numbers must be finite"):
        parse_where('{"page": NaN}')  # Python's json accepts NaN; Chroma does not
    with pytest.raises(FilterError, match="not valid JSON"):
        parse_where('{"page": 1')
    assert parse_where("  ") is None and parse_where(None) is None and parse_where("{}") is None


def test_valid_filters_come_out_in_chromas_shape() -> None:
    assert validate_where({"file_type": "pdf"}) == {"file_type": "pdf"}
    assert validate_where(json.loads(EXAMPLE)) == {
        "$and": [{"file_type": "pdf"}, {"page": {"$lte": 20}}]}
    assert validate_where({"page": {"$gte": 2, "$lt": 5}}) == {
        "$and": [{"page": {"$gte": 2}}, {"page": {"$lt": 5}}]}
    assert validate_where({"$or": [{"a": 1, "b": True}, {"c": {"$in": [1, 2.5]}}]}) == {
        "$or": [{"$and": [{"a": 1}, {"b": True}]}, {"c": {"$in": [1.0, 2.5]}}]}
    assert validate_where(_deep(MAX_DEPTH - 1))["$and"][1] == {"page": 2}
    nested = validate_where({"$or": [{"a": 1, "b": {"$gte": 1, "$lte": 2}}, {"c": 3}]})
    assert validate_where(nested) == nested  # normalising twice changes nothing
    assert validate_where(None) is None and validate_where({}) is None


def test_matches_follows_chromas_typing() -> None:
    meta = {"page": 2, "flag": True, "kind": "7", "score": 2.5}
    assert not matches(meta, {"kind": {"$gt": 1}})  # a string never compares with a number
    assert not matches(meta, {"flag": 1}) and not matches(meta, {"page": {"$in": [True]}})
    assert matches(meta, {"flag": {"$ne": 1}}) and matches(meta, {"missing": {"$nin": [1]}})
    assert matches(meta, {"page": 2.0}) and matches(meta, {"score": {"$gte": 2.5}})
    # Chroma 1.5.9 truncates a float operand compared with an int field; BM25 follows it.
    assert matches(meta, {"page": {"$eq": 2.5}}) and not matches(meta, {"page": {"$lt": 2.5}})


def test_library_callers_cannot_pass_junk_to_chroma_or_bm25(store, tmp_path) -> None:
    from ragloom.retrieval.lexical import LexicalIndex
    from ragloom.retrieval.retriever import HybridRetriever
    from ragloom.retrieval.types import Chunk

    chunk = Chunk(id="c1", text="tea", source="/a.md", chunk_index=0, page=1)
    store.add([chunk], store.embeddings.embed_documents([chunk.text]))
    lexical = LexicalIndex.build(store.records(), tmp_path / "bm25", 1)
    vector = store.embeddings.embed_query("tea")
    for call in (lambda w: store.query(vector, 3, w), lambda w: lexical.search("tea", 3, w),
                 lambda w: HybridRetriever(store, store.embeddings, lexical).retrieve("tea", 3, w)):
        for where, _ in ISSUE_EXAMPLES:
            with pytest.raises(FilterError):
                call(where)
        assert call({"page": {"$in": [1, 2]}})  # and a valid filter still finds the chunk


@pytest.fixture
def api(settings):  # type: ignore[no-untyped-def]
    from tests.unit.api_helpers import client, fill, key

    fill(settings)
    with client(settings) as c:
        c.headers.update(key(settings, "user", sample="read"))
        yield c


def test_api_answers_every_malformed_filter_with_a_4xx_that_says_why(api) -> None:
    cases = [*ISSUE_EXAMPLES, (_wide(), "5000 keys"), (_deep(10), "nest at most")]
    for path in ("/ask", "/ask/stream"):
        for where, message in cases:
            r = api.post(path, json={"question": "q", "collection": "sample", "where": where})
            assert r.status_code == 422, (path, where, r.text)
            assert message.split(": ", 1)[-1][:30] in r.json()["error"]
            assert EXAMPLE in r.json()["fix"]
    r = api.post("/ask", json={"question": "How long does shipping take?", "collection": "sample",
                               "graph": "simple", "where": {"file_type": {"$in": ["text"]}}})
    assert r.status_code == 200, r.text


def test_api_filter_1000_deep_is_a_400_that_says_so(api) -> None:
    body = '{"question": "q", "collection": "sample", "where": ' + _deep_text() + "}"
    for path in ("/ask", "/ask/stream"):  # refused before JSON parsing
        r = api.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nests deeper than" in r.json()["error"], r.text
        assert "at most 5 levels" in r.json()["fix"]


def test_cli_prints_one_line_and_exits_2_without_a_traceback(tmp_path, monkeypatch, capsys
                                                              ) -> None:
    from ragloom.cli import main

    monkeypatch.setattr(sys, "argv", ["ragloom", "--home", str(tmp_path), "ask", "q",
                                      "--where", '{"$or": []}'])
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and err.startswith("error: invalid filter at where.$or")
    assert EXAMPLE in err


def test_web_app_shows_the_filter_error(settings) -> None:
    from tests.unit.test_ui_support import app_test, fake_services, sample_collection

    sample_collection(settings)
    at = app_test(settings, fake_services("unused"))
    at.sidebar.text_input(key="ask-where").set_value('{"page": {"$lte": null}}').run()
    at.chat_input(key="ask-input").set_value("How long does shipping take?").run()
    assert not at.exception and "invalid filter at where.page.$lte" in at.error[0].value


def test_eval_suites_refuse_bad_filters_naming_the_file_and_row(tmp_path) -> None:
    from ragloom.evals.suites import load_suite, read_rows

    suite = tmp_path / "s.yaml"
    suite.write_text('dataset: {path: d.jsonl}\ncollection: {name: abc}\nwhere: {"$or": []}\n')
    with pytest.raises(ConfigError, match=r"invalid suite: where: .*\$or takes 2 to 100") as info:
        load_suite(suite)
    assert str(suite) in str(info.value)
    rows = tmp_path / "d.jsonl"
    rows.write_text('{"id": "ok", "question": "Q?", "where": {"page": 3}}\n'
                    '{"id": "bad", "question": "Q?", "where": {"page": [1, 2]}}\n')
    with pytest.raises(ConfigError, match=r"row 2 is invalid: where: .*a list is not a value"
                       ) as info:
        read_rows(rows)
    assert f"{rows}, id bad" in str(info.value)
    csv = tmp_path / "d.csv"
    csv.write_text('id,question,where\na,Q?,"{""page"": {""$gte"": 2, ""$lte"": 4}}"\nb,Q?,\n')
    assert [r.where for r in read_rows(csv)] == [
        {"$and": [{"page": {"$gte": 2}}, {"page": {"$lte": 4}}]}, None]


def test_eval_rows_and_suites_apply_their_filter(monkeypatch, settings) -> None:
    from ragloom.agents.state import RagContext
    from ragloom.evals import answering
    from ragloom.evals.suites import SuiteRow

    seen: list[Any] = []

    def ask(question: str, settings: Any, *, graph: Any, context: RagContext) -> Any:
        seen.append(context.where)
        raise RagloomError("stop here")

    monkeypatch.setattr(answering, "ask", ask)
    ctx = RagContext(chat_model=None, retriever=None, where={"file_type": "pdf"})  # type: ignore[arg-type]
    answering.answer_row(SuiteRow(id="a", question="Q?"), settings, ctx, None)
    answering.answer_row(SuiteRow(id="b", question="Q?", where={"page": 1}), settings, ctx, None)
    assert seen == [{"file_type": "pdf"}, {"page": 1}] and ctx.where == {"file_type": "pdf"}
