"""The model hub across providers: the embedded catalog, Ollama's HTTP API on a loopback server
(tags, show, a streamed pull), and a real llama.cpp OpenAI-compatible server's ``/v1/models``.
A provider that is down is reported with its fix while the others are still listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragloom.cli_models import models_app
from ragloom.core.errors import RagloomError
from ragloom.core.models import local_chat_path
from ragloom.core.models.hub import PullProgress, list_models, pull_ollama, register_finetune, show_model
from ragloom.core.settings import Settings, load_settings
from tests.integration.servers import HOST, FakeOllama, fake_ollama, free_port, llama_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gguf = local_chat_path("qwen2.5-coder-0.5b", load_settings())
    with llama_server(gguf, "qwen-hub", tmp_path_factory.mktemp("llama") / "server.log") as base:
        yield base


@pytest.fixture
def ollama() -> Iterator[tuple[str, FakeOllama]]:
    fake = FakeOllama(pullable={"qwen2.5:0.5b": 397_821_319},
                      adapters={"tea-tuned:latest": "/models/tea-lora.gguf"})
    fake.models.append("tea-tuned:latest")
    with fake_ollama(fake) as served:
        yield served


def _settings(tmp_path: Path, ollama_host: str, openai_url: str | None = None) -> Settings:
    return load_settings(home=tmp_path / "home", ollama={"host": ollama_host, "timeout_s": 10},
                         openai={"base_url": openai_url or f"http://{HOST}:{free_port()}/v1",
                                 "timeout_s": 30, "api_key": "unused"})


def test_one_list_across_the_catalog_ollama_and_a_real_llama_cpp_server(
        tmp_path: Path, ollama, llama_url: str) -> None:
    host, _ = ollama
    listing = list_models(_settings(tmp_path, host, llama_url))
    assert listing.errors == {}
    by_spec = {m.spec: m for m in listing.models}
    local = by_spec["local/qwen2.5-coder-0.5b"]
    assert local.installed is True and local.size_bytes == 491_400_064  # pulled by `make test`
    assert local.details["sha256"].startswith("1d9614") and "Apache" in local.details["licence"]
    llama = by_spec["ollama/llama3.2"]
    assert llama.roles == ("chat",) and llama.size_bytes == 2019393189
    assert {k: llama.details[k] for k in ("family", "parameters", "quantization",
                                          "context_length")} == {
        "family": "llama", "parameters": "3.2B", "quantization": "Q4_K_M",
        "context_length": 131072}
    assert by_spec["ollama/nomic-embed-text"].roles == ("embedding",)
    assert by_spec["ollama/tea-tuned"].source == "fine-tuned: ADAPTER /models/tea-lora.gguf"
    served = by_spec["openai/qwen-hub"]  # the real server's alias, from its /v1/models
    assert served.provider == "openai" and served.installed


def test_a_provider_that_is_down_is_reported_and_the_others_still_listed(tmp_path: Path) -> None:
    down = f"http://{HOST}:{free_port()}"
    listing = list_models(_settings(tmp_path, down))
    assert {"ollama", "openai"} <= set(listing.errors)
    assert down in listing.errors["ollama"] and "ollama serve" in listing.errors["ollama"]
    assert "openai.base_url" in listing.errors["openai"]
    assert any(m.spec == "local/qwen2.5-coder-0.5b" for m in listing.models)
    result = CliRunner().invoke(models_app, ["list"], obj={"settings": _settings(tmp_path, down)})
    assert result.exit_code == 0 and "local/qwen2.5-coder-0.5b" in result.stdout
    assert "ollama serve" in result.stderr


def test_pull_streams_ollamas_progress_then_the_model_is_listed(tmp_path: Path, ollama) -> None:
    host, fake = ollama
    s = _settings(tmp_path, host)
    seen: list[PullProgress] = []
    pull_ollama(s, "qwen2.5:0.5b", seen.append)
    assert seen[0].status == "pulling manifest" and seen[-1].status == "success"
    done = [p.completed for p in seen if p.total]
    assert done == sorted(done) and done[-1] == 397_821_319  # monotone, up to the layer's size
    assert fake.bodies("/api/pull") == [{"model": "qwen2.5:0.5b", "insecure": False,
                                         "stream": True}]
    assert show_model(s, "ollama/qwen2.5:0.5b").details["family"] == "llama"
    # The CLI: a progress bar on stderr, the result on stdout; an unknown name says what to do.
    fake.pullable["llama3.2:1b"] = 1_000_000
    cli = CliRunner().invoke(models_app, ["pull", "ollama/llama3.2:1b"], obj={"settings": s})
    assert cli.exit_code == 0, cli.output
    assert "ok ollama/llama3.2:1b: pulled" in cli.stdout and "success" in cli.stderr
    with pytest.raises(RagloomError, match="could not pull 'no-such-model'.*file does not exist"):
        pull_ollama(s, "no-such-model")


def test_show_and_register_a_fine_tuned_model(tmp_path: Path, ollama) -> None:
    host, _ = ollama
    s = _settings(tmp_path, host)
    export = tmp_path / "train.jsonl"
    export.write_text("\n".join(json.dumps({"messages": [{"role": "user", "content": str(i)}]})
                                for i in range(3)) + "\n")
    cli = CliRunner().invoke(models_app, ["register", "ollama/llama3.2", "--trained-on",
                                          str(export)], obj={"settings": s})
    assert cli.exit_code == 0, cli.output
    shown = CliRunner().invoke(models_app, ["show", "ollama/llama3.2"], obj={"settings": s})
    assert shown.exit_code == 0, shown.output
    assert "fine-tuned on train.jsonl (3 examples" in shown.stdout
    assert "context_length  131072" in shown.stdout and "LLAMA 3.2 COMMUNITY" in shown.stdout
    listed = CliRunner().invoke(models_app, ["list", "-p", "ollama", "--json"], obj={"settings": s})
    entry = next(m for m in json.loads(listed.stdout)["models"] if m["spec"] == "ollama/llama3.2")
    assert entry["source"].startswith("fine-tuned on train.jsonl")
    missing = CliRunner().invoke(models_app, ["show", "ollama/nope"], obj={"settings": s})
    assert "ragloom models pull ollama/nope" in str(missing.exception)
    with pytest.raises(RagloomError, match="is not ollama/NAME"):
        register_finetune(s, "local/qwen2.5-coder-0.5b", export)
