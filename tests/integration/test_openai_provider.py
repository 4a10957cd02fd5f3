"""The OpenAI-compatible provider through our factories, against a real llama.cpp server.

Two ``python -m llama_cpp.server`` processes serve the embedded Qwen GGUF on loopback: one for chat
(alias ``qwen``) and one with ``--embedding true`` (alias ``qwen-embed``). The Qwen GGUF carries no
pooling type, so llama.cpp would return one vector per *token*; ``--kv_overrides
qwen2.pooling_type=int:1`` (mean pooling) makes the server return one vector per input, as a real
embedding model's GGUF would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragloom.core.errors import ModelUnavailableError
from ragloom.core.health import check_model
from ragloom.core.models import get_chat_model, get_embeddings, local_chat_path
from ragloom.core.models.reachability import model_call
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import Settings, load_settings
from tests.integration.servers import free_port, llama_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gguf() -> Path:
    return local_chat_path("qwen2.5-coder-0.5b", load_settings())


@pytest.fixture(scope="module")
def chat_url(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("llama-chat") / "server.log"
    with llama_server(gguf, "qwen", log) as base:
        yield base


@pytest.fixture(scope="module")
def embed_url(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("llama-embed") / "server.log"
    with llama_server(gguf, "qwen-embed", log, "--embedding", "true",
                      "--kv_overrides", "qwen2.pooling_type=int:1") as base:
        yield base


def _settings(base_url: str, tmp_path: Path) -> Settings:
    # No retries: a slow or failing call should fail once, visibly, not be repeated silently.
    return load_settings(home=tmp_path / "home",
                         openai={"base_url": base_url, "timeout_s": 120, "max_retries": 0})


def test_invoke_answers_a_simple_question(chat_url: str, tmp_path: Path) -> None:
    model = get_chat_model("openai/qwen", _settings(chat_url, tmp_path)).bind(max_tokens=8)
    reply = model.invoke("What is 2+2? Answer with a number.")
    assert isinstance(reply.content, str) and reply.content.strip()
    assert "4" in reply.content


def test_stream_yields_several_chunks(chat_url: str, tmp_path: Path) -> None:
    model = get_chat_model("openai/qwen", _settings(chat_url, tmp_path)).bind(max_tokens=16)
    streamed = list(model.stream("Count from 1 to 5, separated by commas."))
    chunks = [str(c.content) for c in streamed]
    assert len([c for c in chunks if c]) > 1
    assert "".join(chunks).strip()
    # openai.stream_usage asks for stream_options.include_usage: llama-cpp-python's server takes
    # the option without an error but sends no counts, so such calls are recorded as uncounted.
    assert not [c.usage_metadata for c in streamed if c.usage_metadata]


def test_json_mode_returns_parseable_json(chat_url: str, tmp_path: Path) -> None:
    model = get_chat_model("openai/qwen", _settings(chat_url, tmp_path)).bind(
        response_format={"type": "json_object"}, max_tokens=48)
    reply = model.invoke('Reply with a JSON object like {"answer": 4} for: what is 2+2?')
    parsed = json.loads(str(reply.content))
    assert isinstance(parsed, dict) and parsed


def test_check_model_uses_the_served_model_list(chat_url: str, tmp_path: Path) -> None:
    settings = _settings(chat_url, tmp_path)
    ok = check_model("chat", "openai/qwen", settings)
    assert ok.ok, ok
    # llama.cpp's server *answers* requests for any model name (it falls back to its one model),
    # but /v1/models lists only the alias, so the health check catches a wrong name.
    missing = check_model("chat", "openai/nope", settings)
    assert not missing.ok
    assert "nope" in missing.detail and "qwen" in missing.fix


def test_check_model_fails_when_nothing_listens(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    check = check_model("chat", "openai/qwen", _settings(base, tmp_path))
    assert not check.ok and base in check.detail and "RAGLOOM_OPENAI__BASE_URL" in check.fix


def test_unreachable_server_becomes_model_unavailable(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    settings = load_settings(home=tmp_path, openai={"base_url": base, "max_retries": 0})
    spec = ModelSpec.parse("openai/qwen")
    with pytest.raises(ModelUnavailableError) as caught, model_call(spec, settings, "chat"):
        get_chat_model(spec, settings).invoke("hi")
    assert base in str(caught.value) and "openai" in str(caught.value)


def test_embeddings_from_the_server(embed_url: str, tmp_path: Path) -> None:
    embeddings = get_embeddings("openai/qwen-embed", _settings(embed_url, tmp_path))
    # With True, langchain sends token-id arrays (and needs tiktoken's files, a download);
    # llama.cpp's server answers those with HTTP 500.
    assert getattr(embeddings, "check_embedding_ctx_length", None) is False
    vectors = embeddings.embed_documents(["a", "a longer sentence about brewing tea"])
    assert len(vectors) == 2
    assert len(vectors[0]) == len(vectors[1]) > 1
    assert all(isinstance(x, float) for v in vectors for x in v)
    assert vectors[0] != vectors[1]
    query = embeddings.embed_query("a")
    assert len(query) == len(vectors[0])
