"""The claim check that does not trust the chat model: support, spans, numbers, negation, echoes."""

from __future__ import annotations

import pytest

from ragloom.agents.claims import (
    BARE_VERDICT,
    CHOICE,
    RESTATES,
    sentences_of,
    split_claims,
    supported_share,
    tokens,
    verify_claims,
)
from ragloom.agents.verify import declined, keep_supported, mark_unverified, verify_answer
from ragloom.retrieval.types import RetrievedChunk

TEA = ("Green tea: brew at 80 degrees Celsius for 2 minutes. Oolong: brew at 85 degrees Celsius "
       "for 3 minutes. Black tea keeps for two years.")
KITE = ("The Zephyr Kite Club was founded in 1987 by Marta Okonkwo. Members meet every Sunday on "
        "the dunes north of the harbour.")
TINS = "Opened tins cannot be returned. Unopened tins can be returned within 30 days."


def _chunks(*texts: str) -> list[RetrievedChunk]:
    return [RetrievedChunk(id=f"c{i}", text=t, source=f"/docs/f{i}.md", chunk_index=i,
                           page=None, score=0.9) for i, t in enumerate(texts)]


def test_a_correct_answer_is_supported_with_the_right_span() -> None:
    checked = verify_answer("The Oolong is brewed at 85 degrees for 3 minutes [1].",
                            _chunks(TEA), "How do I brew the Oolong?")
    [claim] = checked.claims
    assert claim.supported and claim.n == 1 and claim.chunk_id == "c0" and claim.score == 1.0
    assert claim.span == "Oolong: brew at 85 degrees Celsius for 3 minutes."
    assert checked.text == "The Oolong is brewed at 85 degrees for 3 minutes [1]."
    assert [(c.n, c.method) for c in checked.citations] == [(1, "model")]


def test_a_swapped_number_is_unsupported_and_its_citation_dropped() -> None:
    checked = verify_answer("The Oolong is brewed at 90 degrees for 3 minutes [1].",
                            _chunks(TEA), "How do I brew the Oolong?")
    assert not checked.claims[0].supported and checked.claims[0].missing == ["90"]
    assert checked.citations == [] and checked.dropped == 1 and "[1]" not in checked.text


def test_the_zephyr_kite_answer_is_unsupported_and_cites_nothing() -> None:
    question = "What colour is the official Zephyr Kite Club kite?"
    checked = verify_answer("The official Zephyr Kite Club kite is a red kite [1].",
                            _chunks(KITE), question)
    [claim] = checked.claims
    assert not claim.supported and claim.chunk_id is None and claim.span is None
    assert claim.missing == ["red"] and checked.citations == [] and checked.dropped == 1
    assert declined(checked.claims) == ('I don\'t know: the documents do not say that "the '
                                        'official Zephyr Kite Club kite is a red kite".')


@pytest.mark.parametrize("answer", ["Opened tins can be returned [1].",
                                    "Unopened tins cannot be returned [1]."])
def test_a_flipped_negation_is_unsupported(answer: str) -> None:
    [claim] = verify_claims(answer, "Can I return a tin?", _chunks(TINS))
    assert not claim.supported and claim.missing[-1].startswith("negation")


def test_the_matching_polarity_is_supported() -> None:
    [claim] = verify_claims("Opened tins cannot be returned.", "Can I return a tin?",
                            _chunks(TINS))
    assert claim.supported and claim.span == "Opened tins cannot be returned."


def test_a_claim_copied_from_the_question_supports_nothing() -> None:
    [claim] = verify_claims("You should brew the Oolong at a temperature [1].",
                            "What temperature should I brew the Oolong at?", _chunks(TEA))
    assert not claim.supported and claim.missing == [RESTATES]


def test_names_and_dates_must_be_in_the_chunk_even_when_asked_about() -> None:
    # The handbook's "4.20 euros per kilogram" does not make a Tartu stock price of 1911 true.
    handbook = "The base price for green leaf is 4.20 euros per kilogram."
    [claim] = verify_claims("The closing price of the Tartu stock exchange on 3 May 1911 was "
                            "4.20 euros per kilogram.", "What was the closing price of the Tartu "
                            "stock exchange on 3 May 1911?", _chunks(handbook))
    assert not claim.supported and {"tartu", "may", "1911", "3"} <= set(claim.missing)


def test_a_wrong_citation_is_re_pointed_to_the_supporting_chunk() -> None:
    checked = verify_answer("Orders to Canada take 7 to 10 business days [1].",
                            _chunks(TEA, "Orders to Canada take 7 to 10 business days."),
                            "How long is shipping?")
    assert checked.text == "Orders to Canada take 7 to 10 business days [2]."
    assert checked.repointed == 1 and checked.dropped == 0
    assert [(c.n, c.method) for c in checked.citations] == [(2, "check")]


def test_numbers_are_normalised() -> None:
    assert tokens("It costs 4.20 euros, or 1,000 for ten.").keys == {"4.2", "1000", "10"}
    assert tokens("not on 3 May").negated and "may" in tokens("on 3 May").keys


def test_claims_split_on_semicolons_and_long_and_clauses() -> None:
    assert [c for _, c in split_claims("Members are paid in June and December.")] == [
        "Members are paid in June and December."]
    assert split_claims("Shipping takes 7 days; returns take 30 days. Tins keep two years and "
                        "opened tins keep six months.") == [
        (0, "Shipping takes 7 days"), (0, "returns take 30 days."),
        (1, "Tins keep two years"), (1, "opened tins keep six months.")]


def test_unsupported_sentences_are_marked_or_removed() -> None:
    answer = "The Oolong is brewed at 85 degrees [1]. It was first grown on the moon."
    claims = verify_claims(answer, "How do I brew the Oolong?", _chunks(TEA))
    assert [c.supported for c in claims] == [True, False] and supported_share(claims) == 0.5
    assert mark_unverified(answer, claims) == ("The Oolong is brewed at 85 degrees [1]. "
                                               "It was first grown on the moon (not verified).")
    text, kept = keep_supported(answer, claims)
    assert text == "The Oolong is brewed at 85 degrees [1]." and len(kept) == 1


def test_cli_verdict_line_counts_supported_claims() -> None:
    from types import SimpleNamespace

    from ragloom.cli import verdict_line

    claims = verify_claims("The Oolong is brewed at 85 degrees [1]. It grows on the moon.",
                           "How do I brew the Oolong?", _chunks(TEA))
    assert verdict_line(SimpleNamespace(grounded=False, claims=claims)) == (
        "not verified · 1/2 claims supported")
    assert verdict_line(SimpleNamespace(grounded=None, claims=[])) == "unchecked"


LUAU = "Jack Owens wrote the song after he attended a luau at the Kahuku sugar mill."
KAHUKU = "Kahuku is in the Koolauloa District on the island of Oahu."


def test_two_chunks_together_support_a_two_hop_claim_and_both_are_cited() -> None:
    checked = verify_answer("Jack Owens wrote the song after a luau in the Koolauloa District "
                            "on Oahu [1].", _chunks(LUAU, KAHUKU), "Who wrote the song?")
    [claim] = checked.claims
    assert claim.supported and claim.support == [1, 2] and claim.n == 1
    assert claim.span == f"{LUAU} … {KAHUKU}"
    assert checked.text.endswith("[1][2].")


def test_a_pair_is_not_used_when_one_chunk_supports_the_claim() -> None:
    [claim] = verify_claims("Jack Owens attended a luau at the sugar mill.", "Who wrote the song?",
                            _chunks(KAHUKU, LUAU))
    assert claim.supported and claim.support == [2]


def test_a_pair_still_needs_every_name_and_number() -> None:
    [claim] = verify_claims("Jack Owens wrote the song in 1936 on Oahu.", "Who wrote the song?",
                            _chunks(LUAU, KAHUKU))
    assert not claim.supported and claim.missing == ["1936"]


def test_a_short_answer_needs_a_chunk_about_the_question() -> None:
    question = "Into which language did Haymo of Faversham's order translate its rule?"
    about = "Haymo of Faversham's order translated its rule into Latin."
    elsewhere = "Persian poetry flourished in the twelfth century."
    [found] = verify_claims("Latin.", question, _chunks(elsewhere, about))
    assert found.supported and found.n == 2
    [unrelated] = verify_claims("Persian.", question, _chunks(elsewhere, about))
    assert not unrelated.supported and "the passage is not about the question" in unrelated.missing


def test_a_name_opening_the_claim_is_the_question_s_name() -> None:
    # "Lilu" opens the claim (so it is not read as a name) but the question names Lilu.
    [claim] = verify_claims("Lilu is a demon [1].", "If Gallu is a demon Lilu is what?",
                            _chunks("Lilu is a demon of the night."))
    assert not claim.supported and claim.missing == [RESTATES]


def test_a_bare_yes_or_no_is_never_supported_and_a_leading_one_is_set_aside() -> None:
    question = "Are both magazines British?"
    [bare] = verify_claims("No.", question, _chunks("Both magazines are British."))
    assert not bare.supported and bare.missing == [BARE_VERDICT]
    [lead] = verify_claims("Yes, both magazines are British [1].", question,
                           _chunks("Both magazines are British."))
    assert lead.supported and lead.text == "Yes, both magazines are British."


def test_a_multi_word_name_must_occur_whole() -> None:
    question = "Name the mother of Edward Stafford, 4th Baron Stafford."
    chunk = ("Edward Stafford, 4th Baron Stafford was the son of Henry Stafford and Lady Mary "
             "Fortescue. His mother died in 1590.")
    [wrong] = verify_claims("Mary Stafford.", question, _chunks(chunk))
    assert not wrong.supported and "mary stafford" in wrong.missing
    [right] = verify_claims("Lady Mary Fortescue.", question, _chunks(chunk))
    assert right.supported


def test_every_word_of_a_short_answer_must_be_there() -> None:
    [claim] = verify_claims("lead vocalist.", "What role did Adam Duritz perform in his band?",
                            _chunks("David Bryson is a guitarist and vocalist for the band."))
    assert not claim.supported and "lead" in claim.missing


def test_a_name_opening_a_short_answer_is_a_name() -> None:
    question = "Where is the publisher of the novel based?"
    chunk = "Two Dollar Radio is a publisher based in Columbus, Ohio. It publishes novels."
    [claim] = verify_claims("Columbus, Ohio.", question, _chunks(chunk))
    assert claim.supported
    [swapped] = verify_claims("Toledo, Ohio.", question, _chunks(chunk))
    assert not swapped.supported and "toledo" in swapped.missing


def test_a_bridge_passage_links_a_short_answer_to_the_question() -> None:
    question = "What genre is the author of the story behind Act of War associated with?"
    link = "Act of War is a video game whose story was written by Dale Brown."
    answer = "Dale Brown is known for his aviation techno-thriller novels."
    [claim] = verify_claims("aviation techno-thriller novels.", question, _chunks(answer, link))
    assert claim.supported and claim.support == [1, 2]
    # Without a shared name the second passage is no link, and the answer passage is off-topic.
    unlinked = "Act of War is a video game published in 2005."
    [alone] = verify_claims("aviation techno-thriller novels.", question, _chunks(answer, unlinked))
    assert not alone.supported


def test_picking_an_alternative_of_the_question_is_not_checked() -> None:
    [claim] = verify_claims("The Exies.", "Which band was formed first, The Exies or Circus "
                            "Diablo?", _chunks("The Exies formed in 1997."))
    assert not claim.supported and claim.missing == [CHOICE]


def test_initials_and_abbreviations_do_not_end_a_sentence() -> None:
    assert sentences_of("Haymo of Faversham, O.F.M. (c. 1243) was English [1]. He taught "
                        "in Paris. J. R. R. Tolkien wrote it.") == [
        "Haymo of Faversham, O.F.M. (c. 1243) was English [1].", "He taught in Paris.",
        "J. R. R. Tolkien wrote it."]


def test_a_scrap_that_only_repeats_the_question_is_not_counted() -> None:
    question = "What language were books translated into during the era of Haymo of Faversham?"
    chunk = "Haymo of Faversham lived in Paris. In his era books were translated into Latin."
    answer = "Haymo of Faversham. In his era books were translated into Latin [1]."
    claims = verify_claims(answer, question, _chunks(chunk))
    assert [c.missing == [RESTATES] for c in claims] == [True, False] and claims[1].supported
    assert supported_share(claims) == 1.0  # the scrap asserts nothing
    assert mark_unverified(answer, claims) == answer  # and is not marked
    echo = verify_claims("Haymo of Faversham.", question, _chunks(chunk))
    assert supported_share(echo) == 0.0  # an answer that is only an echo supports nothing


def test_the_refusal_never_quotes_a_scrap() -> None:
    claims = verify_claims("(it only repeats. The kite is red.", "What colour is the kite?",
                           _chunks(KITE))
    assert declined(claims) == 'I don\'t know: the documents do not say that "the kite is red".'
