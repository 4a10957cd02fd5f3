"""Every route and bound of the corrective and adaptive graphs, with scripted fake models."""

from __future__ import annotations

import json

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ragloom.agents.multihop import multi_hop_cue, usable_sub_questions
from ragloom.agents.service import ask, ask_stream, get_trace
from ragloom.agents.state import RagContext
from ragloom.core.errors import ModelUnavailableError, RagloomError
from ragloom.core.models.reachability import model_call
from ragloom.core.models.spec import ModelSpec
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import scripted_chat

J = json.dumps
OOLONG = "What temperature should I brew the Oolong at?"


@pytest.fixture
def col(settings, fake_embeddings) -> Collection:
    col = Collection(settings, "agents", fake_embeddings)
    ingest([SAMPLE_CORPUS], col, workers=1)
    return col


def _ctx(col: Collection, chat, **kw) -> RagContext:
    retriever = HybridRetriever(col.store, col.store.embeddings, LexicalIndex.load(col.lexical_dir))
    return RagContext(chat_model=chat, retriever=retriever, collection=col.name,
                      chat_provider="fake", **kw)


class ConstantChat(GenericFakeChatModel):
    """Answers every call with the same text, however often it is asked."""

    reply: str = ""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def]
        from langchain_core.outputs import ChatGeneration, ChatResult

        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])


def test_corrective_happy_path(col, settings) -> None:
    chat = scripted_chat(J({"relevant": [1]}), "Brew it at 85 degrees Celsius [1].",
                         J({"grounded": True, "unsupported": []}))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert not a.refused and a.grounded is True and "85" in a.answer
    assert a.citations[0].source.endswith("tea-guide.pdf")
    assert a.model_calls == {"chat": 3}
    assert set(a.prompts) == {"grade", "answer", "ground"}


def test_nothing_relevant_rewrites_once_then_declines(col, settings) -> None:
    chat = scripted_chat(J({"relevant": []}), J({"query": "oolong brewing degrees"}),
                         J({"relevant": []}))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.refused and a.answer.startswith("I don't know") and a.citations == []
    assert a.model_calls == {"chat": 3}
    assert "tea-guide.pdf" in a.answer  # says what it found


def test_model_that_always_says_not_relevant_terminates(col, settings) -> None:
    chat = ConstantChat(messages=iter([]), reply=J({"relevant": [], "query": "again"}))
    a = ask(OOLONG, settings, context=_ctx(col, chat, max_rewrites=3), graph="corrective")
    # one grading, then three rewrites; "again" matches nothing, so there is nothing to grade
    assert a.refused and a.model_calls["chat"] == 4
    assert a.timings["rewrite_query"] > 0 and a.timings["decline_answer"] >= 0


def test_ungrounded_answer_is_regenerated_once_then_declined(col, settings) -> None:
    # The claim check fails both drafts: no grounding call is spent on either.
    chat = scripted_chat(J({"relevant": [1]}), "Brew it on the moon.", "Brew it on the moon again.")
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.refused and a.grounded is False and a.citations == []
    assert a.answer == 'I don\'t know: the documents do not say that "brew it on the moon again".'
    assert a.model_calls == {"chat": 3} and "ground" not in a.prompts


def test_model_judge_that_downgrades_a_checked_answer_is_believed(col, settings) -> None:
    bad = J({"grounded": False, "unsupported": ["85 degrees"]})
    chat = scripted_chat(J({"relevant": [1]}), "Brew it at 85 degrees Celsius [1].", bad,
                         "Brew it at 85 degrees Celsius [1].", bad)
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.refused and a.grounded is False and "not supported" in a.answer
    assert a.model_calls == {"chat": 5}


def test_answer_that_only_repeats_the_question_is_regenerated_then_declined(col, settings) -> None:
    # No grounding call is spent on an echo: it holds no claim to check.
    chat = scripted_chat(J({"relevant": [1]}), "You should brew the Oolong at what temperature [1]?",
                         "The Oolong should be brewed at a temperature.")
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.refused and a.grounded is False and a.model_calls == {"chat": 3}
    assert "not supported" in a.answer
    claims = [s for s in get_trace(settings, a.trace_id)["steps"] if s["node"] == "check_claims"]
    assert len(claims) == 2 and all(s["restates_question"] for s in claims)


def test_regeneration_gets_the_failure_as_feedback(col, settings) -> None:
    seen: list[str] = []

    class Recording(GenericFakeChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
            seen.append(str(messages[-1].content))
            return super()._generate(messages, stop, run_manager, **kw)

    # The claim check names what failed (no model call); the judge sees only the second draft.
    replies = [J({"relevant": [1]}), "On the moon.", "At 85 degrees [1].", J({"grounded": True})]
    chat = Recording(messages=iter(AIMessage(content=r) for r in replies))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.grounded is True and "85" in a.answer and a.model_calls == {"chat": 4}
    assert '"On the moon." (not in the documents: moon)' in seen[2] and "not supported" in seen[2]


def test_malformed_json_is_repaired_or_retried(col, settings) -> None:
    chat = scripted_chat("Sure! ```json\n{'relevant': [1],}\n```",  # repaired locally: 1 call
                         "85 degrees [1].",
                         "grounded yes",  # not JSON: the retry shows the model its error
                         J({"grounded": True}))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    assert a.grounded is True and a.model_calls == {"chat": 4}


def test_json_that_never_parses_falls_back_visibly(col, settings) -> None:
    chat = scripted_chat("no idea", "still no idea", "85 degrees Celsius [1].", "nope", "nope")
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="corrective")
    # the claim check passed; the judge's missing verdict cannot upgrade or downgrade it
    assert a.grounded is True and "85" in a.answer and a.claims[0].supported
    from ragloom.agents.service import get_trace

    steps = get_trace(settings, a.trace_id)["steps"]  # type: ignore[arg-type]
    fallbacks = {s["node"]: s["fallback"] for s in steps if "fallback" in s}
    assert fallbacks == {"grade_documents": "kept all chunks above threshold",
                         "check_grounding": "claims checked without the model"}


def test_transient_timeouts_are_retried_then_reported(col, settings, monkeypatch) -> None:
    from langgraph.types import RetryPolicy

    import ragloom.agents.graphs as graphs

    monkeypatch.setattr(graphs, "MODEL_RETRY", RetryPolicy(max_attempts=3, initial_interval=0.01,
                                                            retry_on=graphs.is_transient))
    attempts = []

    class Slow(GenericFakeChatModel):
        def _generate(self, *a, **k):  # type: ignore[no-untyped-def]
            attempts.append(1)
            raise httpx.ReadTimeout("timed out")

    spec = ModelSpec.parse("openai/slow")
    guard = lambda role: model_call(spec, settings, role)  # noqa: E731
    with pytest.raises(ModelUnavailableError, match="timed out"):
        ask(OOLONG, settings, graph="simple",
            context=_ctx(col, Slow(messages=iter([])), model_guard=guard))
    assert len(attempts) == 3


def test_step_budget_stops_any_loop(col, settings) -> None:
    chat = ConstantChat(messages=iter([]), reply=J({"relevant": [], "query": "again"}))
    tight = settings.model_copy(update={"agent": settings.agent.model_copy(
        update={"step_budget": 6})})
    with pytest.raises(RagloomError, match="step budget"):
        ask(OOLONG, tight, context=_ctx(col, chat, max_rewrites=50), graph="corrective")


@pytest.mark.parametrize(("route", "replies", "expect"), [
    ("direct", [J({"route": "direct"}), "Hello! Ask me about your documents."], "Hello"),
    ("clarify", [J({"route": "clarify"}), "Which tea do you mean?"], "Which tea"),
])
def test_adaptive_routes_without_documents(col, settings, route, replies, expect) -> None:
    a = ask("hi there", settings, context=_ctx(col, scripted_chat(*replies)), graph="adaptive")
    assert a.route == route and expect in a.answer and a.citations == []
    assert a.model_calls == {"chat": 2}


def test_adaptive_single_hop_uses_at_most_four_calls(col, settings) -> None:
    chat = scripted_chat(J({"route": "documents"}), J({"relevant": [1]}), "85 degrees [1].",
                         J({"grounded": True}))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="adaptive")
    assert a.route == "documents" and a.grounded and sum(a.model_calls.values()) == 4


def test_adaptive_decomposes_multi_hop_questions(col, settings) -> None:
    chat = scripted_chat(
        J({"route": "decompose"}),
        J({"sub_questions": ["How long does shipping to Canada take?",
                             "How long can unopened tins be returned?"]}),
        "7 to 10 business days [1].", "Within 30 days [1].",
        # the check is literal: "returns are accepted" would not be support for "can be returned"
        "Canada shipping takes 7 to 10 business days and unopened tins can be returned within "
        "30 days [1].",
        J({"grounded": True}))
    a = ask("How long does Canada shipping take, and how long do I have to return a tin?",
            settings, context=_ctx(col, chat), graph="adaptive")
    assert a.route == "decompose" and a.grounded and "30 days" in a.answer
    assert a.citations and a.citations[0].source.endswith("shipping-faq.txt")
    assert a.model_calls == {"chat": 6} and {"decompose", "compose"} <= set(a.prompts)


def test_multi_hop_question_the_model_routes_to_documents_is_decomposed(col, settings) -> None:
    chat = scripted_chat(
        J({"route": "documents"}),
        J({"sub_questions": ["How long does shipping to Canada take?", "What is the return window?"]}),
        "7 to 10 business days [1].", "30 days [1].", "7 to 10 business days [1].",
        J({"grounded": True}))
    a = ask("Are both Canada shipping and returns handled within the same week?", settings,
            context=_ctx(col, chat), graph="adaptive")
    route_step = next(s for s in get_trace(settings, a.trace_id)["steps"] if s["node"] == "route_question")
    assert a.route == "decompose" and route_step["override"] == "multi-hop cue: comparison (both)"


def test_sub_questions_that_are_answers_or_repeats_are_dropped() -> None:
    question = "Are Watertown and Alexandria airports both in the same state?"
    proposed = ["Are Watertown and Alexandria airports both in the same state? ",
                "Yes, both are airports in the same state.", "Which state is Watertown airport in?",
                "which state is watertown airport in", "Where is Alexandria airport?"]
    assert usable_sub_questions(question, proposed, 3) == [
        "Which state is Watertown airport in?", "Where is Alexandria airport?"]


def test_a_decomposition_with_nothing_usable_answers_the_question_whole(col, settings) -> None:
    chat = scripted_chat(
        J({"route": "decompose"}),
        J({"sub_questions": ["How long does Canada shipping take?", "Yes, it is fast."]}),
        "7 to 10 business days [1].", "7 to 10 business days [1].", J({"grounded": True}))
    a = ask("How long does Canada shipping take?", settings, context=_ctx(col, chat),
            graph="adaptive")
    split = next(s for s in get_trace(settings, a.trace_id)["steps"]
                 if s["node"] == "answer_sub_questions")
    assert split["sub_questions"] == ["How long does Canada shipping take?"]
    assert split["dropped"] == ["How long does Canada shipping take?", "Yes, it is fast."]
    assert a.model_calls == {"chat": 5} and "7 to 10" in a.answer


def test_decomposed_question_with_no_sub_answer_declines_without_composing(col, settings) -> None:
    chat = scripted_chat(
        J({"route": "decompose"}),
        J({"sub_questions": ["Which tea is brewed hottest?", "Where is that tea grown?"]}),
        "Which tea is brewed hottest [1]?", "I don't know.")
    a = ask("Where is the tea that is brewed hottest grown?", settings, context=_ctx(col, chat),
            graph="adaptive")
    assert a.refused and a.answer.startswith("I don't know") and a.model_calls == {"chat": 4}
    assert "compose" not in a.prompts


def test_one_answered_hop_is_enough_to_compose(col, settings) -> None:
    chat = scripted_chat(
        J({"route": "decompose"}),
        J({"sub_questions": ["How long does shipping to Canada take?", "Who ships it?"]}),
        "7 to 10 business days [1].", "I don't know.", "7 to 10 business days [1].",
        J({"grounded": True}))
    a = ask("How long does Canada shipping take, and who ships it?", settings,
            context=_ctx(col, chat), graph="adaptive")
    assert not a.refused and "compose" in a.prompts and a.model_calls == {"chat": 6}


@pytest.mark.parametrize(("question", "cue"), [
    ("Are Christopher Nolan and Sathish Kalathil both film directors?", "comparison (both)"),
    ("Which band was formed first, The Exies or Circus Diablo?", "comparison"),
    ("Is green tea or black tea stronger?", "comparison"),
    ("Who directed the film that was shot in Leland, North Carolina in 1986?", "relation (m that was)"),
    ("He was chief of staff to a Senator, who has served as Deputy Prime Minister since 2016?", "relation"),
    ("What temperature should I brew the Oolong at?", None),
    ("Who wrote the tea guide?", None),
    ("What is the return policy for items that were damaged in shipping?", None),
])
def test_multi_hop_cues(question, cue) -> None:
    found = multi_hop_cue(question)
    assert (found is None) if cue is None else (found is not None and found.startswith(cue))


def test_unroutable_reply_falls_back_to_documents(col, settings) -> None:
    chat = scripted_chat("??", J({"route": "elsewhere"}), J({"relevant": [1]}), "85 degrees [1].",
                         J({"grounded": True}))
    a = ask(OOLONG, settings, context=_ctx(col, chat), graph="adaptive")
    assert a.route == "documents" and "85" in a.answer


def _condensing_chat(seen: list[str]) -> GenericFakeChatModel:
    """Condenses the follow-up, then answers it; records each prompt's last message."""
    class Recording(GenericFakeChatModel):
        def _generate(self, messages, stop=None, run_manager=None, **kw):  # type: ignore[no-untyped-def]
            seen.append(str(messages[-1].content))
            return super()._generate(messages, stop, run_manager, **kw)

    return Recording(messages=iter([
        AIMessage(content=J({"question": "How many times can Oolong leaves be steeped?"})),
        AIMessage(content="Up to five times [1].")]))


def test_follow_up_in_a_thread_is_condensed(col, settings) -> None:
    first = scripted_chat("85 degrees Celsius [1].")
    ask(OOLONG, settings, context=_ctx(col, first), graph="simple", thread="t1")
    seen: list[str] = []
    second = _condensing_chat(seen)
    a = ask("How many times can it be steeped?", settings, context=_ctx(col, second),
            graph="simple", thread="t1")
    assert "85 degrees" in seen[0]  # the condense prompt saw the first turn
    assert "five" in a.answer and a.model_calls == {"chat": 2}


def test_follow_up_with_caller_kept_history_is_condensed(col, settings) -> None:
    seen: list[str] = []
    chat = _condensing_chat(seen)
    events = list(ask_stream("How many times can it be steeped?", settings,
                             context=_ctx(col, chat), graph="simple",
                             history=[{"question": OOLONG, "answer": "At 85 degrees [1]."}]))
    answer = events[-1][1]
    assert "At 85 degrees" in seen[0] and OOLONG in seen[0]  # the condense prompt saw the turn
    assert ("step", "retrieving for: How many times can Oolong leaves be steeped?") in events
    assert answer.prompts["condense"].startswith("condense@") and "five" in answer.answer


def test_stream_tokens_come_only_from_the_answer(col, settings) -> None:
    chat = scripted_chat(J({"relevant": [1]}), "Brew at 85 degrees [1].", J({"grounded": True}))
    events = list(ask_stream(OOLONG, settings, context=_ctx(col, chat), graph="corrective"))
    tokens = "".join(v for k, v in events if k == "token")
    assert tokens == "Brew at 85 degrees [1]."
    steps = [v for k, v in events if k == "step"]
    assert steps[:2] == [f"retrieving for: {OOLONG}", "grading 2 chunks"] or \
        steps[0].startswith("retrieving")
    assert any(s.startswith("checking that the answer is grounded") for s in steps)


def test_small_talk_that_refuses_is_reported_as_refusal(col, settings) -> None:
    chat = scripted_chat(J({"route": "direct"}), "I don't know.")
    a = ask("tell the world cup winner", settings, context=_ctx(col, chat), graph="adaptive")
    assert a.refused and "only from your documents" in a.answer


def test_questions_are_never_routed_to_small_talk(col, settings) -> None:
    chat = scripted_chat(J({"route": "direct"}), J({"relevant": []}), J({"query": "cup 1998"}),
                         J({"relevant": []}))
    a = ask("Who won the 1998 world cup?", settings, context=_ctx(col, chat), graph="adaptive")
    assert a.route == "documents" and a.refused and a.citations == []


def test_request_filter_reaches_every_retrieval(col, settings) -> None:
    chat = scripted_chat("Orders ship quickly [1].")
    ctx = _ctx(col, chat, where={"file_type": "pdf"})
    a = ask("How long does shipping to Canada take?", settings, context=ctx, graph="simple")
    assert all(c.source.endswith(".pdf") for c in a.citations)
    from ragloom.agents.service import get_trace

    retrieved = get_trace(settings, a.trace_id)["retrieved"]  # type: ignore[arg-type]
    assert retrieved and all(r["source"].endswith(".pdf") for r in retrieved)


def test_documented_custom_graph_composes(col) -> None:
    """The example in docs/agents.md: the same nodes, wired differently."""
    from ragloom.agents.generation import generate_answer
    from ragloom.agents.graphs import new_graph
    from ragloom.agents.nodes import grade_documents
    from ragloom.agents.routing import after_grading

    graph = new_graph()
    graph.add_node(grade_documents)
    graph.add_node(generate_answer)
    graph.add_edge("start_turn", "retrieve_documents")
    graph.add_edge("retrieve_documents", "grade_documents")
    graph.add_conditional_edges("grade_documents", after_grading, {
        "generate_answer": "generate_answer", "rewrite_query": "decline_answer",
        "decline_answer": "decline_answer"})
    graph.add_edge("generate_answer", "record_turn")
    app = graph.compile()
    chat = scripted_chat(J({"relevant": [1]}), "85 degrees [1].")
    state = app.invoke({"question": OOLONG}, context=_ctx(col, chat))
    assert "85" in state["answer"] and state["citations"][0].source.endswith(".pdf")
    none = app.invoke({"question": OOLONG}, context=_ctx(col, scripted_chat(J({"relevant": []}))))
    assert none["refused"]
