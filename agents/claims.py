"""Claim verification that does not trust the chat model: pure functions, no model calls.

An answer is split into claims (sentences; ";" clauses and long " and " clauses separately). A
claim is *supported* by a chunk when, in that chunk:

- every number/date and every capitalised name of the claim occurs (question words included:
  a fact about "Tartu" must come from a passage that mentions Tartu);
- the IDF-weighted share of its other *new* content words (not in the question) that occur is
  at least ``threshold`` (IDF over the chunks shown, so common words count for little);
- negation matches: the claim says "not/no/never/…" exactly when the evidence sentences do;
- a short answer ("Persian", fewer than four content words) is supported only by a chunk that
  also holds one of the question's content words: an answer word found in a passage about
  something else supports nothing.

When no single chunk supports a claim, two chunks may support it together, each holding part of
what the claim adds (a two-hop answer: "X wrote the song, in the district Y" from X's page and Y's).
A claim that adds nothing beyond the question supports nothing ("restates the question"); a bare
"Yes."/"No." is a verdict no passage states, so it is never supported on its own. The evidence
span is the chunk's sentence(s) holding the matched tokens.
"""

from __future__ import annotations

import math
import re

from pydantic import BaseModel, Field

from ragloom.agents.citations import _PREAMBLE, _STOPWORDS, _YES_NO_START, split_sentences
from ragloom.retrieval.types import RetrievedChunk

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")  # with the space before it, to strip
_CHUNK_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z][A-Za-z'’-]*")
_NEGATIONS = frozenset("not no never none nor cannot without nothing neither".split())
_MONTHS = frozenset("january february march april may june july august september october "
                    "november december".split())
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
RESTATES = "restates the question"
# A claim with fewer content tokens is a short answer whose context is the question, so its
# chunk must share a word with the question (a full sentence carries its own context).
_SHORT_ANSWER = 4
BARE_VERDICT = "a bare yes/no: no passage states it"
CHOICE = "picks one of the question's alternatives: the comparison is not checked"
_YES_NO_LEAD = re.compile(r"^\s*(yes|no)\b[,.!:;]?\s*", re.I)


class ClaimVerdict(BaseModel):
    text: str
    supported: bool
    chunk_id: str | None = None
    n: int | None = Field(None, description="the supporting source's number [n]")
    support: list[int] = Field(default_factory=list, description="every [n] the support comes "
                               "from: n alone, or n and a second source that holds the rest")
    span: str | None = Field(None, description="the supporting sentence(s), all sources")
    spans: list[str] = Field(default_factory=list, description="the span in each source of "
                             "``support``, in the same order")
    score: float = Field(0.0, description="IDF-weighted share of new content words found")
    missing: list[str] = Field(default_factory=list, description="what no chunk said, or why")
    sentence: int = Field(0, description="index of the answer sentence the claim comes from")


class _Tokens(BaseModel):
    keys: set[str]  # numbers, dates and names: all must occur
    words: set[str]  # other content words, stemmed
    negated: bool
    seen: set[str] = set()  # every token, lowercased and stemmed (a name may open a sentence)
    names: set[str] = set()  # names of two words or more ("mary stafford"): the whole must occur
    first: str | None = None  # a capitalised first word: a name when the claim is a short answer
    joined: str = " "  # every token, lowercased, space-separated and padded: phrase look-ups


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
    clean = MARKER.sub("", text)
    found = list(_TOKEN.finditer(clean))
    first = None
    for i, match in enumerate(found):
        raw = match.group()
        low = raw.lower().replace("’", "'")
        seen |= {low, _stem(low.strip("'-"))}
        if i == 0 and raw[0].isupper() and low not in _STOPWORDS | _PREAMBLE:
            first = low
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
    return _Tokens(keys=keys, words=words, negated=negated, seen=seen | keys | words,
                   names=_names(clean, found), first=first,
                   joined=f" {' '.join(m.group().lower() for m in found)} ")


def _names(text: str, found: list[re.Match[str]]) -> set[str]:
    """Runs of two or more capitalised words separated only by spaces: "Mary Stafford",
    "New York City" (so "Mary" from one sentence and "Stafford" from another are no match)."""
    names, run = set(), []
    for i, match in enumerate(found):
        word = match.group()
        capital = word[0].isupper() and word.lower() not in _STOPWORDS
        joined = bool(run) and not text[found[i - 1].end():match.start()].strip()
        if capital and (joined or not run):
            run.append(word.lower())
            continue
        if len(run) > 1:
            names.add(" ".join(run))
        run = [word.lower()] if capital else []
    if len(run) > 1:
        names.add(" ".join(run))
    return names


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
    joined: str  # all tokens, lowercased: where a claim's multi-word names are looked up
    keys: set[str]  # the chunk's own names and numbers: what a bridge chunk shares with it


def _read(chunk: RetrievedChunk) -> _Chunk:
    sentences = [s for s in _CHUNK_SENTENCE.split(chunk.text) if s.strip()]
    per_sentence = [tokens(s) for s in sentences]
    return _Chunk(sentences=sentences, per_sentence=per_sentence,
                  have=set().union(*(t.seen for t in per_sentence)),
                  joined=" ".join(t.joined for t in per_sentence),
                  keys=set().union(*(t.keys for t in per_sentence)))


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
    claim cited), else the best-scoring supporting chunk, else the best supporting pair of
    chunks, else unsupported with what is missing."""
    idf = idf_weights(chunks) if idf is None else idf
    read = [_read(c) for c in chunks] if read is None else read
    text = MARKER.sub("", claim).strip()
    body = _YES_NO_LEAD.sub("", text)  # "No, both are British" claims "both are British"
    if not body.strip(" .!?"):
        return ClaimVerdict(text=text, supported=False, missing=[BARE_VERDICT], sentence=sentence)
    mine, asked = tokens(body), tokens(question)
    # A yes/no question's words are the claim the answer makes: nothing is subtracted.
    subtract = not _YES_NO_START.match(question)
    # ``seen`` holds both forms of a word: "Lilu" opening the claim is the question's name Lilu.
    new_keys = mine.keys - asked.seen if subtract else mine.keys
    new_words = mine.words - asked.seen if subtract else mine.words
    if not new_keys and not new_words:
        # "The Exies." to "... The Exies or Circus Diablo?" picks an alternative: a comparison
        # no passage states, like a bare yes/no.
        why = CHOICE if subtract and re.search(r"\bor\b", question, re.I) else RESTATES
        return ClaimVerdict(text=text, supported=False, missing=[why], sentence=sentence)
    short = len(mine.keys | mine.words) < _SHORT_ANSWER
    if short and mine.first and mine.first not in asked.seen:  # "Columbus, Ohio." names a city
        mine.keys.add(mine.first)
        mine.words.discard(_stem(mine.first))
        new_keys, new_words = new_keys | {mine.first}, new_words - {_stem(mine.first)}
    claim_tokens = _ClaimTokens(
        mine=mine, new_keys=new_keys, new_words=new_words, about=asked.keys | asked.words,
        idf=idf, short=short, unseen=_unseen(len(chunks)),
        names={n for n in mine.names if not (subtract and f" {n} " in asked.joined)},
        # every word of a short answer must be there: "lead vocalist" is not "vocalist"
        threshold=1.0 if short else threshold)
    order = [n for n in prefer if 1 <= n <= len(chunks)]
    order += [n for n in range(1, len(chunks) + 1) if n not in order]
    best: ClaimVerdict | None = None
    groups = [(n,) for n in order] + [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    for group in groups:
        if len(group) == 2 and best is not None and best.supported:
            break  # one chunk that says it all beats any pair
        verdict = _judge(claim_tokens, group, chunks, read, text, sentence)
        if verdict is None:
            continue
        if verdict.supported and group[0] in prefer and len(group) == 1:
            return verdict
        if best is None or _rank(verdict) > _rank(best):
            best = verdict
    return best or ClaimVerdict(text=text, supported=False, missing=["no source was shown"],
                                sentence=sentence)


def _rank(v: ClaimVerdict) -> tuple[bool, bool, int, float]:
    """Supported first, by one chunk before two; else the verdict that misses least."""
    return v.supported, v.supported and len(v.support) == 1, -len(v.missing), v.score


class _ClaimTokens(BaseModel):
    mine: _Tokens
    new_keys: set[str]
    new_words: set[str]
    about: set[str]  # the question's content tokens
    short: bool  # a short answer ("Persian"): its chunk must hold one of ``about``
    idf: dict[str, float]
    unseen: float
    threshold: float
    names: set[str]  # the claim's multi-word names that the question does not already hold


def _judge(c: _ClaimTokens, group: tuple[int, ...], chunks: list[RetrievedChunk],
           read: list[_Chunk], text: str, sentence: int) -> ClaimVerdict | None:
    """The verdict of one chunk, or of two chunks together (None when one of them adds
    nothing)."""
    have = set().union(*(read[n - 1].have for n in group))
    found = c.new_words & have
    total = sum(c.idf.get(w, c.unseen) for w in c.new_words)
    score = sum(c.idf.get(w, c.unseen) for w in found) / total if total else 1.0
    missing = sorted(c.mine.keys - have) + sorted(c.new_words - have)
    # The span holds what the claim adds (question words would pull in its heading).
    left = (c.new_keys | c.new_words) & have or (c.mine.keys | c.mine.words) & have
    spans, negated = [], False
    for n in group:
        chunk = read[n - 1]
        evidence = _evidence(chunk.per_sentence, left & chunk.have)
        if not evidence and len(group) > 1:
            evidence = _bridge(c, chunk, [read[m - 1] for m in group if m != n])
            if not evidence:
                return None  # it adds nothing the other did not: a pair must not pad itself
        left -= set().union(*(chunk.per_sentence[i].seen for i in evidence))
        negated |= any(chunk.per_sentence[i].negated for i in evidence)
        spans.append(" ".join(chunk.sentences[i].strip() for i in evidence))
    joined = " ".join(read[n - 1].joined for n in group)
    missing += sorted(n for n in c.names if f" {n} " not in joined)
    if c.short and c.about and not any(c.about & read[n - 1].have for n in group):
        missing.append("the passage is not about the question")
    if spans and negated != c.mine.negated:
        missing.append("negation: the source says the opposite")
    supported = (bool(spans) and not (c.mine.keys - have)
                 and score >= c.threshold and all(f" {n} " in joined for n in c.names)
                 and not any(m.startswith(("negation", "the passage is not")) for m in missing))
    first = group[0]
    return ClaimVerdict(
        text=text, supported=supported, chunk_id=chunks[first - 1].id if supported else None,
        n=first if supported else None, support=list(group) if supported else [],
        span=" … ".join(spans) if supported else None, spans=spans if supported else [],
        score=round(score, 3), missing=missing,
        sentence=sentence)


def _bridge(c: _ClaimTokens, chunk: _Chunk, others: list[_Chunk]) -> list[int]:
    """A short answer's second hop: sentences of ``chunk`` that hold the question's words and a
    name the answer's chunk also holds ("Act of War ... by Dale Brown" links the question to
    Dale Brown's page, which holds the answer). Nothing when there is no such link."""
    if not c.short:
        return []
    shared = {k for o in others for k in o.keys & chunk.keys} - c.about - c.mine.keys
    if not shared:
        return []
    return [i for i, t in enumerate(chunk.per_sentence)
            if t.seen & c.about and t.keys & shared][:1] or []


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
    """Share of the claims that assert something which are supported: a fragment that only
    repeats the question ("Haymo of Faversham, O.F.M.") asserts nothing and is not counted,
    unless nothing else is there (an answer that only echoes the question supports nothing)."""
    asserting = [c for c in claims if RESTATES not in c.missing] or claims
    return sum(c.supported for c in asserting) / len(asserting) if asserting else 0.0


def sentences_of(answer: str) -> list[str]:
    return split_sentences(answer)
