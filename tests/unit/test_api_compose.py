"""docker-compose.yml cannot run here; check what can be checked: its settings and commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ragloom.cli import app as cli_app
from ragloom.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_settings_are_valid_ragloom_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(compose["services"]) == {"api", "ui", "chroma", "ollama", "postgres", "migrate",
                                        "worker"}
    env = compose["services"]["api"]["environment"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = load_settings()  # extra="forbid": a misspelt setting fails here
    assert (s.chroma.mode, s.chroma.host, s.chroma.port) == ("server", "chroma", 8000)
    assert s.ollama.host == "http://ollama:11434" and s.chat.startswith("ollama/")
    assert s.database == compose["services"]["migrate"]["environment"]["RAGLOOM_DATABASE_URL"]
    db = compose["services"]["postgres"]["environment"]
    assert s.database == (f"postgresql://{db['POSTGRES_USER']}:{db['POSTGRES_PASSWORD']}"
                          f"@postgres:5432/{db['POSTGRES_DB']}")
    assert compose["services"]["ui"]["environment"] == env  # UI and API share settings and data
    assert compose["services"]["worker"]["environment"] == env
    assert compose["services"]["ui"]["volumes"] == compose["services"]["api"]["volumes"]


def test_compose_commands_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    names = {c.name or c.callback.__name__ for c in cli_app.registered_commands}
    assert compose["services"]["api"]["command"][:2] == ["ragloom", "serve"] and "serve" in names
    assert compose["services"]["ui"]["command"][:2] == ["ragloom", "ui"] and "ui" in names
    assert compose["services"]["migrate"]["command"] == ["ragloom", "db", "upgrade"]
    assert compose["services"]["worker"]["command"] == ["ragloom", "worker"] and "worker" in names
    assert {g.name for g in cli_app.registered_groups} >= {"db"}
    chroma = compose["services"]["chroma"]["command"]
    assert chroma[:2] == ["chroma", "run"] and chroma[chroma.index("--port") + 1] == "8000"
