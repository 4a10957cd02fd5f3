"""Settings & health page: edit for the session, validation errors, ragloom.toml, health checks."""

from __future__ import annotations

import tomllib

from ragloom.core.settings import load_settings
from ragloom.ui.page_settings import apply_changes, toml_for
from ragloom.ui.state import SETTINGS_KEY
from tests.unit.test_ui_support import app_test, fake_services


def test_toml_holds_only_changes_without_secrets_and_loads_back(settings, tmp_path) -> None:
    s = apply_changes(settings, {"chat": "ollama/llama3.2", "ollama": {"host": "http://gpu:11434"},
                                 "openai": {"api_key": "sk-secret"}, "agent": {"graph": "simple"}})
    text = toml_for(s)
    assert "sk-secret" not in text and "api_key" not in text
    data = tomllib.loads(text)
    assert data["chat"] == "ollama/llama3.2" and data["ollama"] == {"host": "http://gpu:11434"}
    (tmp_path / "ragloom.toml").write_text(text)
    again = load_settings(tmp_path / "ragloom.toml")
    assert (again.chat, again.ollama.host, again.agent.graph) == (
        "ollama/llama3.2", "http://gpu:11434", "simple")


def _submit(at):  # type: ignore[no-untyped-def]
    return at.button[[b.label for b in at.button].index("Apply to this session")].click().run()


def test_apply_in_session_and_invalid_values_are_refused_readably(settings) -> None:
    at = app_test(settings, fake_services(), page="settings")
    assert not at.exception, at.exception
    at.text_input[0].set_value("ollama/llama3.2")  # chat
    at.selectbox[0].set_value("server")  # chroma mode
    _submit(at)
    assert not at.exception and "Applied to this session" in at.success[0].value
    s = at.session_state[SETTINGS_KEY]
    assert s.chat == "ollama/llama3.2" and s.chroma.mode == "server" and s.home == settings.home
    assert s.embedding == "local/fake-bow"  # untouched fields keep their session values

    at.text_input[1].set_value("minilm")  # embedding without a provider
    _submit(at)
    assert at.error[0].value.startswith("applying settings failed:") and "minilm" in at.error[0].value
    assert at.session_state[SETTINGS_KEY].embedding == "local/fake-bow"  # nothing applied

    at.text_input[1].set_value("local/fake-bow")
    graph_box = next(b for b in at.selectbox if b.label == "Default graph")
    graph_box.set_value("simple")
    _submit(at)
    assert at.session_state[SETTINGS_KEY].agent.graph == "simple"


def test_health_checks_show_each_component_with_its_fix(settings) -> None:
    s = apply_changes(settings, {"chat": "ollama/llama3.2", "ollama": {"host": "http://127.0.0.1:9"},
                                 "embedding": "local/minilm-l6-v2",
                                 "model_cache": settings.home / "no-models"})
    at = app_test(s, fake_services(), page="settings")
    at.button(key="settings-health").click().run()
    assert not at.exception
    failed = [e.value for e in at.error]
    assert any("chat: ollama/llama3.2" in f and "Fix:" in f and "ollama serve" in f for f in failed)
    assert any("embedding: local/minilm-l6-v2" in f and "ragloom models pull" in f for f in failed)
    assert any("store: chroma" in ok.value for ok in at.success)


def test_write_ragloom_toml_to_the_working_directory(settings, tmp_path) -> None:
    s = apply_changes(settings, {"chat": "openai/gpt-4o-mini"})
    at = app_test(s, fake_services(), page="settings")
    assert "no ragloom.toml" in at.caption[0].value  # the header names only a file that exists
    at.button(key="settings-write").click().run()
    assert tomllib.loads((tmp_path / "ragloom.toml").read_text())["chat"] == "openai/gpt-4o-mini"
    # A second write needs the overwrite box ticked.
    at.run()
    assert at.button(key="settings-write").disabled
    assert str((tmp_path / "ragloom.toml").resolve()) in at.caption[0].value


def test_an_invalid_ragloom_toml_is_a_readable_error_not_a_traceback(tmp_path) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.unit.test_ui_support import APP

    (tmp_path / "ragloom.toml").write_text('[retrieval]\ntop_k = "many"\n')  # cwd is tmp_path
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert at.error[0].value.startswith("ragloom.toml or a RAGLOOM_* variable is invalid: "
                                        "retrieval.top_k")
