"""Claim-support precision / recall of ``ragloom.agents.claims.verify_claims`` on a set built from HotpotQA.

The checker (no model) says whether the chunks support an answer's claims. This script measures it
on a labelled set built mechanically from HotpotQA's annotations (``../shared/data/hotpotqa``: 100
two-hop questions, their two gold passages, their eight distractor passages and the gold
*supporting sentences*); nothing is tuned here, the checker is measured as it is in the working tree
(the sha256 of ``agents/claims.py`` is printed with the figures).

**Questions.** A question is *answerable* when both its gold passages are in the corpus and at
least one supporting sentence resolves (all 100 are). Questions whose gold answer is ``yes``/``no``
(9 of 100, all comparison questions) are **excluded** and counted: the short answer "Yes." is a bare
verdict that the checker never supports by design (``claims.BARE_VERDICT``: no passage states
"yes"), and "yes" has no same-type entity to swap in (swapping in "no" is a different claim, not
another entity); the proposition behind the verdict is not given by HotpotQA as a sentence.

**Chunks** are built as the product ingests HotpotQA: one chunk per passage, text
``f"{title}. {text}"`` (``RetrievedChunk(id=passage id, source=title, chunk_index=0, score=1.0)``),
in the question's ``gold_passage_ids`` / ``candidate_passage_ids`` order.

**Statement forms** (each reported separately):

- **(a) short answer vs gold passages**: the answer text is the gold short answer as a sentence,
  ``f"{answer}."`` (no period added when it already ends with one): "Jack Owens.", "1993.",
  "a spirit." This is how the product's short-answer prompt answers. Checked against the
  question's two gold passages.
- **(c) short answer vs supporting sentences only**: the same statement, checked against chunks
  made of the supporting sentences alone, one chunk per gold passage:
  ``f"{title}. " + " ".join(supporting sentences of that passage)`` (the title kept because the
  product's chunks always start with it). This is the evidence the annotators marked as
  sufficient, without the rest of the paragraph.
- **No (b) sentence form.** A declarative sentence cannot be built honestly by rule: copying the
  gold supporting sentence that holds the answer would be copying the evidence; templates such as
  "The answer is X." add only the word "answer", which the checker drops as preamble (so it is (a)
  again), and "X is the answer to: <question>" restates the question. Substituting the answer for
  the wh-word works only for subject questions ("Who directed ... ?" -> "Stephen King directed
  ..."): a strict rule (``Who <verb>`` or ``Who/What/Which is/was``, no "or" in the question, not
  ending in a preposition) covers 9 of the 91 questions, and one of those 9 comes out ungrammatical
  ("Hank Williams, Jr. was Audrey Williams pregnant with during ..."); the rest ("In what year
  ...", "What language were books translated into ...", comparisons) need a parser. So only (a)
  and (c) are reported.

**Labels.** Positive (supported): the gold answer statement against its gold evidence ((a) the gold
passages, (c) the supporting sentences): HotpotQA's annotators marked those sentences as what
supports the answer. The label would hold for an answer paraphrased in its passage, so the recall
is also printed split by whether the answer occurs verbatim (normalised, on word boundaries) in the
chunks; on this copy all 91 answers do, in the passages and in the supporting sentences. Two
negative families (not supported):

- **swap**: the same statement with the answer replaced by another entity of the same *answer
  type*, against the same chunks. Type rule: ``number`` when the answer holds a digit (years,
  dates, counts: "1993", "8 June 1951", "6,960"), else ``name`` when its first letter is upper
  case ("Jack Owens", "Latin", "The WB"), else ``other`` ("a spirit", "striker", "twice"). The
  replacement is drawn from the other questions' gold answers of the same type (all questions
  in the file, whatever ``--limit``, yes/no excluded, de-duplicated by SQuAD normalisation),
  shuffled with ``random.Random(f"{seed}:{question id}")`` over the sorted pool, first acceptable
  one taken. A candidate is **rejected** when (i) its normalised form occurs, on word boundaries,
  in the normalised text of either gold passage (then the passage may really support it), or
  (ii) it shares a word (normalised, minus of/and/in/on/for/to/s) with the gold answer ("New York"
  for "New York City" is a near-synonym, not another entity). The same replacement is used for
  (a) and (c). A question with no acceptable candidate has no swap negative (counted).
- **distractor**: the correct statement against the question's eight non-gold candidate passages
  (HotpotQA's distractors, chosen to look relevant), only when the normalised answer occurs in
  none of them; otherwise the question is left out of this family (counted). The chunks are the
  same for (a) and (c), so (c)'s distractor items are (a)'s.

What the families can and cannot show: a random same-type answer of another question almost never
shares a word with the passages, so the swap family mostly tests the checker's "every name and
number must occur" rule (an easy negative); the distractor family is the hard one (passages about
the same people and places). Its label rests on the answer *string* being absent, so a distractor
that names the answer differently and really supports it is mislabelled: on this copy one such
(``Eddie "The Eagle" Edwards`` vs the distractor "Eddie the Eagle (film)": "... Eddie Edwards, a
British skier who in 1988 became the first competitor to represent Great Britain in Olympic ski
jumping"), counted as a false positive all the same (the rule is not changed after the fact).

**Scoring.** The prediction is "supported" when ``verify_claims(statement, question, chunks,
threshold=t)`` returns at least one claim and every claim is supported. Positive class =
supported. Recall = supported positives / positives; per negative family the false-support rate =
supported negatives / negatives; precision = TP / (TP + FP) with the negatives of the swap family,
of the distractor family and of both (precision depends on the number of negatives per positive,
printed with it); F1 from that precision and the recall. Proportions come with 95 % Wilson
intervals (``ragloom.evals.injection.wilson_interval``); F1 has none. The target is precision >= 0.90 (all
negatives) at recall >= 0.70, at the checker's default threshold, 0.6 (read from
``verify_claims``'s signature). The sweep over ``threshold`` in {0.4, 0.5, 0.6, 0.7, 0.8} is for
the record, not to pick one. A few false positives and false negatives at the default threshold are
printed with the checker's ``missing`` / ``span`` / ``score``.

Run from the repository root (deterministic, no model calls, about 10 s on 2 busy cores)::

    .venv/bin/python benchmarks/claim_support.py                 # all 100 questions
    .venv/bin/python benchmarks/claim_support.py --limit 20 --json /tmp/claim_support.json
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the benchmarks.* siblings; ragloom comes from `make install`

from benchmarks.claim_support_set import FORMS, BuildStats, Item, build_set, load  # noqa: E402
from ragloom.agents.claims import ClaimVerdict, verify_claims  # noqa: E402
from ragloom.evals.datasets import default_data_dir  # noqa: E402
from ragloom.evals.injection import wilson_interval  # noqa: E402

THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8)
FAMILIES = ("positive", "swap", "distractor")
TARGET_PRECISION, TARGET_RECALL = 0.90, 0.70


# ------------------------------------------------------------------------------------------- scoring
Check = Callable[[Item, float], tuple[bool, list[ClaimVerdict]]]


def check(item: Item, threshold: float) -> tuple[bool, list[ClaimVerdict]]:
    """The prediction: at least one claim, and every claim supported."""
    verdicts = verify_claims(item.statement, item.question, item.chunks, threshold=threshold)
    return bool(verdicts) and all(v.supported for v in verdicts), verdicts


def _rate(k: int, n: int) -> dict[str, Any]:
    ci = wilson_interval(k, n)
    return {"k": k, "n": n, "rate": k / n if n else None, "ci95": [round(x, 3) for x in ci] if ci else None}


def score(items: list[Item], predictions: list[bool]) -> dict[str, Any]:
    """Recall, per-family false-support rates, precision / F1 per negative set, for one form."""
    by = {f: [p for it, p in zip(items, predictions, strict=True) if it.family == f] for f in FAMILIES}
    tp, n_pos = sum(by["positive"]), len(by["positive"])
    out: dict[str, Any] = {
        "recall": _rate(tp, n_pos),
        "false_support": {f: _rate(sum(by[f]), len(by[f])) for f in FAMILIES[1:]},
    }
    recall = tp / n_pos if n_pos else None
    out["precision"] = {}
    for name, fams in (("swap", ["swap"]), ("distractor", ["distractor"]), ("all", ["swap", "distractor"])):
        fp = sum(sum(by[f]) for f in fams)
        n_neg = sum(len(by[f]) for f in fams)
        p = _rate(tp, tp + fp)
        f1 = (
            2 * p["rate"] * recall / (p["rate"] + recall)
            if p["rate"] is not None and recall and p["rate"] + recall
            else None
        )
        out["precision"][name] = {**p, "negatives": n_neg, "fp": fp, "f1": f1}
    pos = [(it, p) for it, p in zip(items, predictions, strict=True) if it.family == "positive"]
    out["recall_by"] = {}
    for key, fn in (
        ("verbatim", lambda it: "answer verbatim" if it.verbatim else "paraphrased"),
        ("answer_type", lambda it: it.answer_type),
        ("qtype", lambda it: it.qtype),
    ):
        groups: dict[str, list[bool]] = {}
        for it, p in pos:
            groups.setdefault(fn(it), []).append(p)
        out["recall_by"][key] = {g: _rate(sum(v), len(v)) for g, v in sorted(groups.items())}
    return out


def evaluate(
    items: list[Item], thresholds: Iterable[float], check_fn: Check = check
) -> dict[float, dict[str, Any]]:
    """{threshold: {form: {"score": ..., "predictions": [...], "verdicts": [...]}}}."""
    out: dict[float, dict[str, Any]] = {}
    for t in thresholds:
        out[t] = {}
        for form in FORMS:
            mine = [it for it in items if it.form == form]
            results = [check_fn(it, t) for it in mine]
            preds = [r[0] for r in results]
            out[t][form] = {
                "items": mine,
                "predictions": preds,
                "verdicts": [r[1] for r in results],
                "score": score(mine, preds),
            }
    return out


# ------------------------------------------------------------------------------------------- report
def _f(x: float | None, pattern: str = "{:.3f}") -> str:
    return "n/a" if x is None else pattern.format(x)


def _ci(r: dict[str, Any]) -> str:
    return "[n/a]" if r["ci95"] is None else f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"


def print_report(
    results: dict[float, dict[str, Any]], stats: BuildStats, default: float, header: str, examples: int
) -> None:
    print(header)
    print(
        f"questions {stats.questions}: answerable {stats.answerable} (unanswerable "
        f"{len(stats.unanswerable)}); excluded yes/no {len(stats.yes_no)} (a bare 'Yes.'/'No.' is "
        f"never supported by design and has no same-type entity to swap); scored {stats.scored} "
        f"(answer types {dict(sorted(stats.answer_types.items()))})"
    )
    print(
        f"swap: {stats.scored - len(stats.no_replacement)} questions got a replacement, "
        f"{len(stats.no_replacement)} none; candidates rejected: {stats.rejected_in_gold} found in "
        f"the gold passages, {stats.rejected_overlap} sharing a word with the gold answer"
    )
    print(
        f"distractor: {stats.scored - len(stats.distractor_excluded)} questions kept, "
        f"{len(stats.distractor_excluded)} left out (the answer occurs in a distractor passage)"
    )
    print()
    print(f"at the checker's default threshold {default} · prediction = every claim supported")
    head = f"{'form':44} {'family':11} {'n':>4} {'supp.':>5} {'rate':>6}  {'95% CI':17}"
    print(head)
    print("-" * len(head))
    for form, label in FORMS.items():
        s = results[default][form]["score"]
        r = s["recall"]
        print(f"{label:44} {'positive':11} {r['n']:>4} {r['k']:>5} {_f(r['rate']):>6}  {_ci(r):17}  = recall")
        for fam in FAMILIES[1:]:
            r = s["false_support"][fam]
            note = "  (same items as (a))" if form == "c" and fam == "distractor" else ""
            print(
                f"{'':44} {fam:11} {r['n']:>4} {r['k']:>5} {_f(r['rate']):>6}  {_ci(r):17}"
                f"  = false-support rate{note}"
            )
        for name, p in s["precision"].items():
            print(
                f"{'':44} precision vs {name + ' negatives':21} ({p['negatives']:>3} neg, "
                f"FP {p['fp']:>2}): {_f(p['rate'])} {_ci(p)}  F1 {_f(p['f1'])}"
            )
        pa, rec = s["precision"]["all"]["rate"], s["recall"]["rate"]
        met = pa is not None and rec is not None and pa >= TARGET_PRECISION and rec >= TARGET_RECALL
        print(
            f"{'':44} target precision >= {TARGET_PRECISION} (all negatives) at recall >= "
            f"{TARGET_RECALL}: {'MET' if met else 'NOT MET'}"
        )
        for key, groups in s["recall_by"].items():
            parts = [f"{g} {r['k']}/{r['n']} = {_f(r['rate'])}" for g, r in groups.items()]
            print(f"{'':44} recall by {key}: " + "; ".join(parts))
        print()

    print(f"threshold sweep (for the record; the default is {default})")
    head = (
        f"{'threshold':>9} {'form':4} {'recall':>7} {'FPR swap':>9} {'FPR distr':>9} "
        f"{'P swap':>7} {'P distr':>7} {'P all':>7} {'F1 all':>7}"
    )
    print(head)
    print("-" * len(head))
    for t, forms in results.items():
        for form in FORMS:
            s = forms[form]["score"]
            mark = " *" if t == default else ""
            print(
                f"{t:>9} {form:4} {_f(s['recall']['rate']):>7} "
                f"{_f(s['false_support']['swap']['rate']):>9} "
                f"{_f(s['false_support']['distractor']['rate']):>9} "
                f"{_f(s['precision']['swap']['rate']):>7} "
                f"{_f(s['precision']['distractor']['rate']):>7} "
                f"{_f(s['precision']['all']['rate']):>7} {_f(s['precision']['all']['f1']):>7}{mark}"
            )
    print()

    for form, label in FORMS.items():
        r = results[default][form]
        errors = [
            (it, v)
            for it, p, v in zip(r["items"], r["predictions"], r["verdicts"], strict=True)
            if p != it.label
        ]
        fps = [e for e in errors if not e[0].label]
        fns = [e for e in errors if e[0].label]
        for name, group in (("false positives", fps), ("false negatives", fns)):
            print(f"{label}: {name} ({len(group)}), first {min(examples, len(group))}:")
            for it, verdicts in group[:examples]:
                print(f"  - {it.qid} [{it.family}] Q: {it.question.strip()}")
                print(
                    f"    statement: {it.statement!r} (gold {it.answer!r}); chunks: "
                    + " | ".join(c.source for c in it.chunks)
                )
                for v in verdicts:
                    print(
                        f"    claim {v.text!r}: supported={v.supported} score={v.score} "
                        f"support={v.support} missing={v.missing}"
                        + (f" span={v.span[:160]!r}" if v.span else "")
                    )
        print()


def _row(it: Item, pred: bool, verdicts: list[ClaimVerdict], threshold: float) -> dict[str, Any]:
    return {
        "threshold": threshold,
        "qid": it.qid,
        "form": it.form,
        "family": it.family,
        "label": it.label,
        "predicted": pred,
        "statement": it.statement,
        "answer": it.answer,
        "replacement": it.replacement,
        "answer_type": it.answer_type,
        "qtype": it.qtype,
        "verbatim": it.verbatim,
        "chunks": [c.id for c in it.chunks],
        "claims": [
            v.model_dump(include={"text", "supported", "support", "score", "missing", "span"})
            for v in verdicts
        ],
    }


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=None, help="first N HotpotQA questions (all: 100)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding hotpotqa/")
    p.add_argument("--seed", type=int, default=0, help="seed of the answer swap (default 0)")
    p.add_argument("--examples", type=int, default=4, help="errors printed per form and kind")
    p.add_argument("--json", type=Path, default=None, help="write summary and per-item rows here")
    args = p.parse_args(argv)

    default = inspect.signature(verify_claims).parameters["threshold"].default
    thresholds = sorted(set(THRESHOLDS) | {default})
    questions, corpus = load(args.data_dir or default_data_dir())
    items, stats = build_set(questions, corpus, limit=args.limit, seed=args.seed)
    results = evaluate(items, thresholds)
    checker = REPO / "agents" / "claims.py"
    sha = hashlib.sha256(checker.read_bytes()).hexdigest()
    header = (
        f"claim support · HotpotQA ({len(questions)} questions in the file, first "
        f"{stats.questions} used) · checker agents/claims.py sha256 {sha[:12]} · seed "
        f"{args.seed} · {len(items)} items"
    )
    print_report(results, stats, default, header, args.examples)
    if args.json:
        payload = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if argv is None else argv,
            "checker_sha256": sha,
            "default_threshold": default,
            "seed": args.seed,
            "stats": stats.__dict__,
            "summary": {str(t): {f: r["score"] for f, r in forms.items()} for t, forms in results.items()},
            "rows": [
                _row(it, pr, v, t)
                for t, forms in results.items()
                for r in forms.values()
                for it, pr, v in zip(r["items"], r["predictions"], r["verdicts"], strict=True)
            ],
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
