"""A whole deployment on loopback, for tests and benchmarks: a throw-away PostgreSQL, a
``chroma run`` and the fast fake OpenAI-compatible model host (``benchmarks/fake_openai.py``).
Each ragloom process then gets the shared ``RAGLOOM_*`` settings and its own home."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.integration.postgres import postgres
from tests.integration.servers import HOST, chroma_run, free_port, stop

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def deployment(root: Path, startup_s: float = 60.0) -> Iterator[dict[str, str]]:
    """Run the three servers; yield the settings every process shares, plus ``FAKE_MODEL``
    (the model host's base URL, whose ``/control`` sets delays and faults)."""
    port = free_port()
    model = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "fake_openai.py"),
                              "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        with postgres() as url, chroma_run(root / "chroma") as chroma:
            deadline = time.monotonic() + startup_s
            while not _answers(f"http://{HOST}:{port}/v1/models"):
                if time.monotonic() > deadline:
                    raise RuntimeError("the fake model host did not start")
                time.sleep(0.2)
            yield {"RAGLOOM_DATABASE_URL": url, "RAGLOOM_CHAT": "openai/fake",
                   "RAGLOOM_EMBEDDING": "openai/fake-embed", "RAGLOOM_JUDGE": "openai/fake",
                   "RAGLOOM_OPENAI__BASE_URL": f"http://{HOST}:{port}/v1",
                   "RAGLOOM_CHROMA__MODE": "server", "RAGLOOM_CHROMA__HOST": HOST,
                   "RAGLOOM_CHROMA__PORT": str(chroma), "PYTHONPATH": str(ROOT),
                   "FAKE_MODEL": f"http://{HOST}:{port}"}
    finally:
        stop(model)


def process_env(shared: dict[str, str], home: Path) -> dict[str, str]:
    """This environment without any RAGLOOM_* of its own, plus ``shared`` and ``home``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")}
    return {**base, **shared, "RAGLOOM_HOME": str(home)}


def ragloom_cli(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one ``ragloom`` command as a process of the deployment with its own home."""
    return subprocess.run([sys.executable, "-m", "ragloom", *args], env=process_env(env, home),
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def logs(root: Path) -> str:
    """The tail of every ``*.log`` the deployment's processes wrote under ``root``."""
    # Workers first: when a queued job stalls, theirs are the logs that say why.
    found = sorted(root.glob("*.log"), key=lambda p: (not p.name.startswith("w"), p.name))
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in found)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).is_success
    except httpx.HTTPError:
        return False
