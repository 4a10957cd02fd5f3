"""Conversations as the web app lists them: a thread's answered turns (its traces, less the ones a
regenerate or an edit replaced), titled, searchable, renamed and deleted."""

from __future__ import annotations

from typing import Any

from ragloom.agents.service import Answer
from ragloom.agents.traces import traces_of
from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.core.storage.threads import checkpointer


def list_chats(settings: Settings, prefix: str, text: str | None = None) -> list[dict[str, Any]]:
    """Conversations whose thread starts with ``prefix`` (the web app's: ``web-``), newest first."""
    return traces_of(settings).chats(prefix, text)


def chat_history(settings: Settings, thread: str) -> list[dict[str, Any]]:
    """A conversation's turns as the Ask page keeps them: ``{"question", "answer": Answer}``."""
    fields = set(Answer.model_fields)
    return [{"question": t["question"],
             "answer": Answer.model_validate({k: v for k, v in t.items() if k in fields}
                                             | {"trace_id": t["id"]})}
            for t in traces_of(settings).chat_turns(thread)]


def rename_chat(settings: Settings, thread: str, title: str) -> None:
    title = " ".join(title.split())
    if not title or len(title) > 200:
        raise RagloomError("a chat's title must be 1-200 characters", subject=title[:40],
                           fix="type a shorter title")
    traces_of(settings).rename_chat(thread, title)


def delete_chat(settings: Settings, thread: str) -> None:
    """Remove a conversation from the list and forget its memory (the checkpointed thread); its
    answers' traces stay, for the Traces page, ratings and evaluations."""
    traces_of(settings).delete_chat(thread)
    with checkpointer(settings.home, settings.database) as saver:
        saver.delete_thread(thread)
