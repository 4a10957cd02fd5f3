"""Load and fault benchmark of `ragloom serve` on loopback, against real processes.

It starts a real Chroma server (``chroma run``), the fake OpenAI-compatible model host
(``benchmarks/fake_openai.py``: fast, so the figures measure ragloom, not a model) and
``ragloom serve`` with Chroma in server mode; uploads the sample corpus through the API; then N
concurrent clients ask questions for S seconds and it reports errors, p50/p95/p99 latency and
throughput. ``--fault chroma`` kills the Chroma server a third of the way in and restarts it at two
thirds: answers during the outage must be clear 503s, answers after it must succeed, and the
collection must hold the same chunks as before.

    python benchmarks/load.py --clients 50 --seconds 60 [--graph corrective] [--fault chroma]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
QUESTIONS = ["At what temperature should I brew the Oolong?", "How long does shipping to Canada take?",
             "When are members paid?", "How should green tea be stored?"]
log = logging.getLogger("load")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer {url} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)  # uvicorn's graceful shutdown would wait for idle keep-alives
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@dataclass
class Stack:
    """Chroma server + fake model host + `ragloom serve`, each a real process on loopback."""

    home: Path
    model_timeout_s: float = 5.0
    chroma_port: int = field(default_factory=free_port)
    model_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    admin_key: str = ""
    settings_env: dict[str, str] = field(default_factory=dict)  # extra RAGLOOM_* for the API

    @property
    def api(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def model_host(self) -> str:
        return f"http://{HOST}:{self.model_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")}
        env.update({"RAGLOOM_CHAT": "openai/fake", "RAGLOOM_EMBEDDING": "openai/fake-embed",
                    "RAGLOOM_JUDGE": "openai/fake", "RAGLOOM_HOME": str(self.home),
                    "RAGLOOM_OPENAI__BASE_URL": f"{self.model_host}/v1",
                    "RAGLOOM_OPENAI__TIMEOUT_S": str(self.model_timeout_s),
                    "RAGLOOM_OPENAI__MAX_RETRIES": "0",
                    "RAGLOOM_CHROMA__MODE": "server", "RAGLOOM_CHROMA__HOST": HOST,
                    "RAGLOOM_CHROMA__PORT": str(self.chroma_port), "PYTHONPATH": str(ROOT),
                    **self.settings_env})
        return env

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        sink = (self.home / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=self.env(), cwd=ROOT)
        self.procs[name] = proc
        return proc

    def start_chroma(self) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        proc = self._spawn("chroma", [exe, "run", "--path", str(self.home / "chroma-server"),
                                      "--host", HOST, "--port", str(self.chroma_port)])
        wait_http(f"http://{HOST}:{self.chroma_port}/api/v2/heartbeat", proc, "chroma run")

    def kill_chroma(self) -> None:
        proc = self.procs.pop("chroma")
        proc.kill()
        proc.wait(timeout=15)

    def start(self) -> Stack:
        self.home.mkdir(parents=True, exist_ok=True)
        self.start_chroma()
        proc = self._spawn("model", [sys.executable, str(ROOT / "benchmarks" / "fake_openai.py"),
                                     "--port", str(self.model_port)])
        wait_http(f"{self.model_host}/v1/models", proc, "fake model host")
        keys = subprocess.run([sys.executable, "-m", "ragloom", "keys", "create", "--admin",
                               "--name", "load"], env=self.env(), cwd=ROOT, check=True,
                              capture_output=True, text=True)
        self.admin_key = keys.stdout.strip()
        proc = self._spawn("api", [sys.executable, "-m", "ragloom", "serve", "--host", HOST,
                                   "--port", str(self.api_port)])
        wait_http(f"{self.api}/health", proc, "ragloom serve")
        return self

    def close(self) -> None:
        for name in ("api", "model", "chroma"):
            stop(self.procs.pop(name, None))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def upload(self, collection: str, folder: Path, timeout_s: float = 120) -> dict:
        files = [("files", (p.name, p.read_bytes())) for p in sorted(folder.iterdir()) if p.is_file()]
        r = httpx.post(f"{self.api}/collections/{collection}/documents", files=files,
                       headers=self.headers(), timeout=60)
        r.raise_for_status()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = httpx.get(f"{self.api}/jobs/{r.json()['job']}", headers=self.headers()).json()
            if state["status"] not in ("queued", "running"):
                return state
            time.sleep(0.2)
        raise RuntimeError("ingest job did not finish")

    def set_model(self, mode: str, delay_s: float = 0.0) -> dict:
        """Switch the fake model host's fault mode (and reset its counters); returns its state."""
        r = httpx.post(f"{self.model_host}/control", json={"mode": mode, "delay_s": delay_s,
                                                            "reset_counts": True}, timeout=5)
        r.raise_for_status()
        return r.json()

    def model_counts(self) -> dict[str, int]:
        return httpx.get(f"{self.model_host}/control", timeout=5).json()["counts"]


@contextlib.contextmanager
def running_stack(home: Path | None = None, **kw: Any) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="ragloom-load-") as tmp:
        stack = Stack(home or Path(tmp), **kw)
        try:
            yield stack.start()
        finally:
            stack.close()


@dataclass
class Result:
    t: float  # seconds since the run started, at completion
    seconds: float
    status: int
    error: str = ""


async def _client(api: str, headers: dict[str, str], body: dict, deadline: float, t0: float,
                  out: list[Result], n: int) -> None:
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http:
        i = n
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                r = await http.post("/ask", json={**body, "question": QUESTIONS[i % len(QUESTIONS)]})
                status, error = r.status_code, "" if r.is_success else r.json().get("error", "")
            except httpx.HTTPError as exc:
                status, error = 0, f"{type(exc).__name__}: {exc}"
            end = time.monotonic()
            out.append(Result(end - t0, end - start, status, str(error)))
            i += 1


async def load(api: str, headers: dict[str, str], *, clients: int, seconds: float,
               collection: str, graph: str) -> list[Result]:
    out: list[Result] = []
    t0 = time.monotonic()
    body = {"collection": collection, "graph": graph}
    await asyncio.gather(*(_client(api, headers, body, t0 + seconds, t0, out, n)
                           for n in range(clients)))
    return out


def summary(results: list[Result], seconds: float) -> dict:
    ok = sorted(r.seconds for r in results if r.status == 200)
    q = statistics.quantiles(ok, n=100) if len(ok) >= 2 else [float("nan")] * 99
    return {"requests": len(results), "ok": len(ok),
            "errors": dict(Counter(r.status for r in results if r.status != 200)),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1),
            "p99_ms": round(q[98] * 1000, 1), "throughput_rps": round(len(ok) / seconds, 2)}


async def chroma_outage(stack: Stack, *, clients: int, seconds: float, collection: str,
                        graph: str, marks: dict[str, float] | None = None,
                        down_s: float | None = None) -> list[Result]:
    """Load while Chroma is killed at 1/3 of the run and restarted ``down_s`` later (default: at
    2/3); ``marks`` gets the seconds (since the start) at which it was killed and answered again."""
    marks = {} if marks is None else marks
    t0 = time.monotonic()

    async def fault() -> None:
        await asyncio.sleep(seconds / 3)
        await asyncio.to_thread(stack.kill_chroma)
        marks["killed"] = time.monotonic() - t0
        await asyncio.sleep(seconds / 3 if down_s is None else down_s)
        await asyncio.to_thread(stack.start_chroma)
        marks["back"] = time.monotonic() - t0

    task = asyncio.create_task(fault())
    results = await load(stack.api, stack.headers(), clients=clients, seconds=seconds,
                         collection=collection, graph=graph)
    await task
    return results


def phases(results: list[Result], marks: dict[str, float]) -> dict[str, dict]:
    """Answers by phase: before the kill, during the outage, after the server answered again
    (by completion time; a request in flight at a boundary counts where it ended)."""
    spans = {"before": (0.0, marks["killed"]), "outage": (marks["killed"], marks["back"]),
             "after": (marks["back"], float("inf"))}
    out = {}
    for name, (lo, hi) in spans.items():
        done = [r for r in results if lo <= r.t < hi]
        out[name] = {"seconds": round(min(hi, max((r.t for r in results), default=lo)) - lo, 1),
                     "requests": len(done), "statuses": dict(Counter(r.status for r in done))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--graph", default="simple", choices=["simple", "corrective", "adaptive"])
    parser.add_argument("--fault", choices=["none", "chroma"], default="none")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="api.ask_concurrency of the server (questions answered at once)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    extra = ({"RAGLOOM_API__ASK_CONCURRENCY": str(args.concurrency)} if args.concurrency else {})
    with running_stack(settings_env=extra) as stack:
        job = stack.upload("sample", ROOT / "ragloom" / "sample_corpus")
        log.info("ingested: %s files, %s chunks", len(job["ingested"]), job["chunks_added"])
        marks: dict[str, float] = {}
        if args.fault == "chroma":
            results = asyncio.run(chroma_outage(stack, clients=args.clients, seconds=args.seconds,
                                                collection="sample", graph=args.graph, marks=marks))
        else:
            results = asyncio.run(load(stack.api, stack.headers(), clients=args.clients,
                                       seconds=args.seconds, collection="sample", graph=args.graph))
        report = {"clients": args.clients, "seconds": args.seconds, "graph": args.graph,
                  "fault": args.fault, "ask_concurrency": args.concurrency or "default",
                  **summary(results, args.seconds)}
        if args.fault == "chroma":
            report["chunks_after"] = httpx.get(f"{stack.api}/collections/sample",
                                               headers=stack.headers()).json()["chunks"]
            report["chunks_before"] = job["chunks_added"]
            report["error_messages"] = dict(Counter(r.error for r in results if r.error))
            report["phases"] = phases(results, marks)
        print(json.dumps(report, indent=2))  # noqa: T201 - the report is the output


if __name__ == "__main__":
    main()
