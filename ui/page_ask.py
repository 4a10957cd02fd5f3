"""Ask: a chat over a collection with streamed tokens, live steps, citations and feedback."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import streamlit as st

from ragloom.agents.graphs import graph_names
from ragloom.core.settings import Settings
from ragloom.ui import eval_jobs
from ragloom.ui.add_to_suite import render_add_to_suite
from ragloom.ui.answer_view import CSS, render_answer
from ragloom.ui.state import chat_turn, pick_collection, services, settings, shown_errors

HISTORY_KEY = "ragloom_chat"
THREAD_KEY = "ragloom_thread"
GRAPH_KEY = "ragloom_graph"  # the pickers' values, kept across page switches
PROMPT_KEY = "ragloom_answer_prompt"
CHAT_PREFIX = "web-"  # the web app's conversation threads (the API's and CLI's have their own)
REQUEST_KEY = "ragloom_ask_request"  # a question to answer on this run: regenerate, resend
PENDING_KEY = "ragloom_ask_pending"  # the question being answered, until its answer is kept
_SHOWN_CHATS = 15


def _answer_versions(s: Settings) -> tuple[list[str], dict[int, list[str]]]:
    from ragloom.prompts import prompt_store

    store = prompt_store(s)
    labels: dict[int, list[str]] = {}
    for label, version in store.labels("answer").items():
        labels.setdefault(version, []).append(label)
    return [f"answer@{v}" for v in store.active_versions("answer")], labels


def _kept_index(key: str, options: list[str], default: str) -> int:
    """The picker's last value in this session, else ``default``: Streamlit forgets a widget's
    value while its page is not shown, so without this the graph went back to the default."""
    for value in (st.session_state.get(key), default):
        if value in options:
            return options.index(value)
    return 0


def _sidebar(s: Settings) -> tuple[str | None, str, dict[str, str]]:
    st.sidebar.subheader("Ask settings")
    collection = pick_collection(s, key="ask-collection")
    graphs = graph_names()  # the shipped graphs and every registered one
    graph = st.sidebar.selectbox("Graph", graphs, index=_kept_index(GRAPH_KEY, graphs,
                                                                     s.agent.graph),
                                 key="ask-graph",
                                 help="simple: 1 model call · corrective: grade, answer, check "
                                 "grounding · adaptive: routes and decomposes multi-hop questions")
    st.session_state[GRAPH_KEY] = graph
    prompts: dict[str, str] = {}
    with shown_errors("listing answer prompt versions"):
        refs, labels = _answer_versions(s)
        label_of = {f"answer@{v}": ", ".join(ls) for v, ls in labels.items()}
        options = [f"label: {s.prompt_label}", *refs]
        choice = st.sidebar.selectbox(
            "Answer prompt", options, key="ask-prompt",
            index=_kept_index(PROMPT_KEY, options, options[0]),
            format_func=lambda o: o if o not in label_of else f"{o} ({label_of[o]})")
        st.session_state[PROMPT_KEY] = choice
        if choice in refs:
            prompts = {"answer": choice}
    st.session_state["ragloom_where"] = st.sidebar.text_input(
        "Metadata filter (JSON, optional)", key="ask-where",
        placeholder='{"file_type": "pdf", "page": {"$lte": 10}}')
    if st.sidebar.button("New chat", icon=":material/add_comment:", key="ask-new-chat"):
        st.session_state[HISTORY_KEY] = []
        st.session_state[THREAD_KEY] = new_thread()
        st.rerun()  # this run already holds the old chat's turns
    with shown_errors("listing chats"):
        _chats(s)
    return collection, graph, prompts


def new_thread() -> str:
    return f"{CHAT_PREFIX}{uuid.uuid4().hex[:12]}"


def _chats(s: Settings) -> None:
    """Past conversations: reopen (answers, sources and traces come back), rename, delete."""
    from ragloom.agents.chats import chat_history, delete_chat, list_chats, rename_chat

    st.sidebar.subheader("Chats")
    text = st.sidebar.text_input("Search chats", key="ask-chat-search",
                                 placeholder="words in a title, question or answer")
    current = st.session_state[THREAD_KEY]
    chats = list_chats(s, CHAT_PREFIX, text.strip() or None)
    if not chats:
        st.sidebar.caption("No past chats match." if text.strip() else
                           "Your conversations will be listed here.")
    for chat in chats[:_SHOWN_CHATS]:
        mine = chat["thread"] == current
        label = f"{'▸ ' if mine else ''}{chat['title'][:40]} · {chat['turns']}"
        if st.sidebar.button(label, key=f"ask-chat-{chat['thread']}", disabled=mine,
                             width="stretch"):
            st.session_state[HISTORY_KEY] = chat_history(s, chat["thread"])
            st.session_state[THREAD_KEY] = chat["thread"]
            st.rerun()
    if not any(c["thread"] == current for c in chats):
        return
    with st.sidebar.expander("This chat"):
        title = st.text_input("Title", key=f"ask-chat-title-{current}",
                              value=next(c["title"] for c in chats if c["thread"] == current))
        if st.button("Rename", key="ask-chat-rename"):
            rename_chat(s, current, title)
            st.rerun()
        sure = st.checkbox("Delete this chat (its traces stay)", key="ask-chat-sure")
        if st.button("Delete chat", key="ask-chat-delete", disabled=not sure, type="primary"):
            delete_chat(s, current)
            st.session_state[HISTORY_KEY] = []
            st.session_state[THREAD_KEY] = new_thread()
            st.rerun()


def _tokens(events: Iterator[tuple[str, Any]], status: Any, result: dict[str, Any],
            pending: dict[str, Any] | None = None) -> Iterator[str]:
    """Yield answer tokens for st.write_stream; steps go to the status box, the answer to result.

    Stops early at an "answer-reset" event (the shown draft failed its check): the caller
    clears the draft and streams the rest of ``events`` afresh.
    """
    for kind, value in events:
        if kind == "step":
            status.update(label=f"{value}…")
            status.write(value)
        elif kind == "answer-reset":
            status.write(value)
            result["regenerating"] = True
            if pending is not None:
                pending["draft"] = ""
            return
        elif kind == "token":
            if pending is not None:  # what a Stop keeps on screen
                pending["draft"] = pending.get("draft", "") + value
            # The draft is shown as markdown before links are filtered: an escaped "[" keeps a
            # planted ![image](url) from being fetched by the browser while the answer streams.
            yield value.replace("[", "\\[")
        elif kind == "answer":
            result["answer"] = value


def _run_question(question: str, s: Settings, collection: str, graph: str,
                  prompts: dict[str, str], from_turn: int | None = None) -> Any:
    from ragloom.agents.service import ask_stream
    from ragloom.retrieval.where import parse_where

    where = parse_where(st.session_state.get("ragloom_where", "").strip() or None)
    result: dict[str, Any] = {}
    status = st.status("Starting…", expanded=False)
    placeholder = st.empty()  # tokens stream below the status box, not hidden inside it

    def waiting() -> None:
        status.update(label="Waiting for the model: another question is being answered…")

    from ragloom.evals.experiments import assignment

    # A live experiment: one variant per web session's conversation (sticky).
    prompts, experiment = assignment(s, prompts, f"web:{st.session_state[THREAD_KEY]}")
    try:
        with chat_turn(s, waiting):
            ctx = services().context(s, collection, prompts, where)
            events = ask_stream(question, s, collection=collection, graph=graph, prompts=prompts,
                                thread=st.session_state[THREAD_KEY], where=where, context=ctx,
                                experiment=experiment, from_turn=from_turn)
            pending = st.session_state.get(PENDING_KEY)
            # Stop (or any click) reruns the page: Streamlit raises in this run, and closing the
            # stream stops the model call in flight instead of leaving it decoding.
            with contextlib.closing(events):
                with placeholder.container():
                    st.write_stream(_tokens(events, status, result, pending))
                while result.pop("regenerating", False):  # the next draft replaces this one
                    placeholder.empty()
                    with placeholder.container():
                        st.write_stream(_tokens(events, status, result, pending))
    except Exception:
        status.update(label="Failed", state="error")
        raise
    answer = result.get("answer")
    if answer is not None:
        status.update(label=f"Answered in {answer.timings.get('total', 0.0):.1f}s",
                      state="complete")
    return answer


def _request(question: str, turn: int | None) -> None:
    """Answer ``question`` on the next run: again as shown turn ``turn`` (regenerate, edit and
    resend: it and the turns after it go), or as a new turn (``None``)."""
    st.session_state[REQUEST_KEY] = {"question": question, "turn": turn}


def _turn_actions(item: dict[str, Any], turn: int, last: bool, busy: bool) -> None:
    """Copy the answer, edit and resend the question, regenerate the last answer."""
    cols = st.columns([1, 1, 1.3, 1.5, 2])
    with cols[0].popover("Copy", icon=":material/content_copy:"):
        st.caption("The icon at the top right of the box copies the answer.")
        answer = item.get("answer")
        st.code(answer.answer if answer is not None else item.get("stopped", ""), language=None,
                wrap_lines=True)
    with cols[1].popover("Edit", icon=":material/edit:", disabled=busy):
        edited = st.text_area("Question", value=item["question"], key=f"ask-edit-{turn}")
        st.caption("Resend answers this question instead; the turns after it leave this chat "
                   "(their traces stay).")
        st.button("Resend", key=f"ask-resend-{turn}", type="primary", on_click=_request,
                  args=(edited.strip(), turn), disabled=not edited.strip())
    if last:
        cols[2].button("Regenerate", key="ask-regenerate", icon=":material/refresh:",
                       disabled=busy, on_click=_request, args=(item["question"], turn))
    if item.get("answer") is not None and item["answer"].trace_id:
        with cols[3]:
            render_add_to_suite(item["answer"], turn)


def _render_turn(item: dict[str, Any], turn: int) -> None:
    if item.get("error"):
        st.error(item["error"])
    elif "stopped" in item:
        if item["stopped"]:
            st.markdown(item["stopped"].replace("[", "\\["))
        st.caption(":orange[**stopped**] before the answer was finished: not verified, and "
                   "not kept in the chat's memory. Regenerate to answer it again.")
    else:
        render_answer(item["answer"], turn)


def _memory_turn(history: list[dict[str, Any]], shown: int) -> int:
    """The conversation-memory index of shown turn ``shown``: stopped and failed turns never
    reached the memory (nor the chat's saved turns)."""
    return sum("answer" in h for h in history[:shown])


def render() -> None:
    s = settings()
    st.markdown(CSS, unsafe_allow_html=True)
    st.title("Ask")
    history: list[dict[str, Any]] = st.session_state.setdefault(HISTORY_KEY, [])
    st.session_state.setdefault(THREAD_KEY, new_thread())
    if (cut := st.session_state.pop(PENDING_KEY, None)) is not None:
        # The last run ended before its answer came back: the Stop button, or another click.
        history.append({"question": cut["question"], "stopped": cut.get("draft", "")})
    request = st.session_state.pop(REQUEST_KEY, None)
    from_turn = None
    if request is not None and request["turn"] is not None:
        from_turn = _memory_turn(history, request["turn"])
        del history[request["turn"]:]  # the screen shows what the memory will hold
    collection, graph, prompts = _sidebar(s)
    if collection is None:
        st.info("No collection yet. Add documents on the **Documents** page first.")
    elif not history and request is None:
        st.caption(f"Ask anything about the documents in **{collection}**. Answers cite their "
                   "sources as [n]; click a marker to jump to the passage.")
    busy = eval_jobs.running_local() if s.chat.startswith("local/") else None
    for turn, item in enumerate(history):
        with st.chat_message("user"):
            st.markdown(item["question"])
        with st.chat_message("assistant"):
            _render_turn(item, turn)
            _turn_actions(item, turn, turn == len(history) - 1 and request is None,
                          busy is not None or collection is None)
    if busy is not None:
        st.warning(f"An evaluation of '{busy.suite}' is using the embedded model; ask again when "
                   "it finishes (see the Evaluations page).")
    # max_chars: the browser stops typing at the limit and shows a "n/limit" counter.
    question = st.chat_input("Ask a question about your documents", key="ask-input",
                             max_chars=s.agent.max_question_chars,
                             disabled=collection is None or busy is not None)
    if question:
        request, from_turn = {"question": question, "turn": None}, None
    if request is None or collection is None:
        return
    question = request["question"]
    st.session_state[PENDING_KEY] = {"question": question, "draft": ""}
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        st.button("Stop", key="ask-stop", icon=":material/stop_circle:",
                  help="Stops the model now; what it wrote so far stays, marked not verified")
        answer = None
        with shown_errors("answering") as outcome:
            answer = _run_question(question, s, collection, graph, prompts, from_turn)
    st.session_state.pop(PENDING_KEY, None)
    if answer is None:
        history.append({"question": question,
                        "error": outcome.get("error", "no answer came back; ask again")})
        return
    history.append({"question": question, "answer": answer})
    st.rerun()
