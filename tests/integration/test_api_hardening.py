"""A real `ragloom serve` (embedded Chroma, the fake OpenAI-compatible model host) against raw
sockets: chunked bodies over the limit, bodies that stop arriving, huge headers, deep JSON,
over-long questions; and a data folder no other local user can read."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchmarks.load import HOST, ROOT, free_port, stop, wait_http

pytestmark = pytest.mark.integration
BODY_TIMEOUT_S = 2.0


@dataclass
class Server:
    api: str
    port: int
    home: Path
    headers: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("hardening")
    home, logs = base / "home", base / "logs"
    logs.mkdir()
    model_port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")}
    env.update({"RAGLOOM_HOME": str(home), "RAGLOOM_CHAT": "openai/fake",
                "RAGLOOM_EMBEDDING": "openai/fake-embed", "RAGLOOM_JUDGE": "openai/fake",
                "RAGLOOM_OPENAI__BASE_URL": f"http://{HOST}:{model_port}/v1",
                "RAGLOOM_OPENAI__MAX_RETRIES": "0",
                "RAGLOOM_API__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S), "PYTHONPATH": str(ROOT)})
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with (logs / "model.log").open("ab") as sink:
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "benchmarks" /
                                                               "fake_openai.py"),
                                           "--port", str(model_port)], stdout=sink,
                                          stderr=subprocess.STDOUT, env=env, cwd=ROOT))
        wait_http(f"http://{HOST}:{model_port}/v1/models", procs[-1], "fake model host")
        made = subprocess.run([sys.executable, "-m", "ragloom", "keys", "create", "--admin",
                               "--name", "t"], env=env, cwd=ROOT, check=True,
                              capture_output=True, text=True)
        with (logs / "api.log").open("ab") as sink:
            procs.append(subprocess.Popen([sys.executable, "-m", "ragloom", "serve", "--host",
                                           HOST, "--port", str(api_port)], stdout=sink,
                                          stderr=subprocess.STDOUT, env=env, cwd=ROOT))
        api = f"http://{HOST}:{api_port}"
        wait_http(f"{api}/health", procs[-1], "ragloom serve")
        yield Server(api, api_port, home, {"Authorization": f"Bearer {made.stdout.strip()}"})
    finally:
        for proc in reversed(procs):
            stop(proc)


def _raw(server: Server, head: str, body: bytes = b"", wait_s: float = 15.0
         ) -> tuple[int, dict, float]:
    """Send ``head`` + ``body`` as they are; (status, JSON body, seconds to the answer)."""
    auth = server.headers["Authorization"]
    data = (head.replace("\n", "\r\n").rstrip("\r\n") + f"\r\nHost: {HOST}\r\n"
            f"Authorization: {auth}\r\n\r\n").encode() + body
    start = time.monotonic()
    reply = b""
    with socket.create_connection((HOST, server.port), timeout=wait_s) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused mid-body
            for i in range(0, len(data), 65536):
                conn.sendall(data[i:i + 65536])
        with contextlib.suppress(ConnectionResetError):
            while b"\r\n\r\n" not in reply or \
                    len(reply.split(b"\r\n\r\n", 1)[1]) < _length(reply):
                piece = conn.recv(65536)
                if not piece:
                    break
                reply += piece
    took = time.monotonic() - start
    status_line, rest = reply.split(b"\r\n", 1)
    payload = rest.split(b"\r\n\r\n", 1)[1][:_length(reply)]
    return int(status_line.split()[1]), json.loads(payload), took


def _length(reply: bytes) -> int:
    for line in reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 30


def test_chunked_body_over_the_limit_is_413(server: Server) -> None:
    piece = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(5)) + b"0\r\n\r\n"
    status, body, _ = _raw(server, "POST /ask HTTP/1.1\nContent-Type: application/json\n"
                           "Transfer-Encoding: chunked", chunks)
    assert status == 413 and "over 256 KiB" in body["error"] and body["fix"], body


def test_a_body_shorter_than_its_content_length_is_408_within_the_timeout(server: Server
                                                                          ) -> None:
    status, body, took = _raw(server, "POST /ask HTTP/1.1\nContent-Type: application/json\n"
                              "Content-Length: 1000", b'{"question": ')
    assert status == 408 and "api.body_timeout_s" in body["fix"], body
    assert BODY_TIMEOUT_S - 0.5 < took < BODY_TIMEOUT_S + 3, took


def test_a_100_kb_header_is_431(server: Server) -> None:
    status, body, _ = _raw(server, "GET /collections HTTP/1.1\nX-Big: " + "a" * 100_000)
    assert status == 431 and "api.max_header_kb" in body["fix"], body


def test_json_nested_1000_deep_is_400_with_a_fix(server: Server) -> None:
    deep = b'{"question": "q", "where": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    status, body, _ = _raw(server, "POST /ask HTTP/1.1\nContent-Type: application/json\n"
                           f"Content-Length: {len(deep)}", deep)
    assert status == 400 and "nests deeper than 32" in body["error"] and body["fix"], body


def test_one_question_limit_on_every_route(server: Server) -> None:
    long = "why " * 1001  # 4,004 characters
    r = httpx.post(f"{server.api}/ask", json={"question": long}, headers=server.headers)
    assert r.status_code == 422 and "over the limit of 4,000" in r.json()["error"], r.text
    assert "agent.max_question_chars" in r.json()["fix"]
    r = httpx.post(f"{server.api}/v1/chat/completions", headers=server.headers,
                   json={"model": "ragloom:default", "messages": [{"role": "user",
                                                                   "content": long}]})
    assert r.status_code == 422 and "over the limit of 4,000" in r.text, r.text


def test_the_data_folder_is_private(server: Server) -> None:
    files = [("files", (p.name, p.read_bytes()))
             for p in sorted((ROOT / "ragloom" / "sample_corpus").iterdir()) if p.is_file()]
    r = httpx.post(f"{server.api}/collections/sample/documents", files=files,
                   headers=server.headers, timeout=60)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while httpx.get(f"{server.api}{r.json()['status_url']}", headers=server.headers
                    ).json()["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the ingest job did not finish"
        time.sleep(0.3)
    r = httpx.post(f"{server.api}/ask", headers=server.headers, timeout=60, json={
        "question": "When are members paid?", "collection": "sample", "graph": "simple",
        "thread": "t1"})
    assert r.status_code == 200, r.text
    made = {p.name for p in server.home.rglob("*")}
    assert {"keys.sqlite", "audit.sqlite", "jobs.sqlite", "traces.sqlite",
            "conversations.sqlite", "chroma.sqlite3"} <= made, made
    loose = [f"{p.relative_to(server.home)} {stat.filemode(p.stat().st_mode)}"
             for p in [server.home, *server.home.rglob("*")]
             if p.stat().st_mode & 0o077 or (p.is_dir() and stat.S_IMODE(p.stat().st_mode) != 0o700)]
    assert loose == [], loose
