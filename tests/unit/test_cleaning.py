from __future__ import annotations

from ragloom.retrieval.cleaning import (
    Hyphenation,
    clean_pages,
    clean_text,
    find_repeated_edges,
    join_hyphenated,
    normalize,
)

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def _page(number: int, total: int, body: list[str]) -> str:
    return "\n".join(["ACME Corp Annual Report 2024", "", *body, "", f"Page {number} of {total}"])


def test_joins_words_hyphenated_across_line_breaks() -> None:
    assert join_hyphenated("the infor-\nmation we keep") == "the information we keep"


def test_keeps_real_hyphens() -> None:
    assert clean_text("a well-known fact") == "a well-known fact"
    # The document writes "well-known" within a line, so a break inside it keeps the hyphen.
    text = "a well-known fact and a well-\nknown rule"
    assert clean_text(text) == "a well-known fact and a well-known rule"
    # A capital or a digit after the break means a compound, not a split word.
    assert clean_text("non-\nGAAP measures, Form 10-\nQ") == "non-GAAP measures, Form 10-Q"


def test_the_joined_spelling_wins_when_the_document_uses_it() -> None:
    text = "we store information here and more infor-\nmation there"
    assert clean_text(text) == "we store information here and more information there"


def test_the_documents_habit_decides_unknown_breaks() -> None:
    # A filing that writes its compounds with hyphens: unknown breaks keep theirs too.
    filing = "stock-based pay and third-party vendors; stock-\nbased, third-\nparty and credit-\nfinancing"
    assert clean_text(filing).endswith("stock-based, third-party and credit-financing")
    # A typeset text whose breaks split words: unknown breaks join.
    book = "information and formation; infor-\nmation, for-\nmation and hyphen-\nation"
    assert clean_text(book).endswith("information, formation and hyphenation")
    assert Hyphenation.learn([filing]).keep_unknown and not Hyphenation.learn([book]).keep_unknown


def test_pdfium_line_end_hyphen_markers_follow_the_same_rule() -> None:
    # pdfium joins "infor-" + "mation" itself and marks the join with U+0002 (or U+FFFE).
    assert normalize("infor\x02mation\r\nnext") == "infor-\nmation\nnext"
    assert clean_text("our infor\x02mation, mark-to\ufffemarket and mark-to-market") == (
        "our information, mark-to-market and mark-to-market"
    )
    assert clean_text("soft\u00adhyphen and hy\u00ad\nphen") == "softhyphen and hyphen"


def test_collapses_spaces_tabs_and_blank_lines() -> None:
    text = "a  \t b   c\t\n\n\n\n\nnext    line \n\n\nlast"
    assert normalize(text) == "a b c\n\nnext line\n\nlast"


def test_removes_repeated_header_and_footer_with_changing_page_numbers() -> None:
    pages = [_page(n, 10, [f"Body of {WORDS[n]}.", f"More about {WORDS[n]}."]) for n in range(1, 5)]
    cleaned = clean_pages(pages)
    assert cleaned == [f"Body of {WORDS[n]}.\nMore about {WORDS[n]}." for n in range(1, 5)]


def test_page_numbers_with_different_digit_counts_match() -> None:
    pages = [f"{WORDS[n]} first\n{WORDS[n]} second\nPage {n} of 12" for n in (8, 9, 10, 11)]
    assert clean_pages(pages) == [f"{WORDS[n]} first\n{WORDS[n]} second" for n in (8, 9, 10, 11)]


def test_header_on_half_of_the_pages_is_removed_but_not_on_fewer() -> None:
    half = ["Running head\nbody one", "Running head\nbody two", "body three", "body four"]
    assert clean_pages(half) == ["body one", "body two", "body three", "body four"]
    few = ["Running head\nbody one", "body two", "body three", "body four", "body five"]
    assert clean_pages(few)[0] == "Running head\nbody one"


def test_repeated_line_inside_the_body_is_kept() -> None:
    body = ["one {w}", "two {w}", "ACME Corp Annual Report 2024", "three {w}", "four {w}"]
    pages = [_page(n, 3, [line.format(w=WORDS[n]) for line in body]) for n in (1, 2, 3)]
    cleaned = clean_pages(pages)
    assert cleaned[0] == "one bravo\ntwo bravo\nACME Corp Annual Report 2024\nthree bravo\nfour bravo"


def test_short_documents_keep_their_edges() -> None:
    pages = [_page(n, 2, ["body"]) for n in (1, 2)]
    assert find_repeated_edges([p.split("\n") for p in pages]) == set()
    assert clean_pages(pages)[0].startswith("ACME Corp Annual Report 2024")


def test_empty_pages_stay_empty_and_keep_their_position() -> None:
    pages = ["Header\nbody a\nFooter 1", "", "Header\nbody c\nFooter 3", "Header\nbody d\nFooter 4"]
    assert clean_pages(pages) == ["body a", "", "body c", "body d"]
