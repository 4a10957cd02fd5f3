"""Tokens and cost per model call: the provider's counts, priced from settings, never invented."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ragloom.core.models.usage import UsageRecorder, price_of, total_usage, usage_line
from ragloom.core.settings import Price, load_settings


def test_prices_come_from_settings_local_is_free_and_unknown_is_not_priced(tmp_path) -> None:
    prices = load_settings(home=tmp_path, prices={"openai/gpt-4o-mini": {
        "prompt_per_m": 0.15, "completion_per_m": 0.6}}).prices
    assert price_of("openai/gpt-4o-mini", 1_000_000, 500_000, prices) == pytest.approx(0.45)
    assert price_of("local/qwen2.5-coder-0.5b", 10_000, 10_000, prices) == 0.0
    assert price_of("ollama/llama3.2", 10_000, 10_000, prices) == 0.0
    assert price_of("openai/gpt-5", 10, 10, prices) is None  # not zero: nobody said
    assert price_of("openai/gpt-4o-mini", 0, 0, prices, counted=False) is None
    with pytest.raises(ValueError):
        Price(prompt_per_m=-1)


def _model(*messages: AIMessage) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(messages))


def test_the_recorder_reads_each_calls_counts_and_marks_the_silent_ones() -> None:
    recorder = UsageRecorder("openai/gpt-4o-mini",
                             {"openai/gpt-4o-mini": Price(prompt_per_m=1.0, completion_per_m=2.0)})
    model = _model(AIMessage("a", usage_metadata={"input_tokens": 100, "output_tokens": 10,
                                                  "total_tokens": 110}),
                   AIMessage("b"))  # a host that reports nothing
    config = {"callbacks": [recorder], "metadata": {"langgraph_node": "generate_answer"}}
    model.invoke("q1", config=config)
    model.invoke("q2", config=config)
    usage = recorder.usage()
    first, second = usage.calls
    assert (first.prompt_tokens, first.completion_tokens, first.counted) == (100, 10, True)
    assert first.node == "generate_answer" and first.cost_usd == pytest.approx(120 / 1e6)
    assert (second.counted, second.prompt_tokens, second.cost_usd) == (False, 0, None)
    dumped = usage.model_dump()
    assert dumped["total_tokens"] == 110 and dumped["uncounted_calls"] == 1
    assert dumped["cost_usd"] is None  # one unpriced call: no partial sum shown as the cost


def test_totals_over_answers_and_the_line_that_shows_them() -> None:
    rows = [{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
             "cost_usd": 0.001, "uncounted_calls": 0},
            {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55, "cost_usd": 0.0005,
             "uncounted_calls": 1}, {}]
    total = total_usage(rows)
    assert total == {"answers": 2, "prompt_tokens": 150, "completion_tokens": 25,
                     "total_tokens": 175, "cost_usd": pytest.approx(0.0015), "uncounted_calls": 1}
    assert usage_line(total) == ("175 tokens (150 prompt + 25 completion) · $0.0015 estimated "
                                 "· 1 calls uncounted")
    assert "not priced" in usage_line(total_usage([{**rows[0], "cost_usd": None}]))
