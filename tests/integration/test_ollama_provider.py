"""The Ollama provider through our factories, against a loopback server speaking Ollama's HTTP API.

The Ollama binary cannot be installed here (see ENVIRONMENT.md), so ``FakeOllama`` implements the
documented API shape and records what our factories send (model name, ``options.num_ctx``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from ragloom.core.errors import ModelUnavailableError
from ragloom.core.health import check_model
from ragloom.core.models import get_chat_model, get_embeddings
from ragloom.core.models.reachability import model_call
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings, load_settings
from tests.conftest import SAMPLE_CORPUS
from tests.integration.servers import FakeOllama, fake_ollama, free_port

pytestmark = pytest.mark.integration

RAGLOOM = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "ragloom"
NUM_CTX = 6144  # not the default (8192), to prove the value comes from settings


@pytest.fixture
def ollama() -> Iterator[tuple[str, FakeOllama]]:
    with fake_ollama() as served:
        yield served


def _settings(host: str, tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home",
                         ollama={"host": host, "num_ctx": NUM_CTX, "timeout_s": 10})


def test_chat_invoke_sends_model_and_num_ctx(ollama: tuple[str, FakeOllama],
                                             tmp_path: Path) -> None:
    host, fake = ollama
    settings = _settings(host, tmp_path)
    reply = get_chat_model("ollama/llama3.2", settings).invoke("What temperature for Oolong?")
    assert isinstance(reply, AIMessage) and reply.content == fake.reply
    (body,) = fake.bodies("/api/chat")
    assert body["model"] == "llama3.2"
    assert body["options"]["num_ctx"] == settings.ollama.num_ctx == NUM_CTX
    assert body["options"]["temperature"] == settings.ollama.temperature
    last = body["messages"][-1]
    assert last["role"] == "user" and last["content"] == "What temperature for Oolong?"


def test_chat_invoke_without_streaming(ollama: tuple[str, FakeOllama], tmp_path: Path) -> None:
    host, fake = ollama
    reply = get_chat_model("ollama/llama3.2", _settings(host, tmp_path)).invoke("hi", stream=False)
    assert reply.content == fake.reply
    (body,) = fake.bodies("/api/chat")
    assert body["stream"] is False and body["options"]["num_ctx"] == NUM_CTX


def test_chat_stream_yields_chunks(ollama: tuple[str, FakeOllama], tmp_path: Path) -> None:
    host, fake = ollama
    chunks = list(get_chat_model("ollama/llama3.2", _settings(host, tmp_path)).stream("hi"))
    texts = [str(c.content) for c in chunks if c.content]
    assert len(texts) == len(fake.reply_pieces()) > 1
    assert "".join(texts) == fake.reply
    (body,) = fake.bodies("/api/chat")
    assert body["stream"] is True and body["options"]["num_ctx"] == NUM_CTX


def test_embeddings_return_vectors(ollama: tuple[str, FakeOllama], tmp_path: Path) -> None:
    host, fake = ollama
    embeddings = get_embeddings("ollama/nomic-embed-text", _settings(host, tmp_path))
    vectors = embeddings.embed_documents(["a", "bb"])
    assert vectors == [fake.vector("a"), fake.vector("bb")]
    assert embeddings.embed_query("tea") == fake.vector("tea")
    first, second = fake.bodies("/api/embed")
    assert first["model"] == "nomic-embed-text" and first["input"] == ["a", "bb"]
    assert second["input"] == ["tea"]


def test_check_model_ok_when_tags_list_the_model(ollama: tuple[str, FakeOllama],
                                                 tmp_path: Path) -> None:
    host, fake = ollama
    assert "llama3.2:latest" in fake.models
    check = check_model("chat", "ollama/llama3.2", _settings(host, tmp_path))
    assert check.ok, check
    assert host in check.detail


def test_check_model_fails_with_pull_hint_when_missing(ollama: tuple[str, FakeOllama],
                                                       tmp_path: Path) -> None:
    host, fake = ollama
    fake.models = ["qwen2.5:0.5b"]
    check = check_model("chat", "ollama/llama3.2", _settings(host, tmp_path))
    assert not check.ok
    assert "llama3.2" in check.detail and host in check.detail
    assert "ollama pull llama3.2" in check.fix


def test_check_model_fails_when_nothing_listens(tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    check = check_model("chat", "ollama/llama3.2", _settings(host, tmp_path))
    assert not check.ok and host in check.detail and "RAGLOOM_OLLAMA__HOST" in check.fix


def test_unreachable_host_becomes_model_unavailable(tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    settings = _settings(host, tmp_path)
    spec = ModelSpec.parse("ollama/llama3.2")
    with pytest.raises(ModelUnavailableError) as caught, model_call(spec, settings, "chat"):
        get_chat_model(spec, settings).invoke("hi")
    message = str(caught.value)
    assert host in message and "ollama" in message.lower()
    assert "\n" not in message


def test_unpulled_model_becomes_model_unavailable(ollama: tuple[str, FakeOllama],
                                                  tmp_path: Path) -> None:
    host, fake = ollama
    fake.models = ["qwen2.5:0.5b"]  # /api/chat answers 404 "model not found", as Ollama does
    settings = _settings(host, tmp_path)
    spec = ModelSpec.parse("ollama/llama3.2")
    with pytest.raises(ModelUnavailableError) as caught, model_call(spec, settings, "chat"):
        get_chat_model(spec, settings).invoke("hi")
    assert host in str(caught.value) and "ollama pull llama3.2" in str(caught.value)


def _cli_env(host: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAGLOOM_") and k not in ("COLUMNS", "LINES")}
    env["RAGLOOM_OLLAMA__HOST"] = host
    return env


def test_cli_ask_with_unreachable_ollama_prints_one_error_line(tmp_path: Path) -> None:
    host = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    env = _cli_env(host)
    ingest = subprocess.run([str(RAGLOOM), "--home", str(home), "ingest", str(SAMPLE_CORPUS),
                             "--collection", "sample"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    # --chat given to the top-level callback (the documented global flag).
    result = subprocess.run([str(RAGLOOM), "--home", str(home), "--chat", "ollama/llama3.2", "ask",
                             "What temperature should I brew the Oolong at?", "--collection",
                             "sample"], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=300)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"stderr is not one line: {result.stderr!r}"
    assert lines[0].startswith("error:")
    assert "ollama" in lines[0].lower() and host in lines[0]
