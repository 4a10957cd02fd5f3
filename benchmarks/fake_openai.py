"""A fast, scripted OpenAI-compatible model host for load and fault tests (loopback only).

It serves ``/v1/models``, ``/v1/embeddings`` (deterministic bag-of-words vectors) and
``/v1/chat/completions`` (streamed or not), answering ragloom's prompts the way a good model would:
the JSON verdicts grading (the sources sharing a word with the question) and grounding ask for,
and otherwise the source sentence closest to the question, citing its number.
``POST /control`` switches faults on and off while it runs:
``{"mode": "ok" | "error" | "hang", "delay_s": 0.0, "embed_delay_s": 0.0}`` — ``error`` answers
500, ``hang`` never answers within any sane timeout; ``delay_s`` slows chat calls and
``embed_delay_s`` embedding calls (a slow ingest, to kill a worker in the middle of one).
``GET /control`` returns the mode and request counts.

    python benchmarks/fake_openai.py --port 9100
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import time
from collections import Counter
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

DIM = 64
ANSWER = "{fact} [{n}]."  # a cooperative model quotes the source that answers
_COMMON = {"the", "and", "for", "what", "which", "who", "how", "does", "did", "are", "was", "with",
           "that", "this", "from", "long", "many", "much", "when", "where", "there", "can"}
_STATE: dict[str, Any] = {"mode": "ok", "delay_s": 0.0, "embed_delay_s": 0.0, "counts": Counter()}
app = FastAPI(title="fake OpenAI-compatible host")


def vector(text: str) -> list[float]:
    vec = np.zeros(DIM, dtype=np.float32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = float(np.linalg.norm(vec))
    return (vec / norm if norm else vec + 1.0 / DIM).tolist()


def reply_for(messages: list[dict[str, Any]]) -> str:
    """What a cooperative model says to each of ragloom's prompts."""
    text = " ".join(str(m.get("content", "")) for m in messages)
    if '"relevant"' in text:
        return json.dumps({"relevant": _relevant(text)})
    if '"grounded"' in text:
        return '{"grounded": true, "unsupported": []}'
    if '"route"' in text:
        return '{"route": "documents"}'
    if (latest := re.search(r"Latest message: (.+)", text)) and (earlier := re.search(
            r"User: (.+)", text)):  # condense: the follow-up, made stand-alone
        return json.dumps({"question": f"{latest.group(1).strip()} (following: "
                                       f"{earlier.group(1).strip()})"})
    return _answer(text)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2} - _COMMON


_SOURCE = re.compile(r"\[(\d+)\] \([^)\n]*\)\s*\n<<<\n(.*?)\n>>>", re.S)


def _question(text: str) -> set[str]:
    asked = re.search(r"Question: (.+)", text)
    return _words(asked.group(1) if asked else text)


def _relevant(text: str) -> list[int]:
    """A grader that reads: the sources sharing a content word with the question (wherever
    ragloom placed them: the best source may be last)."""
    question = _question(text)
    return [int(n) for n, body in _SOURCE.findall(text) if question & _words(body)]


def _answer(text: str) -> str:
    """The sentence of the sources (as ragloom numbers them: "[n] (file, page)" then "<<<" ...
    ">>>") that shares most words with the question, citing its source; a cooperative model
    reads what it is shown, so a prompt that hides the sources gets "I don't know"."""
    question = _question(text)
    best, best_n, best_overlap = "", 1, 0
    for n, body in _SOURCE.findall(text):
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", body):
            sentence = sentence.strip().rstrip(".")
            words = _words(sentence)
            overlap = len(question & words)
            adds = bool(words - question)  # a heading that only echoes the question says nothing
            if adds and 0 < len(sentence) <= 200 and (overlap > best_overlap or not best):
                best, best_n, best_overlap = sentence, int(n), overlap
    return ANSWER.format(fact=best, n=best_n) if best else "I don't know."


def _usage(messages: list[dict[str, Any]], text: str) -> dict[str, int]:
    """Token counts as a real host reports them (here: words and punctuation)."""
    prompt = sum(len(re.findall(r"\w+|[^\w\s]", str(m.get("content", "")))) for m in messages)
    completion = len(re.findall(r"\w+|[^\w\s]", text))
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


async def _fault() -> JSONResponse | None:
    if _STATE["delay_s"]:
        await asyncio.sleep(_STATE["delay_s"])
    if _STATE["mode"] == "error":
        return JSONResponse({"error": {"message": "injected failure", "type": "server_error"}},
                            status_code=500)
    if _STATE["mode"] == "hang":
        await asyncio.sleep(3600)
    return None


@app.get("/control")
def control_state() -> dict[str, Any]:
    return {"mode": _STATE["mode"], "delay_s": _STATE["delay_s"],
            "embed_delay_s": _STATE["embed_delay_s"], "counts": dict(_STATE["counts"])}


@app.post("/control")
async def control(request: Request) -> dict[str, Any]:
    body = await request.json()
    _STATE["mode"] = body.get("mode", "ok")
    _STATE["delay_s"] = float(body.get("delay_s", 0.0))
    _STATE["embed_delay_s"] = float(body.get("embed_delay_s", 0.0))
    if body.get("reset_counts"):
        _STATE["counts"] = Counter()
    return control_state()


@app.get("/v1/models")
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0,
                                        "owned_by": "fake"} for m in ("fake", "fake-embed")]}


@app.post("/v1/embeddings")
async def embeddings(request: Request) -> Any:
    _STATE["counts"]["embeddings"] += 1
    body = await request.json()
    if _STATE["embed_delay_s"]:
        await asyncio.sleep(_STATE["embed_delay_s"])
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = [{"object": "embedding", "index": i, "embedding": vector(str(t))}
            for i, t in enumerate(texts)]
    return {"object": "list", "data": data, "model": body.get("model"),
            "usage": {"prompt_tokens": 0, "total_tokens": 0}}


@app.post("/v1/chat/completions")
async def chat(request: Request) -> Any:
    _STATE["counts"]["chat"] += 1
    fault = await _fault()
    if fault is not None:
        _STATE["counts"]["chat_failed"] += 1
        return fault
    body = await request.json()
    text, created, model = reply_for(body.get("messages", [])), int(time.time()), body.get("model")
    usage = _usage(body.get("messages", []), text)
    if not body.get("stream"):
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": created,
                "model": model, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": text}}], "usage": usage}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                      "created": created, "model": model, "choices": [{
                                          "index": 0, "delta": delta,
                                          "finish_reason": finish}]}) + "\n\n"

    pieces = [chunk({"role": "assistant", "content": ""})]
    pieces += [chunk({"content": w}) for w in re.findall(r"\S+\s*", text)]
    pieces += [chunk({}, "stop")]
    if (body.get("stream_options") or {}).get("include_usage"):  # as OpenAI and vLLM do
        pieces.append("data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion"
                                             ".chunk", "created": created, "model": model,
                                             "choices": [], "usage": usage}) + "\n\n")
    pieces.append("data: [DONE]\n\n")
    return StreamingResponse(iter(pieces), media_type="text/event-stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
