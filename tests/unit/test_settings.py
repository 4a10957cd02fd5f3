from pathlib import Path

import pytest
from pydantic import ValidationError

from ragloom.core.errors import ConfigError
from ragloom.core.models.spec import ModelSpec
from ragloom.core.settings import DEFAULT_CHAT, load_settings


def test_defaults_use_embedded_models() -> None:
    s = load_settings()
    assert s.chat == DEFAULT_CHAT and s.embedding.startswith("local/")
    assert s.ollama.num_ctx >= 8192  # never Ollama's silent 4096 default


def test_precedence_defaults_toml_env_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ragloom.toml").write_text(
        'chat = "ollama/from-toml"\nembedding = "ollama/embed-toml"\n'
        'judge = "ollama/judge-toml"\n[retrieval]\ntop_k = 7\n'
    )
    assert load_settings().chat == "ollama/from-toml"
    assert load_settings().retrieval.top_k == 7

    monkeypatch.setenv("RAGLOOM_CHAT", "ollama/from-env")
    monkeypatch.setenv("RAGLOOM_RETRIEVAL__TOP_K", "9")
    s = load_settings()
    assert (s.chat, s.embedding, s.retrieval.top_k) == ("ollama/from-env", "ollama/embed-toml", 9)

    s = load_settings(chat="openai/from-flag", embedding=None)
    assert s.chat == "openai/from-flag"
    assert s.embedding == "ollama/embed-toml"  # a flag not given does not override
    assert s.judge == "ollama/judge-toml"


def test_explicit_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "custom.toml"
    cfg.write_text('[ollama]\nhost = "http://gpu-box:11434"\n')
    assert load_settings(cfg).ollama.host == "http://gpu-box:11434"


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ragloom.toml").write_text("chat_model = 'x/y'\n")
    with pytest.raises(ValidationError, match="chat_model"):
        load_settings()


@pytest.mark.parametrize(
    ("text", "provider", "model"),
    [("local/qwen2.5-coder-0.5b", "local", "qwen2.5-coder-0.5b"),
     ("ollama/llama3.2", "ollama", "llama3.2"),
     ("openai/meta-llama/Llama-3.1-8B", "openai", "meta-llama/Llama-3.1-8B")],
)
def test_model_spec_parses(text: str, provider: str, model: str) -> None:
    spec = ModelSpec.parse(text)
    assert (spec.provider, spec.model, str(spec)) == (provider, model, text)


@pytest.mark.parametrize("text", ["llama3.2", "hf/some-model", "ollama/", ""])
def test_model_spec_rejects_bad_input_with_fix(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        ModelSpec.parse(text)
    assert "provider/model" in str(info.value) and "Fix:" in str(info.value)
