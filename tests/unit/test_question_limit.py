"""One question limit (agent.max_question_chars), enforced and shown everywhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ragloom.agents.service import ask_stream
from ragloom.cli import app as cli_app
from ragloom.core.errors import ConfigError
from ragloom.ui.page_ask import HISTORY_KEY
from tests.unit.api_helpers import client, fill, key
from tests.unit.test_ui_support import app_test, fake_services, sample_collection

LIMIT = 50


@pytest.fixture
def limited(settings):  # type: ignore[no-untyped-def]
    settings.agent.max_question_chars = LIMIT
    return settings


def test_the_library_refuses_before_any_model_or_store(limited) -> None:
    limited.chat = "openai/unreachable"  # never built: the check comes first
    with pytest.raises(ConfigError, match="51 characters, over the limit of 50") as refused:
        next(ask_stream("x" * (LIMIT + 1), limited, collection="nowhere"))
    assert "agent.max_question_chars" in (refused.value.fix or "")


def test_the_cli_refuses_with_the_limit_and_the_fix(limited, tmp_path) -> None:
    result = CliRunner().invoke(cli_app, ["--home", str(limited.home), "ask", "y" * 80],
                                obj=None, env={"RAGLOOM_AGENT__MAX_QUESTION_CHARS": str(LIMIT)})
    assert isinstance(result.exception, ConfigError), result.output
    assert "over the limit of 50" in str(result.exception)
    assert "agent.max_question_chars" in str(result.exception)


@pytest.mark.parametrize("route", ["/ask", "/ask/stream", "/v1/chat/completions"])
def test_every_api_route_refuses_with_a_422(limited, route: str) -> None:
    fill(limited)
    long = "z" * (LIMIT + 1)
    body = ({"model": "ragloom:sample", "messages": [{"role": "user", "content": long}]}
            if route.startswith("/v1") else {"question": long, "collection": "sample"})
    with client(limited) as api:
        admin = key(limited, "admin")
        r = api.post(route, json=body, headers=admin)
        assert r.status_code == 422, r.text
        assert "over the limit of 50" in r.text and "agent.max_question_chars" in r.text
        if route == "/ask":  # at the limit is fine
            r = api.post(route, json={**body, "question": "z" * LIMIT, "graph": "simple"},
                         headers=admin)
            assert r.status_code == 200, r.text


def test_the_web_app_stops_at_the_limit_and_shows_a_counter(limited) -> None:
    sample_collection(limited)
    at = app_test(limited, fake_services("Brew it at 85 degrees Celsius [1]."))
    box = at.chat_input(key="ask-input")
    assert box.proto.max_chars == LIMIT  # the browser stops typing there and shows "n/50"
    box.set_value("What temperature for Oolong? " * 5).run()
    assert not at.exception, at.exception
    asked = at.session_state[HISTORY_KEY][0]["question"]
    assert len(asked) <= LIMIT
