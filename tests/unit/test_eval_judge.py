"""The judge guard: timeouts and errors retried a bounded number of times; a prompt too long for
the judge's context fails at once with what to change; the reason names the real error."""

from __future__ import annotations

import asyncio

import pytest
from instructor.core.exceptions import FailedAttempt, InstructorRetryException
from pydantic import BaseModel

from ragloom.evals.judge import GuardedLLM, JudgeError


class Verdict(BaseModel):
    ok: bool


class Scripted:
    """An inner Ragas LLM that raises the scripted errors, then answers."""

    def __init__(self, *errors: BaseException, delay_s: float = 0.0):
        self.errors, self.delay_s, self.calls = list(errors), delay_s, 0

    async def agenerate(self, prompt: str, response_model: type[Verdict]) -> Verdict:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.errors:
            raise self.errors.pop(0)
        return response_model(ok=True)


def _guarded(inner: Scripted, timeout_s: float = 5.0) -> GuardedLLM:
    return GuardedLLM(inner, timeout_s=timeout_s, attempts=2)  # type: ignore[arg-type]


def _wrapped(error: Exception) -> InstructorRetryException:
    """How instructor reports a call that failed on every one of its own attempts."""
    return InstructorRetryException("<failed_attempts>…</failed_attempts>", n_attempts=4,
                                    total_usage=0, failed_attempts=[FailedAttempt(4, error, None)])


def test_a_failed_call_is_retried_then_answers() -> None:
    inner = Scripted(ValueError("bad JSON"))
    assert asyncio.run(_guarded(inner).agenerate("p", Verdict)).ok and inner.calls == 2


def test_timeouts_are_retried_a_bounded_number_of_times() -> None:
    inner = Scripted(delay_s=1.0)
    llm = _guarded(inner, timeout_s=0.05)
    with pytest.raises(JudgeError, match="failed 2 time") as caught:
        asyncio.run(llm.agenerate("p", Verdict))
    assert "timed out" in str(caught.value) and llm.calls == 2


def test_a_prompt_over_the_context_fails_at_once_naming_the_real_error() -> None:
    overflow = RuntimeError("Error code: 400 - This model's maximum context length is 4096 "
                            "tokens. However, you requested 5626 tokens")
    inner = Scripted(_wrapped(overflow), _wrapped(overflow))
    with pytest.raises(JudgeError, match="longer than the judge model's context") as caught:
        asyncio.run(_guarded(inner).agenerate("p", Verdict))
    assert inner.calls == 1  # the same prompt would overflow again
    assert "5626 tokens" in str(caught.value) and "<failed_attempts>" not in str(caught.value)
    assert "RAGLOOM_LOCAL__N_CTX" in caught.value.fix


def test_other_wrapped_errors_show_what_went_wrong() -> None:
    inner = Scripted(_wrapped(ValueError("field 'ok' missing")), _wrapped(ValueError("again")))
    with pytest.raises(JudgeError, match="ValueError: again"):
        asyncio.run(_guarded(inner).agenerate("p", Verdict))
