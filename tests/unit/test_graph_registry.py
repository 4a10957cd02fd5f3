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
