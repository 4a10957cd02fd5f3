"""How many answers may run at once: the one rule every interface asks.

The embedded llama.cpp model is one instance per process (``core.models._local_chat``) and
decodes for one caller at a time; its calls are serialised by the model itself
(``EmbeddedChat``), so no caller can corrupt it. Scheduling whole answers is the callers' part,
sized here: the API's question slots, an evaluation's answering threads, and the turn each
browser session of the web app waits for. A model server answers many questions at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from ragloom.core.models.spec import ModelSpec

_EMBEDDED_TURN = threading.Lock()  # one answer at a time on this process's embedded model


def embedded(chat: str) -> bool:
    """Whether ``provider/model`` runs in this process (the ``local`` provider)."""
    return ModelSpec.parse(chat).provider == "local"


def answers_at_once(chat: str, wanted: int) -> int:
    """``wanted`` concurrent answers with a server model; 1 with the embedded one."""
    return 1 if embedded(chat) else max(1, wanted)


@contextlib.contextmanager
def answer_turn(chat: str, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold this process's embedded model for one whole answer (or evaluation), so that two
    callers' model calls do not interleave; ``waiting`` is called every 0.5 s while another
    holds it (a page can say so, and a user who left stops waiting). Servers need no turn."""
    if not embedded(chat):
        yield
        return
    while not _EMBEDDED_TURN.acquire(timeout=0.5):
        if waiting:
            waiting()
    try:
        yield
    finally:
        _EMBEDDED_TURN.release()
