"""Honest verdicts in every graph: the claim check decides, the model judge may only downgrade."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragloom.agents.service import ask, get_trace
from ragloom.agents.state import RagContext
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import scripted_chat

J = json.dumps
KITE_Q = "What colour is the official Zephyr Kite Club kite?"
KITE_A = "The official Zephyr Kite Club kite is a red kite [1]."
OOLONG = "What temperature should I brew the Oolong at?"
GROUNDED = J({"grounded": True, "unsupported": []})


def _ctx(col: Collection, chat, **kw) -> RagContext:  # type: ignore[no-untyped-def]
    retriever = HybridRetriever(col.store, col.store.embeddings, LexicalIndex.load(col.lexical_dir))
    return RagContext(chat_model=chat, retriever=retriever, collection=col.name,
                      chat_provider="fake", **kw)


@pytest.fixture
def kites(settings, fake_embeddings, tmp_path: Path) -> Collection:
    doc = tmp_path / "kite-club.md"
    doc.write_text("# The Zephyr Kite Club\n\nThe Zephyr Kite Club was founded in 1987 by Marta "
                   "Okonkwo. The official Zephyr Kite Club kite is flown every Sunday on the dunes "
                   "north of the harbour.\n")
    col = Collection(settings, "kites", fake_embeddings)
    ingest([doc], col, workers=1)
    return col


@pytest.fixture
def sample(settings, fake_embeddings) -> Collection:
    col = Collection(settings, "claims", fake_embeddings)
    ingest([SAMPLE_CORPUS], col, workers=1)
    return col


def test_zephyr_kite_is_not_grounded_even_when_the_judge_says_so(kites, settings) -> None:
    chat = scripted_chat(J({"relevant": [1]}), KITE_A, KITE_A, GROUNDED, GROUNDED)
    a = ask(KITE_Q, settings, context=_ctx(kites, chat), graph="corrective")
    assert a.refused and a.grounded is False and a.citations == []
    assert a.answer == ('I don\'t know: the documents do not say that "the official Zephyr Kite '
                        'Club kite is a red kite".')
    assert a.model_calls == {"chat": 3} and "ground" not in a.prompts  # the judge is never asked
    steps = [s for s in get_trace(settings, a.trace_id)["steps"] if s["node"] == "check_claims"]
    assert [s["supported"] for s in steps] == ["0/1", "0/1"]


def test_zephyr_kite_in_the_simple_graph_is_marked_not_verified(kites, settings) -> None:
    a = ask(KITE_Q, settings, context=_ctx(kites, scripted_chat(KITE_A)), graph="simple")
    assert a.grounded is False and not a.refused and a.citations == []
    assert a.answer == "The official Zephyr Kite Club kite is a red kite (not verified)."
    assert a.claims[0].missing == ["red"] and a.dropped_citations == 1


def test_tartu_price_in_the_simple_graph_is_not_grounded_and_marked(sample, settings) -> None:
    claim = "The closing price of the Tartu stock exchange on 3 May 1911 was 4.20 euros per kilogram."
    a = ask("What was the closing price of the Tartu stock exchange on 3 May 1911?", settings,
            context=_ctx(sample, scripted_chat(claim)), graph="simple")
    assert a.grounded is False and a.answer.endswith("per kilogram (not verified).")
    assert not a.claims[0].supported and "tartu" in a.claims[0].missing and a.citations == []


def test_simple_graph_verdict_is_the_claim_check(sample, settings) -> None:
    chat = scripted_chat("Brew the Oolong at 85 degrees Celsius for 3 minutes [1].")
    a = ask(OOLONG, settings, context=_ctx(sample, chat), graph="simple")
    assert a.grounded is True and a.model_calls == {"chat": 1}
    [claim] = a.claims
    assert claim.supported and claim.n == 1 and "85 degrees" in (claim.span or "")
    assert a.citations[0].chunk_id == claim.chunk_id


def test_corrective_keeps_only_the_supported_claims_after_one_regeneration(sample, settings
                                                                           ) -> None:
    draft = "Brew the Oolong at 85 degrees Celsius [1]. It was first grown on the moon [1]."
    chat = scripted_chat(J({"relevant": [1]}), draft, draft)
    a = ask(OOLONG, settings, context=_ctx(sample, chat), graph="corrective")
    assert a.answer == "Brew the Oolong at 85 degrees Celsius [1]." and a.grounded is True
    assert not a.refused and [c.supported for c in a.claims] == [True]
    assert a.model_calls == {"chat": 3}  # grade, draft, one regeneration: no judge call
    kept = next(s for s in get_trace(settings, a.trace_id)["steps"]
                if s["node"] == "keep_supported_claims")
    assert kept["removed"] == ["It was first grown on the moon."]


def test_a_lower_supported_share_lets_a_partly_checked_answer_through_marked(sample, settings
                                                                              ) -> None:
    draft = "Brew the Oolong at 85 degrees Celsius [1]. It was first grown on the moon."
    chat = scripted_chat(J({"relevant": [1]}), draft, GROUNDED)
    a = ask(OOLONG, settings, context=_ctx(sample, chat, min_supported_share=0.5),
            graph="corrective")
    assert a.grounded is True and a.answer.endswith("grown on the moon (not verified).")
    assert [c.supported for c in a.claims] == [True, False]


def test_trace_stores_the_claims(sample, settings) -> None:
    a = ask(OOLONG, settings, context=_ctx(sample, scripted_chat("85 degrees Celsius [1].")),
            graph="simple")
    trace = get_trace(settings, a.trace_id)
    assert trace["claims"][0]["supported"] is True and trace["claims"][0]["n"] == 1


@pytest.fixture
def bands(settings, fake_embeddings, tmp_path: Path) -> Collection:
    doc = tmp_path / "bands.md"
    doc.write_text("# Bands\n\nThe Exies are an American rock band formed in Los Angeles in 1997.\n"
                   "\nCircus Diablo is an American rock band formed in 2004 by Billy Morrison.\n")
    col = Collection(settings, "bands", fake_embeddings)
    ingest([doc], col, workers=1)
    return col


BANDS_Q = "Which band was formed first, The Exies or Circus Diablo?"


def test_a_choice_between_the_questions_alternatives_is_given_marked_not_declined(
        bands, settings) -> None:
    # No passage says "formed first": the literal check cannot pass a comparison, but the verdict
    # names only the question's alternatives, and the documents name both.
    chat = scripted_chat("The Exies [1].", "The Exies.")
    a = ask(BANDS_Q, settings, context=_ctx(bands, chat, grade_with_model=False), graph="corrective")
    assert not a.refused and a.grounded is False
    assert a.answer.startswith("The Exies") and "(not verified)" in a.answer
    assert a.model_calls == {"chat": 2}  # regenerated once, then given as it is


def test_a_choice_is_still_declined_when_the_documents_do_not_name_the_alternatives(
        bands, settings) -> None:
    chat = scripted_chat("The Exies [1].", "The Exies.")
    q = "Which band was formed first, The Exies or Velvet Revolver?"  # one is in no document
    a = ask(q, settings, context=_ctx(bands, chat, grade_with_model=False), graph="corrective")
    assert a.refused and "I don't know" in a.answer


def test_a_bare_yes_no_is_given_marked_and_an_invented_fact_still_is_not(bands, settings) -> None:
    q = "Are The Exies and Circus Diablo both American rock bands?"
    chat = scripted_chat("Yes.", "Yes.")
    a = ask(q, settings, context=_ctx(bands, chat, grade_with_model=False), graph="corrective")
    assert not a.refused and a.grounded is False and "(not verified)" in a.answer
    # A claim that is no verdict (an invented city) is declined as before.
    chat = scripted_chat("Yes, both were formed in Paris.", "Yes, both were formed in Paris.")
    b = ask(q, settings, context=_ctx(bands, chat, grade_with_model=False), graph="corrective")
    assert b.refused


def test_nothing_kept_is_a_refusal_not_an_empty_grounded_answer() -> None:
    from ragloom.agents.claims import ClaimVerdict
    from ragloom.agents.routing import after_claims

    class _Run:
        context = RagContext(chat_model=None, retriever=None, max_generations=1)

    # A supported claim in a sentence marked "(not verified)" keeps no text: decline.
    state = {"question": "q?", "generations": 1, "grounded": False, "sources": [],
             "answer": "Foo is 3 (not verified).",
             "claims": [ClaimVerdict(text="Foo is 3", supported=True, sentence=0),
                        ClaimVerdict(text="bar", supported=False, sentence=0)]}
    assert after_claims(state, _Run()) == "decline_answer"  # type: ignore[arg-type]
