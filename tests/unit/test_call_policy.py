"""Calls that cannot change the outcome are skipped: condensing a stand-alone follow-up, and
(by setting, 'auto' for the embedded models) grading and the model's grounding verdict."""

from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ragloom.agents.followups import needs_conversation
from ragloom.agents.service import _use_model, ask, ask_stream, get_trace
from ragloom.core.models.spec import ModelSpec
from tests.fakes import scripted_chat
from tests.unit.test_agent_graphs import OOLONG, _ctx, col  # noqa: F401  (fixture)

J = json.dumps
HISTORY = [{"question": OOLONG, "answer": "At 85 degrees Celsius [1]."}]


@pytest.mark.parametrize("question", [
    "How many times can it be steeped?",  # refers back
    "And the green one?",  # short, starts like a follow-up
    "What about the temperature for that?",
    "How long should the leaves steep?",  # names nothing a search could find alone
])
def test_questions_that_lean_on_the_conversation_are_condensed(question: str) -> None:
    assert needs_conversation(question)


@pytest.mark.parametrize("question", [
    "What temperature should I brew the Oolong at?",
    "When was the Zephyr Kite Club founded by Marta Okonkwo?",
    "How much did shipping to Canada cost in 2023?",
])
def test_questions_that_stand_alone_are_not(question: str) -> None:
    assert not needs_conversation(question)


def _follow_up(settings, context):  # type: ignore[no-untyped-def]
    events = ask_stream("How many times can Oolong leaves be steeped?", settings, graph="simple",
                        context=context, history=HISTORY)
    return [a for kind, a in events if kind == "answer"][0]


def _steps(settings, answer) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return {s["node"]: s for s in get_trace(settings, answer.trace_id)["steps"]}


def test_a_stand_alone_follow_up_costs_no_condense_call(col, settings) -> None:  # noqa: F811
    a = _follow_up(settings, _ctx(col, scripted_chat("Up to five times [1].")))
    assert a.model_calls == {"chat": 1} and "condense" not in a.prompts
    assert _steps(settings, a)["start_turn"]["condensed"] is False


def test_condense_always_still_condenses(col, settings) -> None:  # noqa: F811
    chat = scripted_chat(J({"question": "How many times can Oolong leaves be steeped?"}),
                         "Up to five times [1].")
    a = _follow_up(settings, _ctx(col, chat, condense="always"))
    assert a.model_calls == {"chat": 2} and a.prompts["condense"].startswith("condense@")


def test_corrective_without_model_grading_and_grounding_makes_one_call(col, settings) -> None:  # noqa: F811
    chat = scripted_chat("Brew it at 85 degrees Celsius [1].")
    a = ask(OOLONG, settings, graph="corrective",
            context=_ctx(col, chat, grade_with_model=False, ground_with_model=False))
    assert a.model_calls == {"chat": 1} and a.grounded is True and not a.refused
    steps = _steps(settings, a)
    assert "no model call" in steps["grade_documents"]["skipped"]
    assert "claim check decides" in steps["check_grounding"]["skipped"]


def test_without_the_model_an_unsupported_answer_is_still_declined(col, settings) -> None:  # noqa: F811
    chat = scripted_chat("Brew it at 99 degrees on the moon [1].", "It is 99 degrees [1].")
    a = ask(OOLONG, settings, graph="corrective",
            context=_ctx(col, chat, grade_with_model=False, ground_with_model=False))
    assert a.refused and a.grounded is False and a.model_calls == {"chat": 2}


@pytest.mark.parametrize(("policy", "chat", "expected"), [
    ("auto", "local/qwen2.5-coder-0.5b", False), ("auto", "openai/gpt-4o-mini", True),
    ("auto", "ollama/llama3.2", True), ("model", "local/qwen2.5-coder-0.5b", True),
    ("scores", "openai/gpt-4o-mini", False), ("claims", "ollama/llama3.2", False)])
def test_auto_uses_the_model_only_for_server_models(policy: str, chat: str, expected: bool) -> None:
    assert _use_model(policy, ModelSpec.parse(chat)) is expected


def test_best_last_shows_the_closest_chunk_next_to_the_question(col, settings) -> None:  # noqa: F811
    seen: list[str] = []

    class Recording(GenericFakeChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
            seen.append(str(messages[-1].content))
            return super()._generate(messages, stop, run_manager, **kw)

    def prompt_with(order: str) -> str:
        seen.clear()
        chat = Recording(messages=iter([AIMessage(content="Brew it at 85 degrees Celsius [1].")]))
        ask(OOLONG, settings, graph="simple", context=_ctx(col, chat, context_order=order))
        return seen[0]

    first, last = prompt_with("best-first"), prompt_with("best-last")
    assert first.index("tea-guide.pdf") < first.index("[2]")  # the best chunk is [1], on top
    assert last.rindex("tea-guide.pdf") > last.rindex("[1]")  # ... or the last one shown
