"""Claim verification that does not trust the chat model: pure functions, no model calls.

An answer is split into claims (sentences; ";" clauses and long " and " clauses separately). A
claim is *supported* by a chunk when, in that chunk:

- every number/date and every capitalised name of the claim occurs (question words included:
  a fact about "Tartu" must come from a passage that mentions Tartu);
- the IDF-weighted share of its other *new* content words (not in the question) that occur is
  at least ``threshold`` (IDF over the chunks shown, so common words count for little);
- negation matches: the claim says "not/no/never/…" exactly when the evidence sentences do.

A claim that adds nothing beyond the question supports nothing ("restates the question"). The
evidence span is the chunk's sentence(s) holding the matched tokens.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, Field

from agents.citations import _PREAMBLE, _SENTENCE_END, _STOPWORDS, _YES_NO_START
from retrieval.types import RetrievedChunk

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")  # with the space before it, to strip
_CHUNK_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z][A-Za-z'’-]*")
_NEGATIONS = frozenset("not no never none nor cannot without nothing neither".split())
_MONTHS = frozenset("january february march april may june july august september october "
                    "november december".split())
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
RESTATES = "restates the question"


class ClaimVerdict(BaseModel):
    text: str
    supported: bool
    chunk_id: str | None = None
    n: int | None = Field(None, description="the supporting source's number [n]")
    span: str | None = Field(None, description="the supporting sentence(s) of that chunk")
    score: float = Field(0.0, description="IDF-weighted share of new content words found")
    missing: list[str] = Field(default_factory=list, description="what no chunk said, or why")
    sentence: int = Field(0, description="index of the answer sentence the claim comes from")


class _Tokens(BaseModel):
    keys: set[str]  # numbers, dates and names: all must occur
    words: set[str]  # other content words, stemmed
    negated: bool
    seen: set[str] = set()  # every token, lowercased (a name may open a chunk's sentence)


def _stem(word: str) -> str:
    """Crude but symmetric: "degrees"/"degree", "shipping"/"ships", "brewed"/"brew" meet."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]  # "shipp" -> "ship"
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _number(raw: str) -> str:
    """"4.20" -> "4.2", "1,000" -> "1000", "85" -> "85": the same number written differently."""
    text = re.sub(r",(?=\d{3}\b)", "", raw).replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else repr(value)


def tokens(text: str) -> _Tokens:
    """Key tokens, content words and polarity of ``text`` (citation markers ignored)."""
    keys: set[str] = set()
    words: set[str] = set()
    negated = False
    seen: set[str] = set()
    for i, raw in enumerate(_TOKEN.findall(MARKER.sub("", text))):
        low = raw.lower().replace("’", "'")
        seen.add(low)
        if raw[0].isdigit():
            keys.add(_number(raw))
        elif low in _NUMBER_WORDS:
            keys.add(_NUMBER_WORDS[low])
        elif low in _NEGATIONS or low.endswith("n't"):
            negated = True
        elif raw[0].isupper() and low in _MONTHS:  # "May" the month, not "may" the verb
            keys.add(low)
        elif low in _STOPWORDS or low in _PREAMBLE or len(low) < 2:
            continue
        elif raw[0].isupper() and i > 0:  # a name (a sentence's first word may be "The")
            keys.add(low)
        else:
            words.add(_stem(low.strip("'-")))
    return _Tokens(keys=keys, words=words, negated=negated, seen=seen | keys | words)


def split_claims(answer: str) -> list[tuple[int, str]]:
    """(sentence index, claim) pairs: sentences, then ";" clauses, then " and " clauses when both
    sides have four words or more (so "paid in June and December" stays one claim)."""
    out: list[tuple[int, str]] = []
    for i, sentence in enumerate(sentences_of(answer)):
        for clause in sentence.split(";"):
            parts = re.split(r",?\s+and\s+", clause)
            if len(parts) == 2 and all(len(p.split()) >= 4 for p in parts):
                out.extend((i, p.strip()) for p in parts)
            elif clause.strip():
                out.append((i, clause.strip()))
    return out


class _Chunk(BaseModel):
    """A chunk tokenised once per answer: its sentences, their tokens, and all tokens seen."""

    sentences: list[str]
    per_sentence: list[_Tokens]
    have: set[str]


def _read(chunk: RetrievedChunk) -> _Chunk:
    sentences = [s for s in _CHUNK_SENTENCE.split(chunk.text) if s.strip()]
    per_sentence = [tokens(s) for s in sentences]
    return _Chunk(sentences=sentences, per_sentence=per_sentence,
                  have=set().union(*(t.seen for t in per_sentence)))


def idf_weights(chunks: list[RetrievedChunk]) -> dict[str, float]:
    """BM25-style IDF of each stemmed word over the chunks shown; unseen words weigh most."""
    docs = [tokens(c.text).words for c in chunks]
    vocab = set().union(*docs) if docs else set()
    n = len(docs)
    return {w: math.log(1 + (n - df + 0.5) / (df + 0.5))
            for w in vocab for df in [sum(w in d for d in docs)]}


def _unseen(n_chunks: int) -> float:
    return math.log(1 + (n_chunks + 0.5) / 0.5)


def verify_claim(claim: str, question: str, chunks: list[RetrievedChunk], *,
                 threshold: float = 0.6, prefer: tuple[int, ...] = (),
                 idf: dict[str, float] | None = None, sentence: int = 0,
                 read: list[_Chunk] | None = None) -> ClaimVerdict:
    """The verdict on one claim: the first supporting chunk among ``prefer`` (the numbers the
    claim cited), else the best-scoring supporting chunk, else unsupported with what is missing."""
    idf = idf_weights(chunks) if idf is None else idf
    read = [_read(c) for c in chunks] if read is None else read
    mine, asked = tokens(claim), tokens(question)
    # A yes/no question's words are the claim the answer makes: nothing is subtracted.
    subtract = not _YES_NO_START.match(question)
    new_keys = mine.keys - asked.keys if subtract else mine.keys
    new_words = mine.words - asked.words if subtract else mine.words
    text = MARKER.sub("", claim).strip()
    if not new_keys and not new_words:
        return ClaimVerdict(text=text, supported=False, missing=[RESTATES], sentence=sentence)
    unseen = _unseen(len(chunks))
    total = sum(idf.get(w, unseen) for w in new_words)
    best: ClaimVerdict | None = None
    order = [n for n in prefer if 1 <= n <= len(chunks)]
    order += [n for n in range(1, len(chunks) + 1) if n not in order]
    for n in order:
        chunk = chunks[n - 1]
        sentences, per_sentence, have = (read[n - 1].sentences, read[n - 1].per_sentence,
                                         read[n - 1].have)
        found = new_words & have
        score = sum(idf.get(w, unseen) for w in found) / total if total else 1.0
        missing = sorted(mine.keys - have) + sorted(new_words - have)
        # The span holds what the claim adds (question words would pull in its heading).
        evidence = _evidence(per_sentence, (new_keys | new_words) & have
                             or (mine.keys | mine.words) & have)
        if evidence and any(per_sentence[i].negated for i in evidence) != mine.negated:
            missing.append("negation: the source says the opposite")
        supported = not (mine.keys - have) and score >= threshold and not (
            missing and missing[-1].startswith("negation"))
        verdict = ClaimVerdict(
            text=text, supported=supported, chunk_id=chunk.id if supported else None,
            n=n if supported else None,
            span=" ".join(sentences[i].strip() for i in evidence) if supported else None,
            score=round(score, 3), missing=missing, sentence=sentence)
        if supported and n in prefer:
            return verdict
        if best is None or (verdict.supported, verdict.score, -len(verdict.missing)) > (
                best.supported, best.score, -len(best.missing)):
            best = verdict
    return best or ClaimVerdict(text=text, supported=False, missing=["no source was shown"],
                                sentence=sentence)


def _evidence(per_sentence: list[_Tokens], wanted: set[str]) -> list[int]:
    """The fewest sentences that hold the matched tokens (greedy cover), in chunk order: the
    span shown, and the sentences whose polarity must agree with the claim."""
    chosen: list[int] = []
    left = set(wanted)
    while left:
        gain = [len(left & t.seen) for t in per_sentence]
        best = max(range(len(gain)), key=gain.__getitem__, default=-1)
        if best < 0 or gain[best] == 0:
            break
        chosen.append(best)
        left -= per_sentence[best].seen
    return sorted(chosen)


def cited_numbers(text: str) -> tuple[int, ...]:
    return tuple(int(x) for m in MARKER.finditer(text) for x in m.group(1).split(","))


def verify_claims(answer: str, question: str, chunks: list[RetrievedChunk], *,
                  threshold: float = 0.6) -> list[ClaimVerdict]:
    """Every claim of ``answer``, each checked against the chunks (its own citations first)."""
    idf, read = idf_weights(chunks), [_read(c) for c in chunks]
    sentences = sentences_of(answer)
    return [verify_claim(claim, question, chunks, threshold=threshold, idf=idf, sentence=i,
                         read=read, prefer=cited_numbers(sentences[i]) + cited_numbers(claim))
            for i, claim in split_claims(answer)]


def supported_share(claims: list[ClaimVerdict]) -> float:
    return sum(c.supported for c in claims) / len(claims) if claims else 0.0


def sentences_of(answer: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(answer.strip()) if s.strip()]
