"""Inline [n] citation markers: map to the chunks given to the model, drop the ones that don't.
Whether a cited chunk supports its sentence is decided in agents/claims.py."""

from __future__ import annotations

import re

from pydantic import BaseModel

from ragloom.retrieval.types import RetrievedChunk

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A full stop after an initial or an abbreviation ("O.F.M.", "c. 1243", "St. Louis", "J. Smith")
# does not end the sentence.
_ABBREVIATION = re.compile(r"(?:\b[A-Z]|\b(?:[A-Za-z]\.)+[A-Za-z]|\b(?:c|ca|St|Dr|Mr|Mrs|Ms|Jr|Sr|"
                           r"Prof|vs|Inc|Ltd|Co|Mt|Ft|approx|No))\.$")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
# Words too common to show that a sentence came from a particular source.
_STOPWORDS = frozenset("""
a an the is are was were be been of to in on at for by with and or not no it its this that these
those as from into than then there their they you your we our us i he she his her do does did can
could should would will may might must has have had what which who whom how when where why
""".split())
_REFUSALS = ("i don't know", "i do not know", "i dont know")


class Citation(BaseModel):
    n: int
    # "model": the model wrote [n] and chunk n supports the sentence; "check": the claim check
    # (agents/claims.py) found the chunk that supports it (a re-pointed or missing marker)
    method: str = "model"
    chunk_id: str
    source: str
    page: int | None
    chunk_index: int
    text: str


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, not broken after initials and abbreviations."""
    out: list[str] = []
    for part in (p for p in _SENTENCE_END.split(text.strip()) if p.strip()):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def format_sources(chunks: list[RetrievedChunk]) -> str:
    """Numbered, delimited sources for the prompt; [n] is the n-th chunk."""
    blocks = []
    for n, chunk in enumerate(chunks, start=1):
        where = chunk.source.rsplit("/", 1)[-1] + (f", page {chunk.page}" if chunk.page else "")
        blocks.append(f"[{n}] ({where})\n<<<\n{chunk.text.strip()}\n>>>")
    return "\n\n".join(blocks)


def extract_citations(answer: str, chunks: list[RetrievedChunk]) -> tuple[str, list[Citation], int]:
    """Return the answer without invalid markers, the valid citations in order, and the drop count."""
    cited: dict[int, Citation] = {}
    dropped = 0

    def keep_valid(match: re.Match[str]) -> str:
        nonlocal dropped
        valid = []
        for n in (int(x) for x in match.group(1).split(",")):
            if 1 <= n <= len(chunks):
                valid.append(n)
                c = chunks[n - 1]
                cited.setdefault(n, Citation(n=n, chunk_id=c.id, source=c.source, page=c.page,
                                             chunk_index=c.chunk_index, text=c.text))
            else:
                dropped += 1
        return "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(keep_valid, answer)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned).strip()
    return cleaned, list(cited.values()), dropped


def is_refusal(answer: str) -> bool:
    text = answer.strip().lower().replace("’", "'")
    return any(text.startswith(r) for r in _REFUSALS)


# Small models wrap answers in these; they carry no fact.
_PREAMBLE = frozenset("according document documents information provided text passage context "
                      "given based mentioned stated answer question".split())
_YES_NO_START = re.compile(r"^\s*(is|are|was|were|do|does|did|can|could|has|have|had|will|would|"
                           r"should)\b", re.I)


def restates_question(answer: str, question: str) -> bool:
    """True when ``answer`` adds no word beyond the question ("Lilu is what [3]?" to "If Gallu is a
    demon Lilu is what?"): small models echo the question when they cannot answer it. A yes/no
    question restated as a statement ("X and Y are both directors") and a choice repeated from
    the question ("X was formed first" to "... X or Y?") are answers, so those pass."""
    if _YES_NO_START.match(question) or re.search(r"\bor\b", question, re.I):
        return False
    asked = {_stem(w) for w in _content_words(question) | _PREAMBLE}
    return all(_stem(w) in asked for w in _content_words(_MARKER.sub("", answer)))


def _stem(word: str) -> str:
    """Crude suffix stripping, enough to see "brewed" repeat "brew"."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}
