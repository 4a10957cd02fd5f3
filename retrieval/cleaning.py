"""Tidy the text that PDF extraction produces, page by page.

``clean_pages`` normalises line endings and whitespace, removes running headers and footers, and
re-joins words hyphenated across line breaks:

- A header/footer is a line that, with every run of digits replaced by ``#`` (so "Page 3 of 10"
  matches "Page 4 of 10"), is among the first or last ``EDGE_LINES`` non-blank lines of at least
  half the pages of a document with at least ``MIN_PAGES_FOR_EDGES`` pages. It is removed only
  where it sits at a page edge, never from the body.
- "infor-\\nmation" becomes "information", but real hyphens stay: "non-\\nGAAP" (capital or digit
  after the break), "mark-to-\\nmarket" (part of a longer compound), "well-\\nknown" when the
  document writes "well-known" within a line and never "wellknown". Where the document's own words
  give no evidence, its habit decides (see ``Hyphenation``); with no evidence at all, words join.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

EDGE_LINES = 2
MIN_PAGES_FOR_EDGES = 3
EDGE_SHARE = 0.5

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u3000]+")
_DIGITS = re.compile(r"\d+")
_MANY_BLANKS = re.compile(r"\n{3,}")
# pdfium joins a line that ends in a hyphen to the next one itself and marks the spot with U+0002
# (U+FFFE from some calls): "infor\x02mation", "stock\x02based". Both become "-\n" so that one rule
# decides. U+00AD (soft hyphen) is invisible unless it ends a line.
_LINE_END_HYPHEN = re.compile(r"[\u0002\ufffe]|\u00ad\n")
_SOFT_HYPHEN = "\u00ad"
_BREAK_HYPHEN = re.compile(r"(?<![\w-])(\w++(?:-\w++)*)-\n[ \t]*(\w++(?:-\w++)*)")
_WORD = re.compile(r"\w+(?:-\w+)*")


def normalize(text: str) -> str:
    """Unix line ends, single spaces, no trailing spaces, no runs of blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LINE_END_HYPHEN.sub("-\n", text).replace(_SOFT_HYPHEN, "")
    lines = [line.strip() for line in _SPACES.sub(" ", text).split("\n")]
    return _MANY_BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _edge_keys(lines: list[str]) -> set[str]:
    nonblank = [line for line in lines if line]
    edges = nonblank[:EDGE_LINES] + nonblank[-EDGE_LINES:]
    return {_DIGITS.sub("#", line) for line in edges}


def find_repeated_edges(pages: list[list[str]]) -> set[str]:
    """Digit-masked lines that sit at a page edge on at least half of the pages."""
    if len(pages) < MIN_PAGES_FOR_EDGES:
        return set()
    counts = Counter(key for lines in pages for key in _edge_keys(lines))
    needed = EDGE_SHARE * len(pages)
    return {key for key, count in counts.items() if count >= needed}


def strip_edges(lines: list[str], repeated: set[str]) -> list[str]:
    """Drop repeated lines found among the first and last ``EDGE_LINES`` non-blank lines."""
    positions = [i for i, line in enumerate(lines) if line]
    edge = set(positions[:EDGE_LINES] + positions[-EDGE_LINES:])
    return [line for i, line in enumerate(lines) if not (i in edge and _DIGITS.sub("#", line) in repeated)]


def _compound(left: str, right: str) -> bool:
    """Breaks that are always real hyphens: "non-GAAP", "10-inch", "mark-to-market", "Year-over-year"."""
    return not right[0].islower() or left[-1].isdigit() or "-" in left or "-" in right


@dataclass(frozen=True)
class Hyphenation:
    """What one document tells us about its line-end hyphens.

    ``plain`` and ``hyphenated`` are the words it writes within lines (lower-cased).
    ``keep_unknown`` is the document's habit, used where its own words give no evidence: True when
    its evidenced breaks are mostly real compounds (typical of reports and filings), False when
    they are mostly split words (typical of typeset books and papers).
    """

    plain: frozenset[str] = frozenset()
    hyphenated: frozenset[str] = frozenset()
    keep_unknown: bool = False

    @classmethod
    def learn(cls, texts: list[str]) -> Hyphenation:
        plain: set[str] = set()
        hyphenated: set[str] = set()
        for text in texts:
            for word in _WORD.findall(text.lower()):
                (hyphenated if "-" in word else plain).add(word)
        seen = cls(frozenset(plain), frozenset(hyphenated))
        breaks = [match.groups() for text in texts for match in _BREAK_HYPHEN.finditer(text)]
        votes = Counter(seen.evidence(left, right) for left, right in breaks if not _compound(left, right))
        return cls(seen.plain, seen.hyphenated, keep_unknown=votes[True] > votes[False])

    def evidence(self, left: str, right: str) -> bool | None:
        """True: keep the hyphen, False: join, None: the document's words do not say."""
        in_compounds = f"{left}-{right}".lower() in self.hyphenated
        in_words = f"{left}{right}".lower() in self.plain
        return in_compounds if in_compounds != in_words else None

    def keep(self, left: str, right: str) -> bool:
        if _compound(left, right):
            return True
        decided = self.evidence(left, right)
        return self.keep_unknown if decided is None else decided


def join_hyphenated(text: str, hyphenation: Hyphenation | None = None) -> str:
    """Re-join words split by a hyphen at a line break (see the module docstring for the rules)."""
    if "-\n" not in text:
        return text
    rules = hyphenation or Hyphenation()

    def repl(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        return f"{left}-{right}" if rules.keep(left, right) else f"{left}{right}"

    return _BREAK_HYPHEN.sub(repl, text)


def clean_pages(pages: list[str]) -> list[str]:
    """Clean the extracted text of every page of one document; returns one string per page."""
    split = [normalize(page).split("\n") for page in pages]
    repeated = find_repeated_edges(split)
    texts = ["\n".join(strip_edges(lines, repeated)).strip() for lines in split]
    rules = Hyphenation.learn(texts)
    return [_MANY_BLANKS.sub("\n\n", join_hyphenated(text, rules)) for text in texts]


def clean_text(text: str) -> str:
    """Clean one stand-alone text (no header/footer detection: that needs several pages)."""
    normal = normalize(text)
    return join_hyphenated(normal, Hyphenation.learn([normal]))
