"""The Models page (AppTest) over a loopback fake Ollama: the list across providers, a provider
that is down shown with its fix, a role switched for the session or written to ragloom.toml
(keeping the rest of the file), a refused value leaving the file alone, and a pull with progress."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragloom.core.settings import Settings, load_settings
from ragloom.ui.state import SETTINGS_KEY
from tests.integration.servers import HOST, FakeOllama, fake_ollama, free_port
from tests.unit.test_ui_support import app_test, fake_services, texts


@pytest.fixture
def ollama() -> Iterator[tuple[str, FakeOllama]]:
    with fake_ollama(FakeOllama(pullable={"qwen2.5:0.5b": 400_000_000})) as served:
        yield served


@pytest.fixture
def in_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # ragloom.toml is the working directory's
    return tmp_path


def _settings(tmp_path: Path, host: str) -> Settings:
    return load_settings(home=tmp_path / "home", ollama={"host": host, "timeout_s": 5},
                         openai={"base_url": f"http://{HOST}:{free_port()}/v1", "timeout_s": 2,
                                 "max_retries": 0, "api_key": "unused"})


def test_lists_every_provider_and_says_which_is_down(in_folder: Path, ollama) -> None:
    host, _ = ollama
    at = app_test(_settings(in_folder, host), fake_services(), page="models")
    assert not at.exception
    rows = at.dataframe[0].value
    specs = list(rows["model"])
    assert "local/qwen2.5-coder-0.5b" in specs and "ollama/llama3.2" in specs
    llama = rows[rows["model"] == "ollama/llama3.2"].iloc[0]
    assert llama["details"] == "llama · 3.2B · Q4_K_M" and llama["context"] == "131,072"
    assert rows[rows["model"] == "local/qwen2.5-coder-0.5b"].iloc[0]["in use as"] == "chat, judge"
    assert "openai" in texts(at) and "openai.base_url" in texts(at)  # down, with the fix


def test_a_role_for_the_session_then_written_keeping_the_file(in_folder: Path, ollama) -> None:
    host, _ = ollama
    config = in_folder / "ragloom.toml"
    config.write_text('# my settings\ncollection = "tea"\n\n[retrieval]\ntop_k = 6\n')
    at = app_test(_settings(in_folder, host), fake_services(), page="models")
    embedding_choices = at.selectbox(key="models-role-embedding").options
    assert "ollama/nomic-embed-text" in embedding_choices
    assert "ollama/llama3.2" not in embedding_choices  # Ollama says it cannot embed
    at.selectbox(key="models-role-chat").set_value("ollama/llama3.2").run()
    at.button(key="models-apply").click().run()
    assert at.session_state[SETTINGS_KEY].chat == "ollama/llama3.2"
    assert config.read_text().startswith("# my settings")  # a session change writes nothing
    at.button(key="models-write").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    written = tomllib.loads(config.read_text())
    assert written["chat"] == "ollama/llama3.2" and written["collection"] == "tea"
    assert written["retrieval"] == {"top_k": 6} and config.read_text().startswith("# my settings")
    assert load_settings(config).chat == "ollama/llama3.2"


def test_a_value_that_would_not_load_leaves_the_file_alone(in_folder: Path) -> None:
    from ragloom.core.config_file import set_in_config
    from ragloom.core.errors import ConfigError

    config = in_folder / "ragloom.toml"
    config.write_text('chat = "local/qwen2.5-coder-0.5b"\n')
    with pytest.raises(ConfigError, match="not of the form provider/model"):
        set_in_config({"chat": "nonsense"}, config)
    with pytest.raises(ConfigError, match="would not load"):
        set_in_config({"retrieval": {"top_k": "many"}}, config)
    assert config.read_text() == 'chat = "local/qwen2.5-coder-0.5b"\n'
    assert not [p for p in in_folder.iterdir() if p.name.endswith(".new")]  # no stray temp file


def test_pull_shows_progress_and_the_model_joins_the_list(in_folder: Path, ollama) -> None:
    host, fake = ollama
    at = app_test(_settings(in_folder, host), fake_services(), page="models")
    at.text_input(key="models-pull-name").set_value("qwen2.5:0.5b").run()
    at.button(key="models-pull").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Pulled `ollama/qwen2.5:0.5b`" in texts(at)
    assert "qwen2.5:0.5b" in fake.models
    at.run()
    assert "ollama/qwen2.5:0.5b" in list(at.dataframe[0].value["model"])
    at.text_input(key="models-pull-name").set_value("no-such-model").run()
    at.button(key="models-pull").click().run()
    assert "file does not exist" in texts(at)
