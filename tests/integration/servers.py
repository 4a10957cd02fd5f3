"""Loopback servers for provider integration tests.

* ``llama_server``: a real llama-cpp-python OpenAI-compatible server (``python -m llama_cpp.server``)
  run as a subprocess on 127.0.0.1, stopped on exit.
* ``fake_model_host``: ``benchmarks/fake_openai.py``, the fast scripted OpenAI-compatible host.
* ``FakeOllama``: a small threaded HTTP server that speaks the documented Ollama HTTP API
  (``/api/tags``, ``/api/chat`` streamed as NDJSON or not, ``/api/embed``, ``/api/show``,
  ``/api/pull``'s progress) and
  records every request body, so tests can check what our factories send.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on right now (bound once and released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- llama.cpp server


@contextlib.contextmanager
def llama_server(model: Path, alias: str, log: Path, *extra: str,
                 startup_s: float = 120.0) -> Iterator[str]:
    """Run ``python -m llama_cpp.server`` on a free loopback port; yield its ``/v1`` base URL."""
    port = free_port()
    # One thread each: ggml's threads spin at barriers, so with 2 cores shared (two servers,
    # pytest, other jobs) 2 threads were 3-15x slower than 1 in measurements here.
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", HOST,
           "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "1",
           "--model_alias", alias, *extra]
    base = f"http://{HOST}:{port}/v1"
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, f"{base}/models", log, startup_s)
            yield base
        finally:
            stop(proc)


@contextlib.contextmanager
def fake_model_host(log: Path, startup_s: float = 60.0) -> Iterator[str]:
    """Run ``benchmarks/fake_openai.py`` on a free loopback port; yield its base URL (add
    ``/v1`` for clients; ``/control`` sets delays and faults)."""
    port = free_port()
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "fake_openai.py"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, str(script), "--port", str(port)], stdout=sink,
                                stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, f"http://{HOST}:{port}/v1/models", log, startup_s)
            yield f"http://{HOST}:{port}"
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate a server process, killing it if it does not exit within ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, startup_s: float) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}:\n{_tail(log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).is_success:
                return
        time.sleep(0.25)
    raise RuntimeError(f"the server did not answer {url} within {startup_s:.0f} s:\n"
                       f"{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- fake Ollama


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class FakeOllama:
    """Scripted Ollama: ``models`` are what /api/tags lists; unknown models answer 404."""

    models: list[str] = field(default_factory=lambda: ["llama3.2:latest", "nomic-embed-text:latest"])
    pullable: dict[str, int] = field(default_factory=dict)  # name -> bytes that /api/pull streams
    adapters: dict[str, str] = field(default_factory=dict)  # name -> its Modelfile's ADAPTER
    reply: str = "Brew Oolong at 85 degrees Celsius."
    dim: int = 4
    requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r.body for r in self.requests if r.path == path]

    def record(self, method: str, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(Recorded(method, path, body))

    def knows(self, name: str) -> bool:
        return name in self.models or f"{name}:latest" in self.models

    def vector(self, text: str) -> list[float]:
        """Deterministic embedding: depends only on the text."""
        return [float(len(text)), float(sum(map(ord, text)) % 97), 1.0, 0.5][: self.dim]

    def reply_pieces(self) -> list[str]:
        words = self.reply.split(" ")
        return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


def _model_entry(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": _now(), "size": 2019393189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": {"parent_model": "", "format": "gguf", "family": "llama",
                        "families": ["llama"], "parameter_size": "3.2B",
                        "quantization_level": "Q4_K_M"}}


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # keep pytest output clean

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _not_found(self, model: str) -> None:
            self._send_json(404, {"error": f'model "{model}" not found, try pulling it first'})

        def do_GET(self) -> None:  # noqa: N802 - stdlib API
            fake.record("GET", self.path, {})
            if self.path == "/api/tags":
                self._send_json(200, {"models": [_model_entry(m) for m in fake.models]})
            elif self.path in ("/", "/api/version"):
                self._send_json(200, {"version": "0.12.0"})
            else:
                self._send_json(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802 - stdlib API
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.record("POST", self.path, body)
            model = str(body.get("model", ""))
            route = {"/api/chat": self._chat, "/api/embed": self._embed, "/api/show": self._show}
            if self.path == "/api/pull":
                self._pull(model)
            elif self.path not in route:
                self._send_json(404, {"error": "not found"})
            elif not fake.knows(model):
                self._not_found(model)
            else:
                route[self.path](body, model)

        def _chat(self, body: dict[str, Any], model: str) -> None:
            final = {"model": model, "created_at": _now(), "done": True, "done_reason": "stop",
                     "total_duration": 1_000_000, "load_duration": 1000,
                     "prompt_eval_count": 12, "prompt_eval_duration": 1000, "eval_count": 8,
                     "eval_duration": 1000}
            if not body.get("stream", True):
                self._send_json(200, {**final, "message": {"role": "assistant",
                                                           "content": fake.reply}})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            parts = [{"model": model, "created_at": _now(), "done": False,
                      "message": {"role": "assistant", "content": piece}}
                     for piece in fake.reply_pieces()]
            parts.append({**final, "message": {"role": "assistant", "content": ""}})
            for part in parts:
                line = json.dumps(part).encode() + b"\n"
                self.wfile.write(f"{len(line):X}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _embed(self, body: dict[str, Any], model: str) -> None:
            texts = body.get("input", "")
            texts = [texts] if isinstance(texts, str) else list(texts)
            self._send_json(200, {"model": model,
                                  "embeddings": [fake.vector(t) for t in texts],
                                  "total_duration": 1000, "load_duration": 100,
                                  "prompt_eval_count": len(texts)})

        def _show(self, body: dict[str, Any], model: str) -> None:
            entry = _model_entry(model)
            modelfile = f"FROM {model}"
            if model in fake.adapters:
                modelfile += f"\nADAPTER {fake.adapters[model]}"
            embeds = "embed" in model
            self._send_json(200, {"modelfile": modelfile, "parameters": "",
                                  "license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n…",
                                  "template": "{{ .Prompt }}", "details": entry["details"],
                                  "model_info": {"general.architecture": "llama",
                                                 "llama.context_length": 131072},
                                  "capabilities": ["embedding"] if embeds else ["completion"]})

        def _pull(self, model: str) -> None:
            """Ollama's NDJSON progress: manifest, one layer in parts, verify, success."""
            if model not in fake.pullable:
                self._send_json(500, {"error": "pull model manifest: file does not exist"})
                return
            total = fake.pullable[model]
            digest = "sha256:" + "ab" * 32
            lines = [{"status": "pulling manifest"}]
            lines += [{"status": f"pulling {digest[7:19]}", "digest": digest, "total": total,
                       "completed": total * k // 4} for k in range(1, 5)]
            lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"},
                      {"status": "success"}]
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in lines:
                line = json.dumps(part).encode() + b"\n"
                self.wfile.write(f"{len(line):X}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            with fake._lock:
                fake.models.append(model if ":" in model else f"{model}:latest")

    return Handler


@contextlib.contextmanager
def fake_ollama(fake: FakeOllama | None = None) -> Iterator[tuple[str, FakeOllama]]:
    """Serve ``fake`` on a free loopback port in a thread; yield (host URL, fake)."""
    fake = fake or FakeOllama()
    server = ThreadingHTTPServer((HOST, 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-ollama", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- chroma run


@contextlib.contextmanager
def chroma_run(path: Path, startup_s: float = 60.0) -> Iterator[int]:
    """A real ``chroma run`` server over ``path`` on a free loopback port; yield the port."""
    import shutil

    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen([exe, "run", "--path", str(path), "--host", HOST, "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"chroma run did not start within {startup_s:.0f} s")
        yield port
    finally:
        stop(proc)
