"""One registry of graphs: a graph another package declares (entry point group ragloom.graphs,
here tests/plugins) is accepted wherever a graph is named: the library, the API, the web app
pickers, evaluation variants; an unknown name is refused with the list, before any model loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ragloom.agents.graphs as graphs
from ragloom.agents.service import ask
from tests.unit.api_helpers import client, fill, key
from tests.unit.test_ui_support import app_test, fake_services, sample_collection

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
OOLONG = "What temperature should I brew the Oolong at?"


@pytest.fixture
def plugin(monkeypatch):  # type: ignore[no-untyped-def]
    """tests/plugins on sys.path as if installed; the registry reads entry points afresh."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setattr(graphs, "GRAPHS", dict(graphs.GRAPHS))
    monkeypatch.setattr(graphs, "_loaded", False)
    yield
    sys.modules.pop("ragloom_quick_graph", None)


def test_an_entry_point_graph_is_registered_and_a_broken_one_skipped(plugin, caplog) -> None:
    names = graphs.graph_names()
    assert names[:3] == ["simple", "corrective", "adaptive"] and "quick" in names
    assert "broken" not in names and "graph 'broken'" in caplog.text  # logged, not fatal


def test_the_plugin_graph_answers_with_trace_and_threads(plugin, settings) -> None:
    from tests.fakes import scripted_chat
    from tests.unit.test_agent_graphs import _ctx

    col = sample_collection(settings)
    a = ask(OOLONG, settings, graph="quick", thread="t1",
            context=_ctx(col, scripted_chat("Brew it at 85 degrees Celsius [1].")))
    assert a.graph == "quick" and a.grounded and a.trace_id and a.thread == "t1"


def test_the_api_accepts_it_and_refuses_an_unknown_graph(plugin, settings) -> None:
    fill(settings)
    api = client(settings)
    api.headers.update(key(settings, "admin"))
    ok = api.post("/ask", json={"question": OOLONG, "collection": "sample", "graph": "quick"})
    assert ok.status_code == 200 and ok.json()["graph"] == "quick", ok.text
    bad = api.post("/ask", json={"question": OOLONG, "collection": "sample", "graph": "nope"})
    assert bad.status_code == 422 and "quick" in bad.text


def test_the_web_app_pickers_list_it(plugin, settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services())
    assert "quick" in at.sidebar.selectbox(key="ask-graph").options
    evals = app_test(settings, fake_services(), page="evals")
    assert "quick" in evals.multiselect(key="ev-graphs").options


def test_an_unknown_graph_is_refused_before_any_model_loads(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "ragloom", "--home", str(tmp_path / "h"), "ask",
                           OOLONG, "--graph", "nope"], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(PLUGINS), "PATH": "/usr/bin"})
    assert done.returncode != 0 and "unknown graph 'nope'" in done.stderr
    assert "quick" in done.stderr  # the plugin's graph is offered


@pytest.fixture
def provider_plugin(monkeypatch):  # type: ignore[no-untyped-def]
    import ragloom.core.models.providers as providers

    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setattr(providers, "PROVIDERS", dict(providers.PROVIDERS))
    monkeypatch.setattr(providers, "_loaded", False)
    yield providers
    sys.modules.pop("ragloom_quick_graph", None)


def test_a_provider_from_another_package_answers_through_the_cli(tmp_path) -> None:
    """Installed (here: on PYTHONPATH with its dist-info), `echo/...` works for chat and
    embeddings from the real CLI: ingest, then ask."""
    from tests.conftest import SAMPLE_CORPUS

    env = {"PYTHONPATH": str(PLUGINS), "PATH": "/usr/bin", "RAGLOOM_HOME": str(tmp_path / "h"),
           "RAGLOOM_CHAT": "echo/any", "RAGLOOM_EMBEDDING": "echo/hashed"}
    run = [sys.executable, "-m", "ragloom"]
    done = subprocess.run([*run, "ingest", str(SAMPLE_CORPUS), "--collection", "sample"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    asked = subprocess.run([*run, "ask", "How long does shipping to Canada take?",
                            "--collection", "sample", "--graph", "simple", "--json"],
                           capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr
    import json

    answer = json.loads(asked.stdout)
    assert answer["models"] == {"chat": "echo/any", "embedding": "echo/hashed"}
    assert answer["answer"] and answer["model_calls"] == {"chat": 1}


def test_providers_register_in_process_and_refuse_what_they_lack(provider_plugin, settings) -> None:
    from ragloom.core.errors import ConfigError
    from ragloom.core.models import ModelSpec, get_chat_model, get_embeddings, register_provider

    assert {"local", "ollama", "openai", "echo"} <= set(provider_plugin.provider_names())
    assert ModelSpec.parse("echo/x").provider == "echo"
    assert get_embeddings("echo/x", settings).embed_query("tea")

    class ChatOnly:
        def chat(self, model, settings):  # type: ignore[no-untyped-def]
            return "a chat model"

    register_provider("chatonly", ChatOnly())
    assert get_chat_model("chatonly/m", settings) == "a chat model"
    with pytest.raises(ConfigError, match="has no embedding models"):
        get_embeddings("chatonly/m", settings)
    with pytest.raises(ConfigError, match="not of the form provider/model"):
        ModelSpec.parse("nope/m")
    with pytest.raises(ConfigError, match="neither a chat"):
        register_provider("empty", object())
