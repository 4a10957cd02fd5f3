"""The LLM judge: Ragas' metrics (``ragas.metrics.collections``) over any OpenAI-compatible server.

``RagasJudge.score(metric, item, repeat)`` returns a float (NaN when the judge had nothing to
score) or raises ``JudgeError``. Every judge call goes through ``GuardedLLM``: a timeout, bounded
retries, a concurrency limit and a call counter (what the tests and the CLI report).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # before ragas is imported anywhere

from pydantic import BaseModel  # noqa: E402
from ragas.embeddings.base import BaseRagasEmbedding  # noqa: E402
from ragas.llms.base import InstructorBaseRagasLLM  # noqa: E402

from ragloom.core.errors import RagloomError  # noqa: E402

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


class JudgeError(RagloomError):
    """The judge could not score a row (timeout, server error, unparseable output)."""


@dataclass(frozen=True)
class JudgeInput:
    question: str
    answer: str
    contexts: tuple[str, ...]
    reference: str | None


class Judge(Protocol):
    model_id: str
    calls: int

    async def score(self, metric: str, item: JudgeInput, repeat: int) -> float: ...


class GuardedLLM(InstructorBaseRagasLLM):
    """Wraps a Ragas LLM: timeout per call, bounded retries, a shared semaphore, a call count."""

    def __init__(self, inner: InstructorBaseRagasLLM, *, timeout_s: float, attempts: int,
                 limit: asyncio.Semaphore | None = None):
        self.inner, self.timeout_s, self.attempts, self.limit = inner, timeout_s, attempts, limit
        self.calls = 0

    def generate(self, prompt: str, response_model: type[T]) -> T:  # pragma: no cover - sync API
        return asyncio.run(self.agenerate(prompt, response_model))

    async def agenerate(self, prompt: str, response_model: type[T]) -> T:
        error: BaseException | None = None
        for attempt in range(1, self.attempts + 1):
            self.calls += 1
            try:
                if self.limit is None:
                    return await asyncio.wait_for(self.inner.agenerate(prompt, response_model),
                                                  self.timeout_s)
                async with self.limit:
                    return await asyncio.wait_for(self.inner.agenerate(prompt, response_model),
                                                  self.timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # timeouts, HTTP errors, JSON the schema rejects
                error = exc
                log.info("judge call %d/%d failed: %s", attempt, self.attempts, _brief(exc))
                if _over_context(exc):  # the same prompt would overflow again: do not retry
                    raise JudgeError(
                        "the judge prompt (question, answer and contexts) is longer than the "
                        f"judge model's context window: {_brief(exc)}",
                        fix="raise local.n_ctx (e.g. RAGLOOM_LOCAL__N_CTX=8192) for the "
                        "embedded judge, use a judge with a longer context, or lower "
                        "retrieval.top_k") from exc
        raise JudgeError(f"the judge failed {self.attempts} time(s): {_brief(error)}",
                         fix="raise --judge-timeout, or use a larger judge model")


def _root(exc: BaseException) -> BaseException:
    """The error behind instructor's retry wrapper (its message only lists the attempts)."""
    attempts = getattr(exc, "failed_attempts", None)
    return _root(attempts[-1].exception) if attempts else exc


def _over_context(exc: BaseException) -> bool:
    text = str(_root(exc)).lower()
    return "context_length_exceeded" in text or "maximum context length" in text


def _brief(exc: BaseException | None) -> str:
    exc = _root(exc) if exc is not None else None
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip().splitlines()[0][:160] if exc and str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class LangChainRagasEmbeddings(BaseRagasEmbedding):
    """Our embedding models (MiniLM by default) as Ragas embeddings, for answer relevancy."""

    def __init__(self, embeddings: Embeddings):
        super().__init__()
        self.embeddings = embeddings

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embeddings.embed_query(text)

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return await asyncio.to_thread(self.embeddings.embed_query, text)

    def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return self.embeddings.embed_documents(texts)

    async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return await asyncio.to_thread(self.embeddings.embed_documents, texts)


def _metric(name: str, llm: InstructorBaseRagasLLM, embeddings: BaseRagasEmbedding) -> Any:
    from ragas.metrics import collections as m

    if name == "faithfulness":
        return m.Faithfulness(llm=llm)
    if name == "answer_relevancy":
        # One generated question, not Ragas' three: at temperature 0 they are the same question,
        # and each costs a 10-30 s call with a small local judge.
        return m.AnswerRelevancy(llm=llm, embeddings=embeddings, strictness=1)
    if name == "context_precision":
        return m.ContextPrecision(llm=llm)
    if name == "context_recall":
        return m.ContextRecall(llm=llm)
    if name == "answer_correctness":
        return m.AnswerCorrectness(llm=llm, embeddings=embeddings)
    raise KeyError(name)


async def _ascore(metric: Any, name: str, item: JudgeInput) -> float:
    ctx = list(item.contexts)
    kwargs: dict[str, Any] = {
        "faithfulness": {"user_input": item.question, "response": item.answer,
                         "retrieved_contexts": ctx},
        "answer_relevancy": {"user_input": item.question, "response": item.answer},
        "context_precision": {"user_input": item.question, "reference": item.reference,
                              "retrieved_contexts": ctx},
        "context_recall": {"user_input": item.question, "retrieved_contexts": ctx,
                           "reference": item.reference},
        "answer_correctness": {"user_input": item.question, "response": item.answer,
                               "reference": item.reference},
    }[name]
    result = await metric.ascore(**kwargs)
    return float(result.value)


@functools.cache
def prompt_fingerprint(metric: str) -> str:
    """Changes when Ragas' prompts or settings for ``metric`` change (part of the cache key).

    Computed from a probe metric that never calls a judge, so a fully cached run builds none.
    """
    import ragas

    probe = _metric(metric, _NeverLLM(), _NeverEmbeddings())
    parts = [ragas.__version__, type(probe).__qualname__,
             json.dumps({k: v for k, v in vars(probe).items()
                         if isinstance(v, (int, float, str, list, tuple))}, default=str)]
    for value in vars(probe).values():
        if hasattr(value, "instruction"):
            parts += [type(value).__qualname__, str(value.instruction),
                      repr(getattr(value, "examples", ""))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class RagasJudge:
    """Scores rows with Ragas metrics through ``llm_for(repeat)`` (a Ragas LLM per repeat)."""

    def __init__(self, model_id: str, llm_for: Any, embeddings: Embeddings, *,
                 timeout_s: float = 300.0, attempts: int = 2, concurrency: int = 1):
        self.model_id = model_id
        self._llm_for = llm_for
        self._embeddings = LangChainRagasEmbeddings(embeddings)
        self._timeout_s, self._attempts = timeout_s, attempts
        self._limit: asyncio.Semaphore | None = None
        self._concurrency = concurrency
        self._guards: list[GuardedLLM] = []

    @property
    def calls(self) -> int:
        return sum(g.calls for g in self._guards)

    async def score(self, metric: str, item: JudgeInput, repeat: int) -> float:
        if self._limit is None:  # created inside the running loop
            self._limit = asyncio.Semaphore(self._concurrency)
        guard = GuardedLLM(self._llm_for(repeat), timeout_s=self._timeout_s,
                           attempts=self._attempts, limit=self._limit)
        self._guards.append(guard)
        try:
            return await _ascore(_metric(metric, guard, self._embeddings), metric, item)
        except JudgeError:
            raise
        except Exception as exc:  # Ragas' own checks and parsing of judge output
            raise JudgeError(f"{metric} could not be scored: {_brief(exc)}") from exc


class _NeverLLM(InstructorBaseRagasLLM):
    """Stands in while a metric is built only to fingerprint its prompts."""

    def generate(self, prompt: str, response_model: type[T]) -> T:
        raise AssertionError("fingerprint probes never call the judge")

    async def agenerate(self, prompt: str, response_model: type[T]) -> T:
        raise AssertionError("fingerprint probes never call the judge")


class _NeverEmbeddings(BaseRagasEmbedding):
    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        raise AssertionError("fingerprint probes never embed")

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        raise AssertionError("fingerprint probes never embed")
