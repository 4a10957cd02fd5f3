"""The embedded chat model: LangChain's llama.cpp chat model, safe to share between threads,
reporting llama.cpp's token counts.

One ``llama_cpp.Llama`` holds one decoding context; two threads decoding in it at once corrupt
each other's output or crash the process. Every call takes the model's own lock, so a library
user calling ``ragloom.ask`` from a thread pool gets answers one after another, never garbage.

LangChain's wrapper drops llama.cpp's counts (``usage`` of a completion; a stream has none), so
each answer carries them as ``usage_metadata`` (``core.models.usage``): a stream's prompt tokens
are what the context holds after it (``n_tokens``: prompt and answer) less the tokens streamed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr


def _usage(prompt: int, completion: int) -> UsageMetadata:
    return UsageMetadata(input_tokens=prompt, output_tokens=completion,
                         total_tokens=prompt + completion)


class EmbeddedChat(ChatLlamaCpp):
    # Re-entrant: with streaming on, ChatLlamaCpp._generate decodes through self._stream.
    _decoding: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._decoding:
            result = super()._generate(*args, **kwargs)
        counts = (result.llm_output or {}).get("token_usage") or {}
        for generation in result.generations:
            message = generation.message
            if isinstance(message, AIMessage) and not message.usage_metadata and counts:
                message.usage_metadata = _usage(int(counts.get("prompt_tokens", 0)),
                                                int(counts.get("completion_tokens", 0)))
        return result

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with self._decoding:  # held until the last token: the stream decodes as it is read
            streamed = 0
            for chunk in super()._stream(*args, **kwargs):
                streamed += bool(chunk.text)  # llama.cpp streams one token per chunk
                yield chunk
            in_context = int(self.client.n_tokens)  # read under the lock: this call's context
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", usage_metadata=_usage(max(in_context - streamed, 0), streamed)))
