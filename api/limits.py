"""Request size limits (a pure ASGI middleware) and upload file names that stay in their folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.errors import ApiError, error_body
from core.errors import IngestError
from retrieval import uploads

Scope = dict[str, Any]


class BodyLimit:
    """Refuse bodies over a limit with 413, by Content-Length and while reading a chunked body.

    ``limit_for(path)`` gives the byte limit of a route: uploads get more than JSON calls.
    """

    def __init__(self, app: Any, limit_for: Callable[[str], int]):
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(scope, send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(scope: Scope, send: Any, limit: int) -> None:
    body = json.dumps(error_body(scope["path"], 413, f"request body over {limit // 1024} KiB",
                                 "send less: split the upload, or raise api.max_body_kb / "
                                 "api.max_upload_mb")).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def safe_filename(raw: str | None) -> str:
    """``retrieval.uploads.safe_filename``, refusing an unusable name with a 422."""
    try:
        return uploads.safe_filename(raw)
    except IngestError as exc:
        raise ApiError(422, f"unusable upload file name {raw!r}", exc.fix or "") from None


def inside(folder: Path, name: str) -> Path:
    """``folder/name`` inside ``folder``, or a 422."""
    try:
        return uploads.path_inside(folder, name)
    except IngestError as exc:
        raise ApiError(422, f"upload file name {name!r} leaves the storage folder",
                       exc.fix or "") from None
