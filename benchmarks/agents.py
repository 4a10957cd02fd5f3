"""Agentic RAG graphs on HotpotQA: ``simple`` vs ``corrective`` vs ``adaptive``, same retriever.

What it measures, with the project's own entry point (``ragloom.agents.service.ask``) and default settings
(chat ``local/qwen2.5-coder-0.5b`` through llama.cpp, embedding ``local/minilm-l6-v2``, hybrid
retrieval, top_k 4):

- **Answerable**: the first ``--limit`` HotpotQA questions (``../shared/data/hotpotqa``, 2-hop
  bridge / comparison questions over 994 Wikipedia paragraphs), asked against the HotpotQA corpus
  (``ragloom.evals.retrieval_bench.build_collection``: collection ``bench``, ingested once and cached under
  ``~/.cache/ragloom/bench/hotpotqa-<key>``). Scored against the short gold answer with SQuAD-style
  normalisation (lowercase, strip punctuation and the articles a/an/the, collapse whitespace), after
  removing the ``[n]`` citation markers from the answer:
  exact match (EM), token F1, and "contains" (the normalised gold answer appears, on word
  boundaries, in the normalised answer). The 0.5B model answers in sentences ("Lilu is a spirit
  [1].") while the gold answers are short ("a spirit"), so **EM is expected to be near 0** and F1 is
  capped by the answer's length; "contains" is the fairer correctness signal. Prompts are not changed
  to ask for short answers.
- **Unanswerable**: the first ``--unanswerable`` of the same questions, asked against the WRONG
  corpus: the HotpotQA corpus WITHOUT those questions' gold passages (collection ``distractors``
  under ``~/.cache/ragloom/bench/hotpotqa-<key>-nogold-<key>``). HotpotQA's distractor paragraphs
  were chosen to look relevant (same names, places, titles), so they pass the retriever's relevance
  floor and reach the model: a hard test. (An unrelated corpus is too easy: nothing passes the
  relevance floor and every graph refuses without a model call.) The right behaviour is
  "I don't know" (``answer.refused`` is True).
- Per graph: EM, F1, contains, refusal rate on unanswerable questions, false-refusal rate on
  answerable ones, model calls per question (``sum(answer.model_calls.values())``) for each set,
  mean wall-clock seconds per question (around ``ask``; the chat model is loaded before timing), and
  a breakdown by HotpotQA type (bridge / comparison) and, for the adaptive graph, by route.

Variants run interleaved: each question is asked of every graph variant in turn (the order
rotated per question), and llama.cpp's cached prompt prefix is dropped before each answer, so no
variant reuses another's work and a busy spell of the machine falls on all of them alike. A
variant is a graph with settings: ``corrective[grade=model,ground=model]`` grades and checks
grounding with the chat model, ``simple[answer=answer@2]`` pins a prompt version. Every answer is traced:
``ragloom trace ID --home HOME`` shows its steps (the homes and trace ids are in the JSON).

Run from the repository root::

    .venv/bin/python benchmarks/agents.py --limit 3 --unanswerable 2         # smoke test, ~5 minutes
    .venv/bin/python benchmarks/agents.py --limit 20 --unanswerable 10 --json /tmp/agents_bench.json
    .venv/bin/python benchmarks/agents.py                                    # 100 + 30 questions: hours

Cost: with the 0.5B model on 2 cores, the measured run (``--limit 20 --unanswerable 10``, all three
graphs) took about 13 s per question on average (simple ≈ 5 s, corrective ≈ 14 s, adaptive ≈ 21 s
per answerable question; unanswerable ones are faster). The full default run (130 questions × 3
graphs) therefore takes about 1.5 hours on an idle machine, and much longer when other jobs share the
cores. Progress (graph, set, i/N, seconds) is printed to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import platform
import re
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the benchmarks.* siblings; ragloom comes from `make install`

from ragloom.agents.service import Answer, _use_model, ask_stream, build_context  # noqa: E402
from ragloom.core.models import get_embeddings  # noqa: E402
from ragloom.core.models.spec import ModelSpec  # noqa: E402
from ragloom.core.settings import Settings, load_settings  # noqa: E402
from ragloom.evals.datasets import Dataset, Question, load_dataset  # noqa: E402
from ragloom.evals.retrieval_bench import COLLECTION, bench_settings, build_collection  # noqa: E402
from ragloom.evals.text_metrics import contains, exact_match, strip_citations, token_f1  # noqa: E402
from ragloom.prompts import PromptStore  # noqa: E402
from ragloom.retrieval.collections import Collection  # noqa: E402
from ragloom.retrieval.ingest import ingest_records  # noqa: E402

DISTRACTOR_COLLECTION = "distractors"
GRAPHS = ("simple", "corrective", "adaptive")
TYPES = ("bridge", "comparison")

log = logging.getLogger("benchmarks.agents")


# ------------------------------------------------------------------------------------------- setup
def distractor_settings(hp: Settings, questions: list[Question]) -> Settings:
    """A home of its own for the HotpotQA corpus without the gold passages of ``questions``."""
    removed = sorted(set().union(*(q.gold for q in questions)))
    key = hashlib.sha256("|".join(removed).encode()).hexdigest()[:12]
    return hp.model_copy(update={"home": hp.home.with_name(f"{hp.home.name}-nogold-{key}")})


def build_distractor_collection(settings: Settings, ds: Dataset, questions: list[Question]
                                ) -> Collection:
    """Every HotpotQA paragraph except the gold ones of ``questions``: the answers are gone, the
    near-misses (same people, places and titles) stay, so retrieval still finds plausible text."""
    col = Collection(settings, DISTRACTOR_COLLECTION, get_embeddings(settings.embedding, settings))
    gold = set().union(*(q.gold for q in questions))
    report = ingest_records((r for r in ds.records if r.id not in gold), col, namespace=ds.name)
    if report.failed:
        raise SystemExit(f"could not ingest the distractor corpus: {report.failed}")
    return col


# ------------------------------------------------------------------------------------------- running
def ask_one(question: Question, settings: Settings, collection: str, label: str, graph: str,
            context: Any, kind: str) -> dict[str, Any]:
    start = time.perf_counter()
    row: dict[str, Any] = {"id": question.id, "set": kind, "type": question.kind, "graph": label,
                           "question": question.text, "gold": question.answer}
    first_token: float | None = None
    try:
        for event, value in ask_stream(question.text, settings, collection=collection,
                                       graph=graph, context=context):
            if event == "token" and first_token is None:
                first_token = time.perf_counter() - start
            elif event == "answer":
                answer: Answer = value
    except Exception as exc:  # one failed question must not end an hours-long run
        log.warning("%s failed on %s: %s: %s", graph, question.id, type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        return {**row, "seconds": time.perf_counter() - start, "first_token_s": first_token,
                "error": f"{type(exc).__name__}: {exc}",
                "answer": "", "refused": False, "grounded": None, "route": None,
                "model_calls": {}, "calls": 0, "trace_id": None, "em": 0.0, "f1": 0.0,
                "contains": 0.0}
    seconds = time.perf_counter() - start
    text = "" if answer.refused else strip_citations(answer.answer)  # even one quoting the gold
    gold = question.answer or ""
    return {**row, "seconds": seconds, "first_token_s": first_token, "error": None,
            "answer": answer.answer,
            "refused": answer.refused, "grounded": answer.grounded, "route": answer.route,
            "model_calls": answer.model_calls, "calls": sum(answer.model_calls.values()),
            "trace_id": answer.trace_id, "em": exact_match(text, gold),
            "f1": token_f1(text, gold), "contains": contains(text, gold)}


# What a variant may change: "corrective[grade=model,ground=model,answer=answer@3]".
_VARIANT = re.compile(r"^(\w+)(?:\[(.*)\])?$")


def split_graphs(text: str) -> list[str]:
    """Comma-separated graph variants; commas inside [...] belong to the variant."""
    return [g.strip() for g in re.split(r",(?![^\[]*\])", text) if g.strip()]


def variant_context(label: str, context: Any, chat: str) -> tuple[str, Any]:
    """(graph, context) for ``label``: the graph name and the context with its overrides."""
    match = _VARIANT.match(label)
    if not match or match.group(1) not in GRAPHS:
        raise SystemExit(f"unknown graph variant {label!r}; use e.g. "
                         f"corrective[grade=model,ground=claims,answer=answer@2]")
    changes: dict[str, Any] = {}
    refs = dict(context.prompt_refs)
    for item in filter(None, (match.group(2) or "").split(",")):
        key, _, value = item.partition("=")
        if key in ("grade", "ground"):
            changes[f"{key}_with_model"] = _use_model(value, ModelSpec.parse(chat))
        elif key in ("condense", "context_order"):
            changes[key] = value
        elif key in ("min_supported_share", "claim_threshold"):
            changes[key] = float(value)
        elif key == "max_generations":
            changes[key] = int(value)
        elif "@" in value:  # a prompt role pinned to a version
            refs[key] = value
        else:
            raise SystemExit(f"variant {label!r}: unknown setting {key!r}")
    return match.group(1), dataclasses.replace(context, prompt_refs=refs, **changes)


def forget_prompt_cache(context: Any) -> None:
    """Drop llama.cpp's cached prompt prefix, so no variant reuses another's work on the same
    question (a server model keeps its own cache; nothing to do there)."""
    client = getattr(context.chat_model, "client", None)
    if callable(getattr(client, "reset", None)):
        client.reset()


def run(graphs: list[str], jobs: list[tuple[str, list[Question], Settings, str, Any]]
        ) -> tuple[list[dict[str, Any]], bool]:
    """Each question asked of every variant in turn, the order rotated per question, so the
    machine's load falls on all variants alike; answerable and unanswerable questions
    interleaved in proportion, so a run stopped early still covers both; (rows, interrupted)."""
    rows: list[dict[str, Any]] = []
    queue = sorted(((i / len(qs), kind, i + 1, len(qs), q, settings, collection)
                    for kind, qs, settings, collection, _ in jobs for i, q in enumerate(qs)),
                   key=lambda item: item[0])
    variants_of = {kind: [(label, *variant_context(label, base, settings.chat))
                          for label in graphs] for kind, _, settings, _, base in jobs}
    try:
        for turn, (_, kind, i, n, q, settings, collection) in enumerate(queue):
            variants = variants_of[kind]
            for label, graph, context in variants[turn % len(variants):] + variants[
                    :turn % len(variants)]:
                forget_prompt_cache(context)
                row = ask_one(q, settings, collection, label, graph, context, kind)
                rows.append(row)
                flag = f"ERROR {row['error'][:80]}" if row["error"] else (
                    f"refused={row['refused']} calls={row['calls']} route={row['route']} "
                    f"f1={row['f1']:.2f} contains={row['contains']:.0f}")
                print(f"[{label[:24]:24}] {kind:12} {i:3}/{n} {row['seconds']:6.1f}s  {flag}  "
                      f"trace={row['trace_id']}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("interrupted: summarising the questions answered so far", file=sys.stderr)
        return rows, True
    return rows, False


# ------------------------------------------------------------------------------------------- summary
def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["set"] == "answerable"]
    una = [r for r in rows if r["set"] == "unanswerable"]
    out: dict[str, Any] = {
        "answerable": len(ans), "unanswerable": len(una),
        "errors": sum(1 for r in rows if r["error"]),
        "em": _mean([r["em"] for r in ans]), "f1": _mean([r["f1"] for r in ans]),
        "contains": _mean([r["contains"] for r in ans]),
        "refusal_unanswerable": _mean([float(r["refused"]) for r in una]),
        "false_refusal_answerable": _mean([float(r["refused"]) for r in ans]),
        "calls_answerable": _mean([r["calls"] for r in ans]),
        "calls_unanswerable": _mean([r["calls"] for r in una]),
        "seconds_per_question": _mean([r["seconds"] for r in rows]),
        "median_seconds_answerable": _median([r["seconds"] for r in ans]),
        "median_first_token_answerable": _median([r["first_token_s"] for r in ans
                                                  if r.get("first_token_s") is not None]),
        "seconds_answerable": _mean([r["seconds"] for r in ans]),
        "seconds_unanswerable": _mean([r["seconds"] for r in una]),
        "grounded_true_answerable": _mean([float(r["grounded"] is True) for r in ans]),
        # An answer to an unanswerable question labelled grounded is a confident invention.
        "false_grounded_unanswerable": _mean([float(r["grounded"] is True and not r["refused"])
                                              for r in una]),
        "by_type": {}, "by_route": {},
    }
    for t in TYPES:
        sub = [r for r in ans if r["type"] == t]
        out["by_type"][t] = {"n": len(sub), "f1": _mean([r["f1"] for r in sub]),
                             "contains": _mean([r["contains"] for r in sub]),
                             "calls": _mean([r["calls"] for r in sub]),
                             "seconds": _mean([r["seconds"] for r in sub])}
    for kind, subset in (("answerable", ans), ("unanswerable", una)):
        routes: dict[str, list[dict[str, Any]]] = {}
        for r in subset:
            routes.setdefault(str(r["route"]), []).append(r)
        out["by_route"][kind] = {route: {"n": len(rs), "calls": _mean([r["calls"] for r in rs]),
                                         "refused": _mean([float(r["refused"]) for r in rs]),
                                         "f1": _mean([r["f1"] for r in rs])}
                                 for route, rs in sorted(routes.items())}
    return out


def _fmt(value: float | None, pattern: str = "{:.3f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def print_report(summary: dict[str, dict[str, Any]]) -> None:
    w = max([11, *(len(g) for g in summary)])  # variants such as corrective[grade=model]
    head = (f"{'graph':{w}} {'n':>7} {'EM':>6} {'F1':>6} {'contains':>8} {'refuse@unans':>12} "
            f"{'falseref@ans':>12} {'calls/ans q':>11} {'calls/unans q':>13} {'mean s/q':>8}")
    print(head)
    print("-" * len(head))
    for graph, s in summary.items():
        print(f"{graph:{w}} {s['answerable']:>3}+{s['unanswerable']:<3} {_fmt(s['em']):>6} "
              f"{_fmt(s['f1']):>6} {_fmt(s['contains']):>8} {_fmt(s['refusal_unanswerable']):>12} "
              f"{_fmt(s['false_refusal_answerable']):>12} {_fmt(s['calls_answerable'], '{:.2f}'):>11} "
              f"{_fmt(s['calls_unanswerable'], '{:.2f}'):>13} "
              f"{_fmt(s['seconds_per_question'], '{:.1f}'):>8}")
    print("n = answerable+unanswerable questions. EM is expected to be near 0: the 0.5B model answers "
          "in sentences, the gold answers are short;\n'contains' = normalised gold answer appears in "
          "the normalised answer. Refusal = answer.refused; calls = sum(answer.model_calls).")
    print()
    head = f"{'graph':{w}} " + " ".join(
        f"{t + ' n':>13} {t[:6] + ' F1':>9} {t[:6] + ' cont':>11} {t[:6] + ' calls':>12}"
        for t in TYPES)
    print(head)
    print("-" * len(head))
    for graph, s in summary.items():
        cells = []
        for t in TYPES:
            b = s["by_type"][t]
            cells.append(f"{b['n']:>13} {_fmt(b['f1']):>9} {_fmt(b['contains']):>11} "
                         f"{_fmt(b['calls'], '{:.2f}'):>12}")
        print(f"{graph:{w}} " + " ".join(cells))
    print()
    for graph, s in summary.items():
        for kind, routes in s["by_route"].items():
            parts = [f"{route}: n={r['n']} calls={_fmt(r['calls'], '{:.2f}')} "
                     f"refused={_fmt(r['refused'], '{:.2f}')}" for route, r in routes.items()]
            print(f"routes {graph:{w}} {kind:12} " + "; ".join(parts))
    for graph, s in summary.items():
        print(f"verdicts {graph:{w}} grounded on answerable {_fmt(s['grounded_true_answerable'])}; "
              f"false-grounded on unanswerable {_fmt(s['false_grounded_unanswerable'])}")
    base = summary.get("simple")
    for graph, s in summary.items():
        ratios = []
        for key, what in (("median_seconds_answerable", "median answer"),
                          ("median_first_token_answerable", "median first token")):
            mine, ref = s.get(key), base.get(key) if base else None
            ratios.append(f"{what} {_fmt(mine, '{:.1f}')} s" + (
                f" ({mine / ref:.2f}x simple)" if mine and ref else ""))
        print(f"time {graph:{w}} " + "; ".join(ratios))
    errors = {g: s["errors"] for g, s in summary.items() if s["errors"]}
    if errors:
        print(f"errors (counted as wrong, not refused): {errors}")


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=100, help="first N HotpotQA questions (answerable)")
    p.add_argument("--unanswerable", type=int, default=30,
                   help="first N questions asked of the corpus without their gold passages")
    p.add_argument("--graphs", default=",".join(GRAPHS), help="comma-separated graph names")
    p.add_argument("--data-dir", type=Path, default=None, help="folder holding hotpotqa/")
    p.add_argument("--min-relevance", type=float, default=None,
                   help="override retrieval.min_relevance (e.g. -1: every chunk reaches the graders)")
    p.add_argument("--json", type=Path, default=None, help="write summary and per-question rows here")
    args = p.parse_args(argv)
    graphs = split_graphs(args.graphs)
    if unknown := [g for g in graphs if not (m := _VARIANT.match(g)) or m.group(1) not in GRAPHS]:
        p.error(f"unknown graph(s) {unknown}; use {', '.join(GRAPHS)}, optionally with "
                f"[setting=value,...]")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C or `kill PID` ends the run early but still prints (and saves) what was measured;
    # SIGINT is restored because shells start background jobs with it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    settings = load_settings()
    if args.min_relevance is not None:
        settings = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(
            update={"min_relevance": args.min_relevance})})
    ds = load_dataset("hotpotqa", args.data_dir)
    started = time.perf_counter()
    _, ingest_s = build_collection(settings, ds)
    hp = bench_settings(settings, ds)
    unanswerable = ds.questions[: args.unanswerable]
    wrong = distractor_settings(hp, unanswerable)
    build_distractor_collection(wrong, ds, unanswerable)
    # Built once per collection: the chat model loads here, before any question is timed.
    # Every prompt pinned to the version that is production now: a label moved during a long run
    # must not change the prompts half-way.
    shipped = PromptStore()
    pins = {name: f"{name}@{shipped.resolve(name)[1]}" for name in shipped.names()}
    hp_ctx = build_context(hp, collection=COLLECTION, prompts=pins)
    wrong_ctx = build_context(wrong, collection=DISTRACTOR_COLLECTION, prompts=pins)
    setup_s = time.perf_counter() - started
    print(f"setup {setup_s:.1f}s (HotpotQA ingest: "
          f"{'cached' if ingest_s is None else f'{ingest_s:.0f}s'}); homes: {hp.home} | {wrong.home}",
          file=sys.stderr)

    answerable = ds.questions[: args.limit]
    jobs = [("answerable", answerable, hp, COLLECTION, hp_ctx),
            ("unanswerable", unanswerable, wrong, DISTRACTOR_COLLECTION, wrong_ctx)]
    run_start = time.perf_counter()
    rows, interrupted = run(graphs, jobs)
    run_s = time.perf_counter() - run_start
    summary = {g: summarise([r for r in rows if r["graph"] == g]) for g in graphs
               if any(r["graph"] == g for r in rows)}

    if interrupted:
        print("INTERRUPTED: partial results; graphs may cover different questions")
    print(f"HotpotQA · chat {settings.chat} · embedding {settings.embedding} · retrieval "
          f"{settings.retrieval.mode} top_k={settings.retrieval.top_k} min_relevance="
          f"{settings.retrieval.min_relevance} · {len(rows)} answers in "
          f"{run_s / 60:.1f} min ({run_s / max(len(rows), 1):.1f} s per question)")
    print()
    print_report(summary)
    if args.json:
        payload = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if argv is None else argv,
            "settings": {"chat": settings.chat, "embedding": settings.embedding,
                         "retrieval": settings.retrieval.model_dump(mode="json"),
                         "agent": settings.agent.model_dump(mode="json"),
                         "local": settings.local.model_dump(mode="json")},
            "prompts": pins,
            "homes": {"answerable": str(hp.home), "unanswerable": str(wrong.home)},
            "collections": {"answerable": COLLECTION, "unanswerable": DISTRACTOR_COLLECTION},
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "load_avg": os.getloadavg()},
            "interrupted": interrupted, "setup_s": setup_s, "run_s": run_s, "summary": summary, "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
