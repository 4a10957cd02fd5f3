"""Stopping an answer that is being written: the model call ends, it is not left running.

A LangGraph run executes its nodes on worker threads, so dropping the stream alone would leave
the model decoding until it finished. ``Cancellation`` is a callback handler in every run's
config: once ``stop()`` is called, the next token (of a streaming call) or the next model call
raises ``AnswerStopped`` inside that thread, which ends the llama.cpp loop or closes the HTTP
stream. A non-streaming call already sent ends at its last token, and no further call starts.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from ragloom.core.errors import RagloomError


class AnswerStopped(RagloomError):
    """The caller stopped the answer (the Stop button, a closed stream)."""


class Cancellation(BaseCallbackHandler):
    raise_error = True  # LangChain logs and swallows a handler's exception otherwise

    def __init__(self) -> None:
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _check(self) -> None:
        if self._stopped.is_set():
            raise AnswerStopped("the answer was stopped before it was finished",
                                fix="ask again to get a whole, checked answer")

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self._check()

    def on_llm_start(self, *args: Any, **kwargs: Any) -> None:
        self._check()

    def on_llm_new_token(self, *args: Any, **kwargs: Any) -> None:
        self._check()
