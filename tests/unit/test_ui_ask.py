"""Ask page: streamed answer with linked citations, sources panel, feedback, trace, errors."""

from __future__ import annotations

import json
import threading
import time

from streamlit.testing.v1 import AppTest

from ragloom.agents.service import get_trace, rated_answers
from ragloom.ui.page_ask import HISTORY_KEY, THREAD_KEY, _tokens
from ragloom.ui.state import SERVICES_KEY, SETTINGS_KEY, chat_turn
from tests.unit.test_ui_support import APP, app_test, fake_services, sample_collection, texts

J = json.dumps
OOLONG = "What temperature should I brew the Oolong at?"


def _ask(at, question: str):  # type: ignore[no-untyped-def]
    return at.chat_input(key="ask-input").set_value(question).run()


def test_answer_with_citation_sources_feedback_and_trace(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    _ask(at, OOLONG)
    assert not at.exception, at.exception
    shown = texts(at)
    # The marker links to its source card; the card names file and page and marks the span.
    assert 'href="#src-0-1">[1]</a>' in shown and 'id="src-0-1"' in shown
    assert "tea-guide.pdf, page 1" in shown and "<mark>" in shown and "85" in shown
    assert "Sources · 1 cited" in [e.label for e in at.expander]
    answer = at.session_state[HISTORY_KEY][0]["answer"]
    assert answer.graph == "simple" and answer.citations[0].source.endswith("tea-guide.pdf")

    # "Why this answer": the stored trace's steps are shown.
    steps = at.dataframe[0].value
    assert {"start_turn", "retrieve_documents", "generate_answer"} <= set(steps["step"])

    # Thumbs down with a comment is stored with the trace.
    at.feedback[0].set_value(0).run()
    at.text_input(key=f"comment-{answer.trace_id}").set_value("wrong tin size").run()
    at.button(key=f"send-{answer.trace_id}").click().run()
    stored = rated_answers(settings, "down")
    assert [(r["trace_id"], r["comment"]) for r in stored] == [(answer.trace_id, "wrong tin size")]
    assert "Feedback saved (down)" in texts(at)


def test_follow_up_uses_the_same_thread_and_new_chat_resets_it(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1].",
                                          J({"question": "How long should I steep Oolong?"}),
                                          "Three minutes [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    thread = at.session_state[THREAD_KEY]
    _ask(at, OOLONG)
    _ask(at, "and for how long?")
    assert not at.exception, at.exception
    history = at.session_state[HISTORY_KEY]
    assert [h["answer"].thread for h in history] == [thread, thread]
    assert "Three minutes" in history[1]["answer"].answer
    at.sidebar.button(key="ask-new-chat").click().run()
    assert at.session_state[HISTORY_KEY] == [] and at.session_state[THREAD_KEY] != thread


def test_pinned_prompt_version_is_passed_to_the_graph(settings) -> None:
    sample_collection(settings)
    services = fake_services("Brew it at 85 degrees Celsius [1].")
    at = app_test(settings, services)
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    at.sidebar.selectbox(key="ask-prompt").set_value("answer@1").run()
    _ask(at, OOLONG)
    assert services.extra["calls"][-1]["prompts"] == {"answer": "answer@1"}
    assert at.session_state[HISTORY_KEY][0]["answer"].prompts["answer"] == "answer@1"


def test_a_failing_model_shows_a_readable_error_not_a_traceback(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services())  # the scripted model has no reply: it raises
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    _ask(at, OOLONG)
    assert not at.exception
    assert at.error and at.error[0].value.startswith("answering failed:")
    assert at.session_state[HISTORY_KEY][0]["error"] == at.error[0].value


def test_without_a_collection_the_page_points_to_documents(settings) -> None:
    at = app_test(settings, fake_services())
    assert not at.exception
    assert "Documents" in at.info[0].value and at.chat_input[0].proto.disabled


class _Status:
    def __init__(self) -> None:
        self.labels: list[str] = []
        self.lines: list[str] = []

    def update(self, label: str) -> None:
        self.labels.append(label)

    def write(self, text: str) -> None:
        self.lines.append(text)


def test_steps_go_to_the_status_box_and_tokens_to_the_stream() -> None:
    events = [("step", "retrieving for: oolong"), ("token", "Brew "), ("token", "at 85"),
              ("step", "checking grounding"), ("answer", "the answer")]
    status, result = _Status(), {}
    assert "".join(_tokens(iter(events), status, result)) == "Brew at 85"
    assert status.lines == ["retrieving for: oolong", "checking grounding"]
    assert status.labels[-1] == "checking grounding…" and result == {"answer": "the answer"}


def test_a_streamed_draft_cannot_render_a_planted_image() -> None:
    events = [("token", "30 days [1]. !"), ("token", "[x](https://evil.example/p.png?q=1)")]
    draft = "".join(_tokens(iter(events), _Status(), {}))
    assert "![" not in draft  # markdown shows an escaped "[" as text: no image, no link
    assert draft == "30 days \\[1]. !\\[x](https://evil.example/p.png?q=1)"


def test_a_regeneration_ends_the_draft_stream_and_the_rest_streams_afresh() -> None:
    events = iter([("token", "Brew at 95"), ("answer-reset", "the draft was not supported"),
                   ("token", "Brew at 85"), ("answer", "final")])
    status, result = _Status(), {}
    assert "".join(_tokens(events, status, result)) == "Brew at 95"
    assert result == {"regenerating": True}
    result.clear()
    assert "".join(_tokens(events, status, result)) == "Brew at 85" and result == {"answer": "final"}


def test_one_answer_at_a_time_on_the_embedded_model_but_not_on_a_server(settings) -> None:
    order: list[str] = []
    waits: list[int] = []
    inside = threading.Event()

    def first() -> None:
        with chat_turn(settings):
            inside.set()
            time.sleep(0.8)
            order.append("first done")

    worker = threading.Thread(target=first)
    worker.start()
    inside.wait(5)
    with chat_turn(settings, lambda: waits.append(1)):
        order.append("second started")
    worker.join()
    assert order == ["first done", "second started"] and waits  # it waited, and said so
    server = settings.model_copy(update={"chat": "ollama/llama3.2"})
    with chat_turn(server), chat_turn(server):  # no turn needed: a server queues by itself
        order.append("nested")
    assert order[-1] == "nested"


def test_corrective_graph_regeneration_shows_only_the_grounded_answer(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services(
        J({"relevant": [1]}), "Brew it at 95 degrees [1].",
        J({"grounded": False, "unsupported": ["95 degrees"]}),
        "Brew it at 85 degrees Celsius [1].", J({"grounded": True, "unsupported": []})))
    at.sidebar.selectbox(key="ask-graph").set_value("corrective").run()
    _ask(at, OOLONG)
    assert not at.exception and not at.error
    answer = at.session_state[HISTORY_KEY][0]["answer"]
    assert answer.grounded is True and "85" in answer.answer and answer.model_calls == {"chat": 5}
    shown = texts(at)
    assert "Brew it at 85 degrees Celsius" in shown and "Brew it at 95" not in shown
    assert "corrective · :green[**grounded**] · 1/1 claims supported" in shown


def test_unsupported_sentences_are_marked_and_not_verified_stands_out(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services("Brew the Oolong at 85 degrees Celsius [1]. "
                                          "It was first grown on the moon."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    _ask(at, OOLONG)
    assert not at.exception and not at.error
    shown = texts(at)
    assert ('<span class="ragloom-unverified">It was first grown on the moon (not verified).'
            '</span>') in shown
    assert ":orange[**not verified**] · 1/2 claims supported" in shown
    assert ":orange[not verified]: It was first grown on the moon. (missing: grown, moon)" \
        in shown
    # the claim check's evidence sentence is what the source card highlights
    assert "<mark>Our Brackenford Oolong tastes best at 85 degrees Celsius for 3 minutes.</mark>" \
        in shown


def test_metadata_filter_reaches_retrieval_and_bad_json_is_a_readable_error(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services("It ships in 3 to 5 business days [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    at.sidebar.text_input(key="ask-where").set_value('{"file_type": "text"').run()
    _ask(at, "How long does shipping take?")
    assert at.error[0].value.startswith("answering failed: filter is not valid JSON")
    at.sidebar.text_input(key="ask-where").set_value('{"file_type": "text"}').run()
    _ask(at, "How long does shipping of Oolong tea take?")  # the tea guide is a PDF: filtered out
    answer = at.session_state[HISTORY_KEY][-1]["answer"]
    assert answer.citations and all(c.source.endswith("shipping-faq.txt") for c in answer.citations)


def test_the_pickers_keep_their_values_when_the_page_comes_back(settings) -> None:
    """Streamlit drops a widget's state while its page is not shown; the page keeps the last
    values apart from the widgets. Coming back is a run with those values and no widget state
    (the graph used to come back as the default, `corrective`)."""
    from ragloom.ui.page_ask import GRAPH_KEY, PROMPT_KEY

    sample_collection(settings)
    at = app_test(settings, fake_services())
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    first, *_, last = [o.split(" (")[0] for o in at.sidebar.selectbox(key="ask-prompt").options]
    at.sidebar.selectbox(key="ask-prompt").set_value(last).run()
    kept = {k: at.session_state[k] for k in (GRAPH_KEY, PROMPT_KEY)}
    assert kept == {GRAPH_KEY: "simple", PROMPT_KEY: last}
    back = AppTest.from_file(str(APP), default_timeout=60)
    back.session_state[SETTINGS_KEY], back.session_state[SERVICES_KEY] = settings, fake_services()
    for key, value in kept.items():
        back.session_state[key] = value
    back.run()
    assert back.sidebar.selectbox(key="ask-graph").value == "simple"
    assert back.sidebar.selectbox(key="ask-prompt").value == last != first


def test_past_chats_reopen_with_their_answers_rename_search_and_delete(settings) -> None:
    from ragloom.agents.chats import list_chats
    from ragloom.ui.page_ask import CHAT_PREFIX

    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1].",
                                          "Green tea keeps 12 months [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    _ask(at, OOLONG)
    first = at.session_state[THREAD_KEY]
    assert first.startswith(CHAT_PREFIX)
    at.sidebar.button(key="ask-new-chat").click().run()
    _ask(at, "How long does green tea keep its flavour?")
    second = at.session_state[THREAD_KEY]
    assert second != first and len(at.session_state[HISTORY_KEY]) == 1
    chats = list_chats(settings, CHAT_PREFIX)
    assert [c["thread"] for c in chats] == [second, first]  # newest first
    assert chats[1]["title"] == OOLONG and chats[1]["turns"] == 1
    # Reopen the first: its answer, sources and trace are back, and follow-ups join its thread.
    at.sidebar.button(key=f"ask-chat-{first}").click().run()
    assert not at.exception, at.exception
    assert at.session_state[THREAD_KEY] == first
    (turn,) = at.session_state[HISTORY_KEY]
    assert turn["question"] == OOLONG and "85 degrees" in turn["answer"].answer
    assert turn["answer"].trace_id and turn["answer"].citations
    assert 'href="#src-0-1">[1]</a>' in texts(at) and "Why this answer?" in [
        e.label for e in at.expander]
    # Rename, then search by title and by words of an answer.
    at.sidebar.text_input(key=f"ask-chat-title-{first}").set_value("Oolong temperature").run()
    at.sidebar.button(key="ask-chat-rename").click().run()
    assert list_chats(settings, CHAT_PREFIX, "oolong temp")[0]["title"] == "Oolong temperature"
    assert [c["thread"] for c in list_chats(settings, CHAT_PREFIX, "12 months")] == [second]
    at.sidebar.text_input(key="ask-chat-search").set_value("12 months").run()
    assert at.sidebar.button(key=f"ask-chat-{second}") and not [
        b for b in at.sidebar.button if b.key == f"ask-chat-{first}"]
    # Delete (behind a confirmation): gone from the list, a new chat starts, the traces stay.
    at.sidebar.text_input(key="ask-chat-search").set_value("").run()
    assert at.sidebar.button(key="ask-chat-delete").disabled
    at.sidebar.checkbox(key="ask-chat-sure").check().run()
    at.sidebar.button(key="ask-chat-delete").click().run()
    assert [c["thread"] for c in list_chats(settings, CHAT_PREFIX)] == [second]
    assert at.session_state[THREAD_KEY] not in (first, second)
    assert at.session_state[HISTORY_KEY] == []
    assert get_trace(settings, turn["answer"].trace_id)["question"] == OOLONG


def test_regenerate_edit_and_resend_and_copy(settings) -> None:
    from ragloom.agents.chats import chat_history

    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1].",
                                          "Steep Darjeeling for three minutes [1].",
                                          "Steep Darjeeling for four minutes [1].",
                                          "Sencha at 80 degrees [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    _ask(at, OOLONG)
    _ask(at, "How long should Darjeeling black tea steep?")
    thread = at.session_state[THREAD_KEY]
    # Copy: the answer in a code box (Streamlit's copy-to-clipboard icon).
    assert "three minutes" in at.code[1].value and "85 degrees" in at.code[0].value
    # Only the last turn can be regenerated; it replaces that turn, in the chat as well.
    assert len([b for b in at.button if b.key == "ask-regenerate"]) == 1
    at.button(key="ask-regenerate").click().run()
    assert not at.exception, at.exception
    history = at.session_state[HISTORY_KEY]
    assert len(history) == 2 and "85 degrees" in history[0]["answer"].answer
    assert "four minutes" in history[1]["answer"].answer
    assert [t["answer"].answer for t in chat_history(settings, thread)] == [
        h["answer"].answer for h in history]
    # Edit the first question and resend: one turn is left, the new one.
    at.text_area(key="ask-edit-0").set_value("What temperature suits Sencha green tea?").run()
    at.button(key="ask-resend-0").click().run()
    assert not at.exception, at.exception
    (turn,) = at.session_state[HISTORY_KEY]
    assert turn["question"].startswith("What temperature suits Sencha") and "80" in turn[
        "answer"].answer
    assert [t["question"] for t in chat_history(settings, thread)] == [turn["question"]]


def test_a_run_cut_short_shows_a_stopped_unverified_turn(settings) -> None:
    from ragloom.ui.page_ask import PENDING_KEY

    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    # What the Stop button leaves behind: the run raised mid-stream, the question still pending.
    at.session_state[PENDING_KEY] = {"question": OOLONG, "draft": "Brew it at ![x](http://e/)"}
    at.run()
    assert not at.exception, at.exception
    (item,) = at.session_state[HISTORY_KEY]
    assert item == {"question": OOLONG, "stopped": "Brew it at ![x](http://e/)"}
    shown = texts(at)
    assert "stopped" in shown and "not verified" in shown
    assert "Brew it at !\\[x](http://e/)" in shown  # the draft cannot load a planted image
    # Regenerate answers it (a stopped turn never reached the memory: it is a new turn there).
    at.button(key="ask-regenerate").click().run()
    assert not at.exception, at.exception
    (item,) = at.session_state[HISTORY_KEY]
    assert "85 degrees" in item["answer"].answer and item["answer"].grounded is not None


def test_the_streamed_draft_is_kept_for_a_stop() -> None:
    pending: dict = {"question": "q", "draft": ""}
    events = [("token", "Brew "), ("answer-reset", "again"), ("token", "At "), ("token", "85")]
    result: dict = {}
    list(_tokens(iter(events[:2]), _Status(), result, pending))
    assert pending["draft"] == ""  # a reset draft is not what the user saw last
    list(_tokens(iter(events[2:]), _Status(), result, pending))
    assert pending["draft"] == "At 85"
