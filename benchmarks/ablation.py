"""Where are HotpotQA answers lost? One generation per configuration, on the same questions.

Each question is retrieved once (hybrid, the default retriever, top 8); every configuration then
makes exactly one answer call with the embedded chat model, so the rows differ only in what the
model is shown and how it is asked:

- ``oracle``: the question's two gold passages (the reading-comprehension ceiling of the model);
- ``top{k}``: the first k retrieved chunks, best first (k = 2, 4, 6, 8); ``top4-reversed``: best
  last (nearest the question);
- ``rerank8to4``: the top 8 reordered by the chat model (one more call, counted in the time), first 4;
- prompts: ``sentence`` is ``answer@2`` (one or two sentences), ``short`` is ``answer@3`` (short
  answer first, then one sentence of evidence).

Scores per row: ``contains`` (normalised gold answer inside the answer, citations removed), EM and
token F1 of the answer's first sentence (the short answer, for ``short``), ``gold@k`` (share of the
gold passages among the chunks shown), ``checked`` (share of answers every claim of which passed
the deterministic claim check, ``agents/claims.py``), and mean seconds per answer call. Chunk size is
not varied: HotpotQA paragraphs are shorter than the default 256-token chunk, so nearly every
paragraph is one chunk either way.

Run from the repository root (about 10 answer calls per question; ~20 min for 25 on 2 cores)::

    .venv/bin/python benchmarks/ablation.py --limit 25 --json /tmp/ablation.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ragloom.agents.citations import format_sources  # noqa: E402
from ragloom.agents.generation import cited_answer  # noqa: E402
from ragloom.agents.service import build_context  # noqa: E402
from ragloom.core.settings import load_settings  # noqa: E402
from ragloom.evals.datasets import load_dataset  # noqa: E402
from ragloom.evals.retrieval_bench import COLLECTION, bench_settings, build_collection  # noqa: E402
from ragloom.evals.text_metrics import contains, exact_match, strip_citations, token_f1  # noqa: E402
from ragloom.retrieval.types import RetrievedChunk  # noqa: E402

PROMPTS = {"sentence": "answer@2", "short": "answer@3"}
# (name, chunks, prompt): chunks is "oracle", "topK", "topK-reversed" or "rerankNtoK"
CONFIGS = [("oracle", "sentence"), ("oracle", "short"), ("top4", "sentence"), ("top2", "short"),
           ("top4", "short"), ("top6", "short"), ("top8", "short"), ("top4-reversed", "short"),
           ("rerank8to4", "short")]


def first_sentence(text: str) -> str:
    head = strip_citations(text).strip().split("\n")[0]
    for stop in (". ", "? ", "! "):
        head = head.split(stop)[0]
    return head.rstrip(".!? ")


def chunks_for(config: str, hits: list[RetrievedChunk], oracle: list[RetrievedChunk], ctx: Any,
               question: str) -> list[RetrievedChunk]:
    if config == "oracle":
        return oracle
    if config.startswith("rerank"):
        n, k = (int(x) for x in config.removeprefix("rerank").split("to"))
        from ragloom.retrieval.rerank import LLMReranker

        return LLMReranker(ctx.chat_model, ctx.chat_provider).rerank(question, hits[:n], k)
    k = int(config.removeprefix("top").split("-")[0])
    shown = hits[:k]
    return shown[::-1] if config.endswith("reversed") else shown


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--configs", default=None, help="comma-separated chunks:prompt pairs")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    configs = ([tuple(c.split(":")) for c in args.configs.split(",")] if args.configs
               else CONFIGS)
    settings = load_settings()
    ds = load_dataset("hotpotqa", args.data_dir)
    build_collection(settings, ds)
    hp = bench_settings(settings, ds)
    ctx = build_context(hp, collection=COLLECTION)
    prompts = {kind: ctx.prompts.checked(ref) for kind, ref in PROMPTS.items()}
    records = {r.id: r for r in ds.records}
    ctx.chat_model.invoke([("user", "Say OK.")])  # load the model before anything is timed
    # Ctrl-C or `kill PID` ends the run early and still prints what was measured.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows: list[dict[str, Any]] = []
    try:
        answer_all(ds.questions[: args.limit], configs, ctx, prompts, records, settings, rows)
    except KeyboardInterrupt:
        print("INTERRUPTED: partial results", file=sys.stderr)
    report(rows, configs, settings, args.json)
    return 0


def answer_all(questions: list[Any], configs: list[tuple[str, str]], ctx: Any,
               prompts: dict[str, Any], records: dict[str, Any], settings: Any,
               rows: list[dict[str, Any]]) -> None:
    for i, q in enumerate(questions, start=1):
        hits = ctx.retriever.retrieve(q.text, 8, None)
        oracle = [RetrievedChunk(id=g, text=f"{records[g].title}. {records[g].text}",
                                 source=f"hotpotqa://{g}", chunk_index=0, score=1.0)
                  for g in sorted(q.gold)]
        for config, kind in configs:
            start = time.perf_counter()
            shown = chunks_for(config, hits, oracle, ctx, q.text)
            prompt = prompts[kind]
            reply = ctx.chat_model.invoke(prompt.render(question=q.text,
                                                        context=format_sources(shown)))
            seconds = time.perf_counter() - start
            out = cited_answer(str(reply.content), shown, q.text,
                               threshold=settings.agent.claim_threshold)
            text = strip_citations(out["answer"])
            gold = q.answer or ""
            claims = out["claims"]
            rows.append({
                "id": q.id, "type": q.kind, "config": f"{config}:{kind}", "seconds": seconds,
                "answer": out["answer"], "gold": gold, "refused": out["refused"],
                "contains": contains(text, gold),
                "em": exact_match(first_sentence(text), gold),
                "f1": token_f1(first_sentence(text), gold),
                "gold_shown": len({c.source.rsplit("/", 1)[-1] for c in shown} & q.gold)
                / max(len(q.gold), 1),
                "checked": float(bool(claims) and all(c.supported for c in claims)),
            })
            r = rows[-1]
            print(f"{i:3} {r['config']:22} {seconds:5.1f}s contains={r['contains']:.0f} "
                  f"em={r['em']:.0f} checked={r['checked']:.0f} | {out['answer'][:90]!r}",
                  file=sys.stderr, flush=True)


def report(rows: list[dict[str, Any]], configs: list[tuple[str, str]], settings: Any,
           json_path: Path | None) -> None:
    done = len({r["id"] for r in rows})
    print(f"HotpotQA ablation · {done} questions · chat {settings.chat} · load "
          f"{os.getloadavg()[0]:.2f}")
    head = (f"{'config':22} {'contains':>8} {'EM':>6} {'F1':>6} {'gold@k':>7} {'refused':>8} "
            f"{'checked':>8} {'s/answer':>9}")
    print(head)
    print("-" * len(head))
    summary = {}
    for config, kind in configs:
        sub = [r for r in rows if r["config"] == f"{config}:{kind}"]
        if not sub:
            continue
        s = {m: statistics.fmean(float(r[m]) for r in sub)
             for m in ("contains", "em", "f1", "gold_shown", "refused", "checked", "seconds")}
        summary[f"{config}:{kind}"] = s
        print(f"{config + ':' + kind:22} {s['contains']:8.3f} {s['em']:6.3f} {s['f1']:6.3f} "
              f"{s['gold_shown']:7.3f} {s['refused']:8.3f} {s['checked']:8.3f} {s['seconds']:9.1f}")
    if json_path:
        json_path.write_text(json.dumps({"summary": summary, "rows": rows,
                                         "load_avg": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())
