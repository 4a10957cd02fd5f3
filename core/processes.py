"""Which process runs a background task, and whether it is still alive (for status polls)."""

from __future__ import annotations

import os
import socket
from typing import Any


def process_tag() -> str:
    """``host:pid`` of the calling process (read at call time: uvicorn forks its workers)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(tag: str) -> bool:
    """True when the tagged process is known to have stopped: same host, and no such pid.

    On another host (a replica sharing HOME) nothing is known, so the answer is False.
    """
    host, _, pid = tag.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def as_polled(state: dict[str, Any], tag: str | None, fix: str) -> dict[str, Any]:
    """``state`` as a poller should see it: a queued or running task whose process is gone (or
    unknown: saved by a version that kept no tag) is ``interrupted``, with ``fix``."""
    if state["status"] in ("queued", "running") and (tag is None or process_gone(tag)):
        return {**state, "status": "interrupted", "fix": fix,
                "error": "the server process running it stopped"}
    return state
