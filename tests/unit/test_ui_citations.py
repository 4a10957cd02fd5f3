"""Citation display helpers: linked markers, escaping, the supporting span."""

from __future__ import annotations

from ragloom.ui.citations import (
    claims_for,
    highlighted_html,
    link_markers,
    source_label,
    supporting_span,
)

CHUNK = ("Green tea: brew at 80 degrees Celsius for 2 minutes. Oolong: brew at 85 degrees "
         "Celsius for 3 minutes. Black tea keeps for two years.")


def test_valid_markers_link_to_their_source_and_html_is_escaped() -> None:
    html = link_markers("Use <b>85</b> °C [1][3], and [2, 1].\nDone", turn=4, cited={1, 2})
    assert '<a class="ragloom-cite" href="#src-4-1">[1]</a>[3]' in html  # 3 was not cited
    assert '<a class="ragloom-cite" href="#src-4-2">[2]</a><a class="ragloom-cite" ' \
           'href="#src-4-1">[1]</a>' in html
    assert "&lt;b&gt;85&lt;/b&gt;" in html and "<b>" not in html and "<br>Done" in html


def test_claims_are_the_sentences_that_cite_the_source() -> None:
    answer = "Oolong needs 85 degrees [1]. Green tea needs 80 [2]. Both are tea [1, 2]."
    assert claims_for(answer, 1) == ["Oolong needs 85 degrees .", "Both are tea ."]
    assert claims_for(answer, 3) == []


def test_the_best_supporting_sentence_is_highlighted() -> None:
    span = supporting_span(CHUNK, ["Brew Oolong at 85 degrees Celsius."])
    assert span is not None and CHUNK[span[0]:span[1]] == ("Oolong: brew at 85 degrees Celsius "
                                                           "for 3 minutes.")
    html = highlighted_html("a < b. " + CHUNK, (7, 20))
    assert html.startswith("a &lt; b. <mark>") and html.count("<mark>") == 1


def test_nothing_is_highlighted_without_shared_words() -> None:
    assert supporting_span(CHUNK, ["Completely unrelated words here."]) is None
    assert supporting_span(CHUNK, []) is None
    assert "<mark>" not in highlighted_html(CHUNK, None)


def test_source_label_names_file_page_and_chunk() -> None:
    assert source_label("/docs/tea-guide.pdf", 3, 7) == "tea-guide.pdf, page 3 · chunk 7"
    assert source_label("/docs/faq.txt", None, 0) == "faq.txt · chunk 0"


def test_unverified_sentences_are_wrapped_and_evidence_spans_located() -> None:
    from ragloom.ui.citations import evidence_range, mark_unverified_html

    html = mark_unverified_html("At 85 degrees [1]. Grown on the moon (not verified).")
    assert html == ('At 85 degrees [1]. <span class="ragloom-unverified">Grown on the moon '
                    '(not verified).</span>')
    span = evidence_range(CHUNK, "Oolong: brew at 85 degrees Celsius for 3 minutes.")
    assert span is not None and CHUNK[span[0]:span[1]].startswith("Oolong: brew at 85")
    assert evidence_range(CHUNK, None) is None and evidence_range(CHUNK, "not in it.") is None
