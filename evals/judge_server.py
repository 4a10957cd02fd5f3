"""Open a judge from a ``provider/model`` role: Ollama's and OpenAI's (or any compatible server's)
``/v1`` API, or, for ``local/…``, a llama.cpp server (``python -m llama_cpp.server``) on loopback
that the run starts on demand and stops when it ends. Ragas talks to all of them in JSON mode."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ragloom.core.errors import ModelUnavailableError
from ragloom.core.models import get_embeddings, local_chat_path
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings
from ragloom.evals.judge import RagasJudge

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


class LocalJudgeServer:
    """A llama.cpp OpenAI-compatible server for one GGUF, owned by whoever calls ``start``."""

    def __init__(self, model: Path, alias: str, *, n_ctx: int = 4096, threads: int = 1,
                 startup_s: float = 180.0):
        # One thread by default: the answering model runs in the same run, and ggml's threads
        # spin at barriers, so on a busy 2-core machine 2 threads measured 3-15x slower than 1.
        self.model, self.alias, self.n_ctx, self.startup_s = model, alias, n_ctx, startup_s
        self.threads = threads
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self._log = Path(tempfile.gettempdir()) / f"ragloom-judge-{os.getpid()}.log"

    def start(self) -> str:
        port = _free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model),
               "--host", HOST, "--port", str(port), "--n_ctx", str(self.n_ctx),
               "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
               "--model_alias", self.alias]
        log.info("starting the judge server: %s", " ".join(cmd))
        with self._log.open("wb") as sink:
            self.proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                         preexec_fn=_die_with_parent)
        self.base_url = f"http://{HOST}:{port}/v1"
        self._wait_ready()
        return self.base_url

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ModelUnavailableError(
                    f"the judge server exited with code {self.proc.returncode}",
                    subject=str(self._log), fix="read its log; check the model file")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/models", timeout=2).is_success:
                    return
            time.sleep(0.25)
        self.stop()
        raise ModelUnavailableError(f"the judge server did not start within {self.startup_s:.0f} s",
                                    subject=str(self._log), fix="read its log")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def _die_with_parent() -> None:
    """The server must not outlive a killed run (Linux: PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def judge_id(spec: str, temperature: float) -> str:
    """The judge's identity in the cache: the model and how it samples."""
    return f"{ModelSpec.parse(spec)}@t{temperature:g}"


def open_judge(spec: str, settings: Settings, resources: contextlib.ExitStack, *,
               timeout_s: float = 300.0, attempts: int = 2, concurrency: int = 1,
               temperature: float = 0.0) -> RagasJudge:
    """A Ragas judge for ``spec``; servers it starts are stopped when ``resources`` closes."""
    from openai import AsyncOpenAI
    from ragas.llms import llm_factory

    parsed = ModelSpec.parse(spec)
    if parsed.provider == "local":
        server = LocalJudgeServer(local_chat_path(parsed.model, settings), parsed.model,
                                  n_ctx=settings.local.n_ctx)
        base_url, key = server.start(), "not-needed"
        resources.callback(server.stop)
        concurrency = 1  # one llama.cpp server answers one request at a time anyway
    elif parsed.provider == "ollama":
        base_url, key = settings.ollama.host.rstrip("/") + "/v1", "ollama"
    else:
        o = settings.openai
        base_url = o.base_url or "https://api.openai.com/v1"
        key = o.api_key.get_secret_value() if o.api_key else "not-needed"
    client = AsyncOpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0)

    def llm_for(repeat: int) -> Any:
        # A seed per repeat: with a temperature above 0, repeats sample different verdicts.
        return llm_factory(parsed.model, client=client, temperature=temperature, seed=repeat,
                           max_tokens=1024)

    return RagasJudge(judge_id(spec, temperature), llm_for,
                      get_embeddings(settings.embedding, settings),
                      timeout_s=timeout_s, attempts=attempts, concurrency=concurrency)
