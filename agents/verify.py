"""Answer text after the claim check: citations kept only where they support, unsupported
sentences marked or removed, and the refusal that names what the documents do not say."""

from __future__ import annotations

from pydantic import BaseModel

from ragloom.agents.citations import Citation
from ragloom.agents.claims import (
    BARE_VERDICT,
    CHOICE,
    MARKER,
    RESTATES,
    ClaimVerdict,
    cited_numbers,
    sentences_of,
    tokens,
    verify_claims,
)
from ragloom.retrieval.types import RetrievedChunk

UNVERIFIED = "(not verified)"


class Verified(BaseModel):
    text: str
    claims: list[ClaimVerdict]
    citations: list[Citation]  # every [n] left in ``text``
    dropped: int  # markers removed: their sentence is supported by no chunk
    repointed: int = 0  # markers moved to the chunk that does support their sentence


def _before_stop(sentence: str, insert: str) -> str:
    """``insert`` placed before the sentence's final punctuation (after a space)."""
    bare = sentence.rstrip()
    end = bare[-1] if bare and bare[-1] in ".!?" else ""
    return f"{bare[: len(bare) - len(end)]}{' ' + insert if insert else ''}{end}"


def _with_markers(sentence: str, numbers: list[int]) -> str:
    """The sentence without its markers, then ``[n]...`` before its final punctuation."""
    return _before_stop(MARKER.sub("", sentence), "".join(f"[{n}]" for n in numbers))


def verify_answer(answer: str, chunks: list[RetrievedChunk], question: str, *,
                  threshold: float = 0.6) -> Verified:
    """Check every claim; keep a sentence's [n] only when chunk n supports it, re-point it to
    the chunk that does, or drop it (counted). An uncited supported sentence gets its [n]."""
    claims = verify_claims(answer, question, chunks, threshold=threshold)
    written: set[int] = set()
    out: list[str] = []
    dropped = repointed = 0
    for i, sentence in enumerate(sentences_of(answer)):
        own = [c for c in claims if c.sentence == i]
        cited = list(dict.fromkeys(cited_numbers(sentence)))
        if own and all(c.supported for c in own):
            needed = list(dict.fromkeys(n for c in own for n in c.support))
        else:
            needed = []  # a citation must not lend an unsupported sentence a source
        wrong = len([n for n in cited if n not in needed])
        if needed:
            repointed += wrong
        else:
            dropped += wrong
        written |= {n for n in cited if n in needed}
        out.append(sentence if needed == cited else _with_markers(sentence, needed))
    text = " ".join(out)
    shown = sorted({n for s in out for n in cited_numbers(s)})
    citations = [Citation(n=n, method="model" if n in written else "check", chunk_id=c.id,
                          source=c.source, page=c.page, chunk_index=c.chunk_index, text=c.text)
                 for n in shown for c in [chunks[n - 1]]]
    return Verified(text=text, claims=claims, citations=citations, dropped=dropped,
                    repointed=repointed)


def mark_unverified(answer: str, claims: list[ClaimVerdict]) -> str:
    """Each sentence holding an unsupported claim gets "(not verified)" before its full stop."""
    out = []
    echo = all(RESTATES in c.missing for c in claims)
    for i, sentence in enumerate(sentences_of(answer)):
        doubtful = [c for c in claims if c.sentence == i and not c.supported
                    and (echo or RESTATES not in c.missing)]  # a scrap of the question is no claim
        if UNVERIFIED not in sentence and doubtful:
            sentence = _before_stop(sentence, UNVERIFIED)
        out.append(sentence)
    return " ".join(out)


def keep_supported(answer: str, claims: list[ClaimVerdict]) -> tuple[str, list[ClaimVerdict]]:
    """Only the sentences whose claims are all supported, and their claims (re-indexed)."""
    kept_text, kept_claims = [], []
    for i, sentence in enumerate(sentences_of(answer)):
        own = [c for c in claims if c.sentence == i]
        if own and all(c.supported for c in own) and UNVERIFIED not in sentence:
            kept_claims += [c.model_copy(update={"sentence": len(kept_text)}) for c in own]
            kept_text.append(sentence)
    return " ".join(kept_text), kept_claims


def answers_by_choice(claims: list[ClaimVerdict], question: str,
                      sources: list[RetrievedChunk]) -> bool:
    """True when the only unchecked claims are verdicts among the question's own alternatives
    (a yes/no, or one of "X or Y") and the documents name everything the question names.

    No passage states a comparison, so the literal check cannot pass one; but such a verdict
    invents no fact or name. It is given marked "not verified" (never grounded) instead of
    declined: on HotpotQA's comparison questions declining threw away most right answers."""
    unchecked = [c for c in claims if not c.supported]
    if not unchecked or not all({CHOICE, BARE_VERDICT} & set(c.missing) for c in unchecked):
        return False
    asked = tokens(question)
    wanted = {k for k in asked.keys if k.isalpha()} | asked.names
    if not wanted or not sources:
        return False
    read = [tokens(s.text) for s in sources]
    joined = "".join(t.joined for t in read)
    seen = set().union(*(t.seen for t in read))
    return all(f" {w} " in joined if " " in w else w in seen for w in wanted)


def unsupported_feedback(claims: list[ClaimVerdict]) -> str:
    """What the regeneration prompt is told, naming each unsupported claim and what is missing."""
    parts = []
    for c in claims:
        if c.supported:
            continue
        why = "it only repeats the question" if RESTATES in c.missing else (
            "say which fact of the documents shows it, with its [n]" if BARE_VERDICT in c.missing
            else
            "not in the documents: " + ", ".join(c.missing[:5]) if c.missing else "not supported")
        parts.append(f'"{c.text}" ({why})')
    return "; ".join(parts)


def declined(claims: list[ClaimVerdict]) -> str:
    """The refusal after a failed check: what the documents do not say, in the claim's words."""
    told = [c for c in claims if not c.supported
            and not {RESTATES, BARE_VERDICT} & set(c.missing)
            and len(c.text.split()) >= 3 and not c.text.startswith("(")]  # a sentence, not a scrap
    if not told:
        return "I don't know: the answer I drafted was not supported by the documents."
    claim = told[0].text.rstrip(".!? ")
    if claim[:2].istitle() and not claim.split()[0].isupper():  # "The kite" -> "the kite"
        claim = claim[0].lower() + claim[1:]
    return f'I don\'t know: the documents do not say that "{claim}".'
