"""The embedded chat model: LangChain's llama.cpp chat model, safe to share between threads.

One ``llama_cpp.Llama`` holds one decoding context; two threads decoding in it at once corrupt
each other's output or crash the process. Every call takes the model's own lock, so a library
user calling ``ragloom.ask`` from a thread pool gets answers one after another, never garbage.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr


class EmbeddedChat(ChatLlamaCpp):
    # Re-entrant: with streaming on, ChatLlamaCpp._generate decodes through self._stream.
    _decoding: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._decoding:
            return super()._generate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._decoding:  # held until the last token: the stream decodes as it is read
            yield from super()._stream(*args, **kwargs)
