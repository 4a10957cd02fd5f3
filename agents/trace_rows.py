"""A trace's rows for people: the steps on a timeline, each model call with its prompt and
completion, the chunks with what their scores mean. The web app's trace view and `ragloom trace ID`
show the same rows."""

from __future__ import annotations

import json
from typing import Any

SCORE_HELP = ("**score**: cosine similarity of the chunk's embedding to the query's (−1…1, higher "
              "is closer). **fused**: reciprocal-rank fusion of the dense and BM25 rankings "
              "(hybrid search: the order used). **bm25**: the lexical score, when BM25 found it. "
              "**kept**: the grader (or the graph) passed it to the answer. **cited**: the answer "
              "cites it and the claim check kept the citation.")


def shown_name(source: str) -> str:
    """A file's name, never the server's folders; uploads by their upload name."""
    return source.removeprefix("upload://").rsplit("/", 1)[-1]


def timeline_rows(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Each step with its start (seconds after the first step began) and duration."""
    steps = trace.get("steps", [])
    starts = [s.get("at") for s in steps]
    origin = min((a for a in starts if a is not None), default=None)
    rows, clock = [], 0.0
    for s in steps:
        start = s["at"] - origin if origin is not None and s.get("at") is not None else clock
        seconds = float(s.get("seconds") or 0.0)
        detail = {k: v for k, v in s.items() if k not in ("node", "seconds", "at")}
        rows.append({"step": s.get("node", "?"), "start_s": round(start, 3),
                     "seconds": round(seconds, 3), "end_s": round(start + seconds, 3),
                     "detail": _detail_text(detail)})
        clock = max(clock, start + seconds)
    return rows


def _detail_text(detail: dict[str, Any]) -> str:
    """``key: value`` pairs, lists shortened: a line a person reads, not a JSON tree."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            value = f"{len(value)} items" if len(value) > 3 else ", ".join(map(str, value))
        elif isinstance(value, dict):
            value = json.dumps(value, default=str)
        parts.append(f"{key}: {value}")
    return " · ".join(parts)[:300]


def call_rows(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """Each model call: its step, model, tokens, latency, cost, and (when recorded) the messages
    it was sent and its completion."""
    calls = (trace.get("usage") or {}).get("calls") or []
    transcripts = trace.get("transcripts") or []
    rows = []
    for i, c in enumerate(calls):
        t = transcripts[i] if i < len(transcripts) else {}
        rows.append({"n": i + 1, "step": c.get("node") or "–", "model": c.get("model"),
                     "prompt tokens": c["prompt_tokens"] if c.get("counted") else None,
                     "completion tokens": c["completion_tokens"] if c.get("counted") else None,
                     "seconds": c.get("seconds"), "cost $": c.get("cost_usd"),
                     "messages": t.get("messages") or [], "completion": t.get("completion")})
    return rows


def chunk_rows(trace: dict[str, Any]) -> list[dict[str, Any]]:
    kept = set(trace.get("kept", []))
    cited = {c.get("chunk_id") for c in trace.get("citations", [])}
    return [{"rank": i + 1, "source": shown_name(r["source"]),
             "page": str(r["page"]) if r.get("page") is not None else "—",
             "score": round(r.get("score") or 0.0, 3),
             "fused": round(r["fused_score"], 4) if r.get("fused_score") is not None else None,
             "bm25": round(r["lexical_score"], 2) if r.get("lexical_score") is not None else None,
             "kept": r["id"] in kept, "cited": r["id"] in cited, "text": r.get("text") or ""}
            for i, r in enumerate(trace.get("retrieved", []))]
