"""Asking a question: the one entry point the CLI, the UI and the API share."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator
from typing import Any

from langgraph.errors import GraphRecursionError
from langgraph.types import Overwrite
from pydantic import BaseModel, Field

from ragloom.agents.calls import ANSWER_TAG
from ragloom.agents.citations import Citation
from ragloom.agents.claims import ClaimVerdict
from ragloom.agents.graphs import GraphBuilder, get_graph_builder
from ragloom.agents.state import RagContext, Turn
from ragloom.agents.traces import traces_of
from ragloom.core import metrics, telemetry
from ragloom.core.errors import ConfigError, RagloomError
from ragloom.core.models import get_chat_model, get_embeddings
from ragloom.core.models.cancel import AnswerStopped, Cancellation
from ragloom.core.models.reachability import model_call
from ragloom.core.models.spec import ModelSpec
from ragloom.core.models.usage import Usage, UsageRecorder
from ragloom.core.settings import Settings
from ragloom.core.storage.threads import checkpointer
from ragloom.prompts import prompt_store
from ragloom.retrieval.rerank import LLMReranker
from ragloom.retrieval.service import open_retriever

REDRAFT = "the draft was not supported by the documents: writing it again"
_TRACE_TEXT = 2000  # characters of each retrieved chunk kept in its trace (the trace view shows it)


class Answer(BaseModel):
    question: str
    answer: str
    refused: bool
    grounded: bool | None = Field(None, description="True only when the claim check supports "
                                  "enough claims (and no model judge disagreed); None: refusals")
    citations: list[Citation]
    claims: list[ClaimVerdict] = Field(default_factory=list,
                                       description="each claim of the answer, checked")
    dropped_citations: int = 0
    links_removed: int = Field(0, description="links/images removed: not in the question or sources")
    prompts: dict[str, str] = Field(description="role -> name@version of each prompt used")
    models: dict[str, str]
    model_calls: dict[str, int] = Field(default_factory=dict)
    collection: str
    graph: str
    route: str | None = None
    timings: dict[str, float] = Field(description="seconds per step, and total")
    trace_id: str | None = None
    thread: str | None = None
    experiment: dict[str, str] | None = Field(None, description="The live experiment this "
                                              "answer took part in: {id, variant}")
    usage: Usage = Field(default_factory=Usage, description="tokens and estimated cost of "
                         "each model call, from the provider's counts")


def build_context(settings: Settings, collection: str | None = None,
                  prompts: dict[str, str] | None = None,
                  where: dict[str, Any] | None = None) -> RagContext:
    """Build the models, store and retriever a graph run needs, from settings (the real
    ``agents.state.ContextFactory``)."""
    collection = collection or settings.collection
    specs = {"chat": ModelSpec.parse(settings.chat), "embedding": ModelSpec.parse(settings.embedding)}
    embeddings = get_embeddings(specs["embedding"], settings)
    a = settings.agent
    chat_model = get_chat_model(specs["chat"], settings)
    reranker = (LLMReranker(chat_model, specs["chat"].provider) if settings.retrieval.rerank
                else None)
    return RagContext(
        chat_model=chat_model,
        retriever=open_retriever(settings, collection, embeddings, reranker),
        prompts=prompt_store(settings), prompt_refs=dict(prompts or {}),
        prompt_label=settings.prompt_label,
        chat_provider=specs["chat"].provider, top_k=settings.retrieval.top_k,
        min_relevance=settings.retrieval.min_relevance, max_rewrites=a.max_rewrites,
        context_order=settings.retrieval.context_order,
        max_generations=a.max_generations, max_sub_questions=a.max_sub_questions,
        min_supported_share=a.min_supported_share, claim_threshold=a.claim_threshold,
        condense=a.condense, grade_with_model=_use_model(a.grade, specs["chat"]),
        ground_with_model=_use_model(a.ground, specs["chat"]),
        collection=collection, where=where,
        model_guard=lambda role: model_call(specs[role], settings, role),
    )


def _use_model(policy: str, chat: ModelSpec) -> bool:
    """'auto' spends a call on grading or grounding only with a server model: the embedded
    ones judged worse than the scores and the claim check they would second-guess."""
    return policy == "model" or (policy == "auto" and chat.provider != "local")


def check_question(question: str, settings: Settings) -> None:
    """Refuse a question over ``agent.max_question_chars``: the one limit every interface shows."""
    limit = settings.agent.max_question_chars
    if len(question) > limit:
        raise ConfigError(f"the question is {len(question):,} characters, over the limit of "
                          f"{limit:,}", subject=question[:60],
                          fix=f"ask a shorter question (at most {limit:,} characters), or raise "
                          "agent.max_question_chars")


def prompt_overrides(refs: list[str] | None) -> dict[str, str]:
    """``["answer@2", "grade:staging"]`` -> ``{"answer": "answer@2", "grade": "grade:staging"}``."""
    return {ref.split("@")[0].split(":")[0]: ref for ref in refs or []}


@contextlib.contextmanager
def _graph(settings: Settings, build: GraphBuilder, thread: str | None) -> Iterator[Any]:
    if thread is None:
        compiled = build()
        compiled.step_timeout = settings.agent.step_timeout_s
        yield compiled
        return
    with checkpointer(settings.home, settings.database) as saver:
        compiled = build(checkpointer=saver)
        compiled.step_timeout = settings.agent.step_timeout_s
        yield compiled


def _config(settings: Settings, thread: str | None, callbacks: list[Any]) -> dict[str, Any]:
    # Every node and model call below reports to the callbacks (usage, OpenTelemetry spans).
    config: dict[str, Any] = {"recursion_limit": settings.agent.step_budget,
                              "callbacks": callbacks}
    if thread:
        config["configurable"] = {"thread_id": thread}
    return config


def _to_answer(question: str, state: dict[str, Any], settings: Settings, ctx: RagContext,
               graph: str, total: float, thread: str | None,
               experiment: dict[str, str] | None = None, usage: Usage | None = None,
               transcripts: list[dict[str, Any]] | None = None) -> Answer:
    timings: dict[str, float] = {}
    for s in state.get("steps", []):
        timings[s["node"]] = timings.get(s["node"], 0.0) + s.get("seconds", 0.0)
    answer = Answer(
        question=question, answer=state.get("answer", ""), refused=state.get("refused", False),
        grounded=state.get("grounded"), citations=state.get("citations", []),
        claims=state.get("claims", []),
        dropped_citations=state.get("dropped_citations", 0), prompts=state.get("prompts", {}),
        links_removed=state.get("links_removed", 0),
        models={"chat": settings.chat, "embedding": settings.embedding},
        model_calls=state.get("model_calls", {}), collection=ctx.collection, graph=graph,
        route=state.get("route"), timings={**timings, "total": total}, thread=thread,
        experiment=experiment, usage=usage or Usage(),
    )
    trace = {**answer.model_dump(mode="json"), "steps": state.get("steps", []),
             "retrieved": [{"id": h.id, "source": h.source, "page": h.page, "score": h.score,
                            "fused_score": h.fused_score, "lexical_score": h.lexical_score,
                            "text": h.text[:_TRACE_TEXT]}
                           for h in state.get("retrieved", [])],
             "transcripts": transcripts or [],
             "kept": [h.id for h in state.get("sources", [])],
             "sub_answers": [{"question": s["question"], "answer": s["answer"]}
                             for s in state.get("sub_answers", [])]}
    answer.trace_id = traces_of(settings).save(trace)
    return answer


def ask(question: str, settings: Settings, *, collection: str | None = None,
        prompts: dict[str, str] | None = None, graph: str | None = None,
        thread: str | None = None, where: dict[str, Any] | None = None,
        context: RagContext | None = None, from_turn: int | None = None) -> Answer:
    return next(a for kind, a in ask_stream(question, settings, collection=collection,
                                           prompts=prompts, graph=graph, thread=thread,
                                           where=where, context=context, from_turn=from_turn)
                if kind == "answer")


def ask_stream(question: str, settings: Settings, *, collection: str | None = None,
               prompts: dict[str, str] | None = None, graph: str | None = None,
               thread: str | None = None, where: dict[str, Any] | None = None,
               context: RagContext | None = None,
               history: list[Turn] | None = None,
               experiment: dict[str, str] | None = None,
               trace_parent: dict[str, str] | None = None,
               from_turn: int | None = None) -> Iterator[tuple[str, Any]]:
    """Yield ("step", text) and ("token", text) while running, then ("answer", Answer).

    ``from_turn`` (with ``thread``) answers ``question`` as that turn of the conversation (0 is
    the first): the turns from there on are forgotten by the conversation's memory and leave
    its chat (their traces stay). The last turn's index regenerates it; an earlier one edits
    and resends that question.

    ``experiment`` ({id, variant}) is recorded with the answer and its trace, for the
    experiment's report (``ragloom.evals.experiments``).

    ``trace_parent`` (W3C ``traceparent``/``tracestate`` headers) makes the answer's
    OpenTelemetry span a child of the caller's, when telemetry is on (``core.telemetry``).

    ``history`` gives earlier turns the caller kept itself (an OpenAI-style message list);
    ``thread`` lets ragloom keep them. Either way a follow-up is condensed before retrieval.

    Tokens come only from model calls tagged as writing the answer (``agents.calls.chat(...,
    answer=True)``; not from the JSON of grading or routing); an
    ("answer-reset", reason) event, sent when a later answer step starts streaming, tells a UI
    to clear the tokens it showed so far.
    """
    check_question(question, settings)  # before any model or store is touched
    if from_turn is not None and not thread:
        raise ConfigError("from_turn needs the conversation's thread", subject=f"turn {from_turn}",
                          fix="pass thread= with from_turn=")
    graph = graph or settings.agent.graph
    build = get_graph_builder(graph)  # an unknown graph fails here, before any model loads
    ctx = context or build_context(settings, collection=collection, prompts=prompts, where=where)
    start = time.perf_counter()
    state: dict[str, Any] = {}
    drafted = None  # the graph step whose answer tokens were streamed last
    recorder = UsageRecorder(settings.chat, settings.prices)
    tracer = telemetry.tracer(settings)  # None when telemetry is off: no span, no handler
    span = _answer_span(tracer, ctx, graph, trace_parent)
    stopper = Cancellation()  # closing this generator stops the model call in flight
    callbacks: list[Any] = [recorder, stopper]
    if span is not None:
        callbacks.append(telemetry.SpanRecorder(tracer, span, settings.chat,
                                                settings.otel.capture_content))
    answer = None
    metrics.in_flight.inc()
    try:
        with _graph(settings, build, thread) as compiled:
            start_state: dict[str, Any] = {"question": question}
            if history:
                start_state["history"] = list(history)
            config = _config(settings, thread, callbacks)
            replaced: list[str] = []
            if from_turn is not None:
                kept, replaced = _rewind(compiled, config, settings, thread or "", from_turn)
                start_state["history"] = Overwrite(kept)
            stream = compiled.stream(start_state, config, context=ctx,
                                     stream_mode=["custom", "messages", "values"])
            with _stopped_on_exit(stream, stopper):
                for mode, payload in stream:
                    if mode == "custom":
                        yield "step", payload.get("text", "")
                    elif mode == "messages":
                        chunk, meta = payload
                        if chunk.content and ANSWER_TAG in (meta.get("tags") or ()):
                            # Tokens from a later answer step: the streamed draft is replaced.
                            if drafted is not None and meta.get("langgraph_step") != drafted:
                                yield "answer-reset", REDRAFT
                            drafted = meta.get("langgraph_step")
                            yield "token", str(chunk.content)
                    else:
                        state = payload
        answer = _to_answer(question, state, settings, ctx, graph, time.perf_counter() - start,
                            thread, experiment, recorder.usage(), recorder.transcripts())
        if replaced and answer.trace_id:
            traces_of(settings).replace_turns(replaced, answer.trace_id)
    except GraphRecursionError as exc:
        error: BaseException = RagloomError(
            f"the question used up its step budget ({settings.agent.step_budget})",
            subject=question[:80], fix="raise agent.step_budget, or report the loop")
        _finish(span, graph, start, None, state, error)
        raise error from exc
    except BaseException as exc:  # GeneratorExit too: a dropped stream still ends its span
        _finish(span, graph, start, None, state, exc)
        raise
    _finish(span, graph, start, answer, state, None)
    yield "answer", answer


def _rewind(compiled: Any, config: dict[str, Any], settings: Settings, thread: str,
            turn: int) -> tuple[list[Turn], list[str]]:
    """(the conversation's turns before ``turn``, the trace ids of the turns it replaces)."""
    history = list((compiled.get_state(config).values or {}).get("history") or [])
    if not 0 <= turn <= len(history):
        raise RagloomError(f"turn {turn} is not in this conversation (it has {len(history)})",
                           subject=thread, fix=f"use a turn from 0 to {len(history)}")
    turns = traces_of(settings).chat_turns(thread)
    return history[:turn], [t["id"] for t in turns[turn:]]


@contextlib.contextmanager
def _stopped_on_exit(stream: Generator[Any, None, None], stopper: Cancellation) -> Iterator[None]:
    """A caller that drops the answer (GeneratorExit, a Stop button's rerun) stops the model
    first, then closes the graph's stream, which waits for its worker threads to end."""
    try:
        yield
    except BaseException:
        stopper.stop()
        raise
    finally:
        with contextlib.suppress(AnswerStopped):
            stream.close()


def _answer_span(tracer: Any, ctx: RagContext, graph: str,
                 trace_parent: dict[str, str] | None) -> Any:
    if tracer is None:
        return None
    return tracer.start_span("ragloom.ask", context=telemetry.parent_context(trace_parent),
                             attributes={"gen_ai.operation.name": "invoke_agent",
                                         "gen_ai.agent.name": f"ragloom:{graph}",
                                         "openinference.span.kind": "AGENT",
                                         "ragloom.collection": ctx.collection,
                                         "ragloom.graph": graph})


def _finish(span: Any, graph: str, start: float, answer: Answer | None, state: dict[str, Any],
            error: BaseException | None) -> None:
    """Count the answer (Prometheus) and end its span with what was answered, or the error."""
    metrics.in_flight.dec()
    outcome = "error" if answer is None else "refused" if answer.refused else "answered"
    if not isinstance(error, GeneratorExit):  # a client that left is not an error of ours
        metrics.record_answer(graph, outcome, time.perf_counter() - start, state.get("steps", []),
                              answer.usage.calls if answer else [])
    if span is None:
        return
    if state.get("retrieved"):
        span.set_attributes(telemetry.retrieval_attributes(state["retrieved"]))
    if answer is not None:
        u = answer.usage
        span.set_attributes({
            "ragloom.trace_id": answer.trace_id or "", "ragloom.refused": answer.refused,
            "ragloom.grounded": "not checked" if answer.grounded is None else str(answer.grounded),
            "ragloom.prompts": [str(p) for p in answer.prompts.values()],
            "ragloom.citations": len(answer.citations),
            "ragloom.dropped_citations": answer.dropped_citations,
            "gen_ai.usage.input_tokens": u.prompt_tokens,
            "gen_ai.usage.output_tokens": u.completion_tokens,
            **({"ragloom.cost_usd": u.cost_usd} if u.cost_usd is not None else {})})
    if error is not None and not isinstance(error, GeneratorExit):
        from opentelemetry.trace import Status, StatusCode

        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:200]))
    span.end()


def search_traces(settings: Settings, **filters: Any) -> list[dict[str, Any]]:
    """Recent traces matching ``TraceStore.search``'s filters (text, collection, graph, rating,
    refused, limit)."""
    return traces_of(settings).search(**filters)


def trace_facets(settings: Settings) -> tuple[list[str], list[str]]:
    return traces_of(settings).facets()


def get_trace(settings: Settings, trace_id: str) -> dict[str, Any]:
    trace = traces_of(settings).get(trace_id)
    if trace is None:
        raise RagloomError(f"no trace '{trace_id}'", fix="see `ragloom trace --list`")
    return trace


def rate_answer(settings: Settings, trace_id: str, rating: str, comment: str = "") -> None:
    """Record a thumbs up/down (and comment) on an answer; it becomes eval data later."""
    try:
        traces_of(settings).rate(trace_id, rating, comment)
    except KeyError:
        raise RagloomError(f"no trace '{trace_id}'", fix="rate an answer that was asked here") from None
    except ValueError as exc:
        raise RagloomError(str(exc), subject=trace_id, fix="use 'up' or 'down'") from None


def rated_answers(settings: Settings, rating: str | None = None) -> list[dict[str, Any]]:
    return traces_of(settings).feedback(rating)


def recent_trace_bodies(settings: Settings, limit: int = 500) -> list[dict[str, Any]]:
    return traces_of(settings).recent_bodies(limit)


