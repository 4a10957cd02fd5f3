"""Pure helpers for showing citations: linked markers and the supporting span of a chunk."""

from __future__ import annotations

import html
import re

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_STOP = frozenset("""a an the is are was were be been of to in on at for by with and or not no it its
this that these those as from into than then there their they you your we our i he she his her do does
did can could should would will may might must has have had what which who how when where why""".split())


def anchor(turn: int, n: int) -> str:
    return f"src-{turn}-{n}"


def link_markers(answer: str, turn: int, cited: set[int]) -> str:
    """Escape the answer for HTML and turn each valid ``[n]`` into a link to its source card."""

    def link(match: re.Match[str]) -> str:
        parts = []
        for n in (int(x) for x in match.group(1).split(",")):
            if n in cited:
                parts.append(f'<a class="ragloom-cite" href="#{anchor(turn, n)}">[{n}]</a>')
            else:
                parts.append(f"[{n}]")
        return "".join(parts)

    escaped = html.escape(answer, quote=False).replace("\n", "<br>")
    return _MARKER.sub(link, escaped)


def claims_for(answer: str, n: int) -> list[str]:
    """The answer's sentences that cite ``[n]`` (markers removed)."""
    out = []
    for sentence in _SENTENCE.findall(answer):
        numbers = {int(x) for m in _MARKER.finditer(sentence) for x in m.group(1).split(",")}
        if n in numbers:
            out.append(_MARKER.sub("", sentence).strip())
    return out


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def supporting_span(chunk: str, claims: list[str]) -> tuple[int, int] | None:
    """Character range of the chunk sentence that shares the most content words with the claims.

    Returns None when no sentence shares any word (nothing to highlight honestly).
    """
    wanted = set().union(*(_words(c) for c in claims)) if claims else set()
    if not wanted:
        return None
    best: tuple[float, int, int] | None = None
    for m in _SENTENCE.finditer(chunk):
        words = _words(m.group(0))
        if not words:
            continue
        overlap = len(words & wanted)
        score = overlap / len(wanted) + overlap / len(words)  # covers the claim, and is focused
        if overlap and (best is None or score > best[0]):
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            best = (score, start, m.end())
    return (best[1], best[2]) if best else None


def highlighted_html(chunk: str, span: tuple[int, int] | None) -> str:
    """The chunk as HTML with the supporting span in <mark>; everything else escaped."""
    if span is None:
        return html.escape(chunk).replace("\n", "<br>")
    a, b = span
    parts = (html.escape(chunk[:a]), html.escape(chunk[a:b]), html.escape(chunk[b:]))
    return (f"{parts[0]}<mark>{parts[1]}</mark>{parts[2]}").replace("\n", "<br>")


_ANSWER_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_EVIDENCE_SENTENCE = re.compile(r"(?<=[.!?;])\s+")
UNVERIFIED = "(not verified)"


def mark_unverified_html(escaped: str) -> str:
    """Wrap each already-escaped answer sentence that the claim check marked "(not verified)"."""
    parts = _ANSWER_SENTENCE.split(escaped)
    return " ".join(f'<span class="ragloom-unverified">{p}</span>' if UNVERIFIED in p else p
                    for p in parts)


def evidence_range(chunk: str, span: str | None) -> tuple[int, int] | None:
    """Character range of the claim check's evidence sentence(s) in the chunk, or None."""
    if not span:
        return None
    start = end = -1
    pos = 0
    for piece in _EVIDENCE_SENTENCE.split(span.strip()):
        at = chunk.find(piece, pos)
        if at < 0:
            continue
        start = at if start < 0 else start
        end = pos = at + len(piece)
    return (start, end) if start >= 0 else None


def source_label(source: str, page: int | None, chunk_index: int) -> str:
    name = source.rsplit("/", 1)[-1]
    return f"{name}" + (f", page {page}" if page else "") + f" · chunk {chunk_index}"
