"""The public Python API behind ``import ragloom``: thin functions over the same services the CLI,
the web app and the HTTP API call. ``settings=None`` resolves exactly as the CLI does: defaults <
``ragloom.toml`` (in the working directory) < ``RAGLOOM_*`` environment variables."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ragloom.agents.service import Answer
from ragloom.agents.state import Turn
from ragloom.core.errors import ConfigError
from ragloom.core.settings import Settings, load_settings
from ragloom.retrieval.ingest import IngestReport, Record


@dataclass(frozen=True)
class StepEvent:
    """A graph step started ("retrieving for: …", "grading 4 chunks")."""

    text: str
    kind: Literal["step"] = "step"


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the answer as the model writes it."""

    text: str
    kind: Literal["token"] = "token"


@dataclass(frozen=True)
class AnswerResetEvent:
    """The answer streamed so far failed its check and is being written again: clear it."""

    reason: str
    kind: Literal["answer-reset"] = "answer-reset"


@dataclass(frozen=True)
class AnswerEvent:
    """The final, checked answer (always the last event)."""

    answer: Answer
    kind: Literal["answer"] = "answer"


Event = StepEvent | TokenEvent | AnswerResetEvent | AnswerEvent


def _resolved(settings: Settings | None) -> Settings:
    return settings if settings is not None else load_settings()


def _prompt_pins(prompts: Mapping[str, str] | Sequence[str] | None) -> dict[str, str] | None:
    """``{"answer": "answer@2"}`` or ``["answer@2", "grade:staging"]``."""
    from ragloom.agents.service import prompt_overrides

    if prompts is None or isinstance(prompts, Mapping):
        return dict(prompts) if prompts is not None else None
    if isinstance(prompts, str):
        raise ConfigError("prompts must be a list of refs or a mapping, not one string",
                          subject=prompts, fix='pass ["answer@2"] or {"answer": "answer@2"}')
    return prompt_overrides(list(prompts))


def ask_stream(question: str, *, collection: str | None = None, graph: str | None = None,
               prompts: Mapping[str, str] | Sequence[str] | None = None,
               where: dict[str, Any] | None = None, history: list[Turn] | None = None,
               thread: str | None = None, settings: Settings | None = None,
               from_turn: int | None = None) -> Iterator[Event]:
    """Answer ``question`` step by step: ``StepEvent``/``TokenEvent`` while it runs,
    ``AnswerResetEvent`` when a draft is thrown away, then one ``AnswerEvent``.

    ``history`` is earlier turns you kept (``[{"question": …, "answer": …}]``); ``thread`` lets
    ragloom keep them instead. ``from_turn`` (with ``thread``) answers as that turn (0 first),
    forgetting it and the turns after: regenerate, or edit and resend. ``where`` is a metadata
    filter (see docs/api.md). Closing the iterator early stops the model call in flight.
    """
    from ragloom.agents import service
    from ragloom.retrieval.where import validate_where

    s = _resolved(settings)
    for kind, value in service.ask_stream(question, s, collection=collection, graph=graph,
                                          prompts=_prompt_pins(prompts),
                                          where=validate_where(where), thread=thread,
                                          history=history, from_turn=from_turn):
        if kind == "answer":
            yield AnswerEvent(value)
        elif kind == "answer-reset":
            yield AnswerResetEvent(value)
        elif kind == "token":
            yield TokenEvent(value)
        else:
            yield StepEvent(value)


def ask(question: str, *, collection: str | None = None, graph: str | None = None,
        prompts: Mapping[str, str] | Sequence[str] | None = None,
        where: dict[str, Any] | None = None, history: list[Turn] | None = None,
        thread: str | None = None, settings: Settings | None = None,
        from_turn: int | None = None) -> Answer:
    """Answer ``question`` from ``collection`` (default: ``settings.collection``) and return the
    checked ``Answer``: text, citations, claim verdicts, ``grounded``/``refused``, trace id."""
    for event in ask_stream(question, collection=collection, graph=graph, prompts=prompts,
                            where=where, history=history, thread=thread, settings=settings,
                            from_turn=from_turn):
        if isinstance(event, AnswerEvent):
            return event.answer
    raise AssertionError("ask_stream ended without an answer")  # pragma: no cover


def ingest(paths_or_records: Iterable[str | Path | Record], *, collection: str,
           settings: Settings | None = None, sync: bool = False) -> IngestReport:
    """Ingest files and folders (or ``Record`` objects: text you already have) into
    ``collection``, incrementally (unchanged content is skipped). ``sync=True`` also removes
    files that are gone from the given folders. Returns the report of what happened per file."""
    from ragloom.core.models import get_embeddings
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import ingest as ingest_files
    from ragloom.retrieval.ingest import ingest_records

    s = _resolved(settings)
    items = list(paths_or_records)
    records = [i for i in items if isinstance(i, Record)]
    paths = [Path(i) for i in items if isinstance(i, str | Path)]
    if len(records) + len(paths) != len(items):
        bad = next(i for i in items if not isinstance(i, str | Path | Record))
        raise ConfigError(f"cannot ingest a {type(bad).__name__}", subject=repr(bad)[:80],
                          fix="pass file or folder paths, or ragloom.Record objects")
    if records and paths:
        raise ConfigError("pass either paths or records in one call, not both",
                          fix="call ragloom.ingest once for each")
    col = Collection(s, collection, get_embeddings(s.embedding, s))
    if records:
        return ingest_records(records, col, namespace=collection)
    return ingest_files(paths, col, sync=sync, workers=s.retrieval.ingest_workers)


def evaluate(suite: str | Path, *, variants: Sequence[str] | None = None,
             graphs: Sequence[str] | None = None, limit: int | None = None,
             settings: Settings | None = None) -> list[dict[str, Any]]:
    """Run an evaluation suite (a shipped name or a YAML path) for each variant, e.g.
    ``variants=["answer@2", "answer@3"]`` and/or ``graphs=["simple", "corrective"]``; returns
    one stored run per variant (its summary and rows, as ``ragloom eval show`` prints them)."""
    from ragloom.evals.runs import get_run, run_suite, variants_from
    from ragloom.evals.suites import load_suite

    s = _resolved(settings)
    matrix = variants_from(prompts=list(variants or []), graphs=list(graphs or [])) \
        if variants or graphs else None
    ids = run_suite(load_suite(suite), s, matrix, limit=limit)
    return [get_run(s, run_id) for run_id in ids]


def register_graph(name: str, builder: Any) -> None:
    """Make ``builder(checkpointer=None) -> CompiledStateGraph`` answer as graph ``name``
    everywhere a graph is named (build it from :func:`ragloom.agents.graphs.new_graph` and
    ragloom's nodes, docs/agents.md). Another package can declare it instead, in the entry point
    group ``ragloom.graphs``."""
    from ragloom.agents.graphs import register_graph as register

    register(name, builder)


def as_retriever(collection: str, *, k: int = 4, where: dict[str, Any] | None = None,
                 settings: Settings | None = None) -> Any:
    """A LangChain ``BaseRetriever`` over ``collection`` (ragloom's hybrid search)."""
    from ragloom.integrations.langchain import RagloomRetriever

    return RagloomRetriever(collection=collection, k=k, where=where, settings=settings)


def sample_corpus() -> Path:
    """The folder of three small files that ships with ragloom (what ``make demo`` ingests)."""
    return Path(__file__).resolve().parent / "sample_corpus"
