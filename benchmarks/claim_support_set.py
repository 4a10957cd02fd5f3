"""The labelled claim-support set of benchmarks/claim_support.py, built from HotpotQA's annotations:
positives (the gold short answer against its gold passages, or its supporting sentences), swap
negatives (the answer replaced by another question's answer of the same type that the passages do
not contain) and distractor negatives (the correct answer against the non-gold passages that do
not contain it). How each family is built, and why, is in claim_support.py's docstring."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragloom.evals.text_metrics import contains, normalize
from ragloom.retrieval.types import RetrievedChunk

FORMS = {"a": "(a) short answer vs gold passages", "c": "(c) short answer vs supporting sentences"}
_SHARED_WORDS_OK = frozenset("of and in on for to s".split())
YES_NO = frozenset({"yes", "no"})


@dataclass
class Item:
    """One labelled check: a statement, the question it answers and the chunks it is checked on."""

    qid: str
    form: str  # "a" | "c"
    family: str  # "positive" | "swap" | "distractor"
    label: bool  # True: supported
    question: str
    statement: str
    chunks: list[RetrievedChunk]
    answer: str  # the gold answer
    answer_type: str
    qtype: str  # HotpotQA type: bridge | comparison
    replacement: str | None = None
    verbatim: bool = False  # the statement's answer occurs (normalised) in the chunks


@dataclass
class BuildStats:
    questions: int = 0
    answerable: int = 0
    unanswerable: list[str] = field(default_factory=list)
    yes_no: list[str] = field(default_factory=list)
    scored: int = 0
    no_replacement: list[str] = field(default_factory=list)
    rejected_in_gold: int = 0  # replacement candidates found in the gold passages
    rejected_overlap: int = 0  # replacement candidates sharing a word with the gold answer
    distractor_excluded: list[str] = field(default_factory=list)  # answer occurs in a distractor
    answer_types: dict[str, int] = field(default_factory=dict)


def load(data_dir: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    folder = data_dir / "hotpotqa"
    if not (folder / "questions.jsonl").is_file():
        raise SystemExit(f"no HotpotQA data in {folder} (see ../shared/data/README.md)")

    def rows(name: str) -> list[dict[str, Any]]:
        with (folder / name).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    return rows("questions.jsonl"), {p["id"]: p for p in rows("corpus.jsonl")}


def answer_type(answer: str) -> str:
    """``number`` (holds a digit), ``name`` (first letter upper case) or ``other``."""
    if any(ch.isdigit() for ch in answer):
        return "number"
    letters = [ch for ch in answer if ch.isalpha()]
    return "name" if letters and letters[0].isupper() else "other"


def statement(answer: str) -> str:
    """Form (a)/(c): the short answer as the whole answer text."""
    answer = " ".join(answer.split())
    return answer if answer.endswith(".") else f"{answer}."


def passage_chunk(p: dict[str, Any]) -> RetrievedChunk:
    return RetrievedChunk(
        id=p["id"], text=f"{p['title']}. {p['text']}", source=p["title"], chunk_index=0, score=1.0
    )


def sentence_chunks(q: dict[str, Any], corpus: dict[str, dict[str, Any]]) -> list[RetrievedChunk]:
    """One chunk per gold passage: its title and its supporting sentences only."""
    out = []
    for pid in q["gold_passage_ids"]:
        p = corpus[pid]
        idx = sorted({i for title, i in q["supporting_facts"] if title == p["title"]})
        kept = [p["sentences"][i].strip() for i in idx if 0 <= i < len(p["sentences"])]
        if kept:
            out.append(
                RetrievedChunk(
                    id=f"{pid}-sf",
                    text=f"{p['title']}. " + " ".join(kept),
                    source=p["title"],
                    chunk_index=0,
                    score=1.0,
                )
            )
    return out


def occurs(needle: str, chunks: Iterable[RetrievedChunk]) -> bool:
    """The normalised ``needle`` appears, on word boundaries, in a chunk's normalised text."""
    return any(contains(c.text, needle) for c in chunks)


def pick_replacement(
    qid: str, gold: str, pool: list[str], gold_chunks: list[RetrievedChunk], seed: int
) -> tuple[str | None, list[tuple[str, str]]]:
    """The swap: the first acceptable same-type answer of another question in a seeded shuffle;
    (replacement or None, [(rejected candidate, why)])."""
    mine = normalize(gold)
    words = set(mine.split()) - _SHARED_WORDS_OK
    candidates = sorted({normalize(a): a for a in pool if normalize(a) and normalize(a) != mine}.items())
    random.Random(f"{seed}:{qid}").shuffle(candidates)
    rejected: list[tuple[str, str]] = []
    for norm, original in candidates:
        if occurs(original, gold_chunks):
            rejected.append((original, "in the gold passages"))
        elif words & (set(norm.split()) - _SHARED_WORDS_OK):
            rejected.append((original, "shares a word with the gold answer"))
        else:
            return original, rejected
    return None, rejected


def build_set(
    questions: list[dict[str, Any]],
    corpus: dict[str, dict[str, Any]],
    *,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[list[Item], BuildStats]:
    """The labelled items of the first ``limit`` questions (the swap pool is every question)."""
    stats = BuildStats(questions=len(questions[:limit]))
    pools: dict[str, list[str]] = {}
    for q in questions:
        if normalize(q["answer"]) not in YES_NO:
            pools.setdefault(answer_type(q["answer"]), []).append(q["answer"])
    items: list[Item] = []
    for q in questions[:limit]:
        gold_ids = q["gold_passage_ids"]
        sf_chunks = sentence_chunks(q, corpus) if all(pid in corpus for pid in gold_ids) else []
        if not gold_ids or not sf_chunks:
            stats.unanswerable.append(q["id"])
            continue
        stats.answerable += 1
        if normalize(q["answer"]) in YES_NO:
            stats.yes_no.append(q["id"])
            continue
        stats.scored += 1
        gold, kind = q["answer"], answer_type(q["answer"])
        stats.answer_types[kind] = stats.answer_types.get(kind, 0) + 1
        gold_chunks = [passage_chunk(corpus[pid]) for pid in gold_ids]
        base = {
            "qid": q["id"],
            "question": q["question"],
            "answer": gold,
            "answer_type": kind,
            "qtype": q["type"],
        }
        others = list(pools.get(kind, []))
        others.remove(gold)  # the question's own answer (other questions may share it: dropped
        # by normalisation in pick_replacement)
        replacement, rejected = pick_replacement(q["id"], gold, others, gold_chunks, seed)
        stats.rejected_in_gold += sum(why.startswith("in the gold") for _, why in rejected)
        stats.rejected_overlap += sum(why.startswith("shares") for _, why in rejected)
        if replacement is None:
            stats.no_replacement.append(q["id"])
        for form, chunks in (("a", gold_chunks), ("c", sf_chunks)):
            items.append(
                Item(
                    **base,
                    form=form,
                    family="positive",
                    label=True,
                    statement=statement(gold),
                    chunks=chunks,
                    verbatim=occurs(gold, chunks),
                )
            )
            if replacement is not None:
                items.append(
                    Item(
                        **base,
                        form=form,
                        family="swap",
                        label=False,
                        statement=statement(replacement),
                        chunks=chunks,
                        replacement=replacement,
                        verbatim=occurs(replacement, chunks),
                    )
                )
        distractors = [
            passage_chunk(corpus[pid])
            for pid in q["candidate_passage_ids"]
            if pid not in gold_ids and pid in corpus
        ]
        if not distractors or occurs(gold, distractors):
            stats.distractor_excluded.append(q["id"])
        else:
            for form in FORMS:
                items.append(
                    Item(
                        **base,
                        form=form,
                        family="distractor",
                        label=False,
                        statement=statement(gold),
                        chunks=distractors,
                    )
                )
    return items, stats
