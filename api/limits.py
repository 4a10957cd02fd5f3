"""Request limits (a pure ASGI middleware) and upload file names that stay in their folder.

Before a route sees a request: the headers must fit ``ragloom.api.max_header_kb`` (431), the body
``ragloom.api.max_body_kb`` / ``ragloom.api.max_upload_mb`` by Content-Length and while it is read (413), it
must arrive within ``ragloom.api.body_timeout_s`` (408), and a JSON body may nest at most
``ragloom.api.max_json_depth`` levels (400). Each refusal is the API's JSON error: what, and the fix.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragloom.api.errors import ApiError, error_body
from ragloom.api.json_depth import json_depth
from ragloom.core.errors import IngestError
from ragloom.core.settings import ApiSettings
from ragloom.retrieval import uploads

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]


@dataclass(frozen=True)
class Limits:
    """What a request may be. ``is_upload(path)``: streamed to the route (multipart, large),
    checked while the route reads it; any other body is read, checked and replayed."""

    json_bytes: int
    upload_bytes: int
    header_bytes: int
    depth: int
    timeout_s: float
    is_upload: Callable[[str], bool]

    @classmethod
    def of(cls, api: ApiSettings, is_upload: Callable[[str], bool]) -> Limits:
        return cls(json_bytes=api.max_body_kb * 1024,
                   upload_bytes=int(api.max_upload_mb * 1024 * 1024),
                   header_bytes=api.max_header_kb * 1024, depth=api.max_json_depth,
                   timeout_s=api.body_timeout_s, is_upload=is_upload)


class BodyRefused(StarletteHTTPException):
    """A body refused while it is read: over its limit (413) or too slow (408).

    An HTTPException on purpose: FastAPI passes those on from its body parsing, where any other
    exception raised by ``receive`` becomes a bare 400 "There was an error parsing the body".
    """

    def __init__(self, status: int, error: str, fix: str):
        super().__init__(status_code=status, detail=error, headers={"Connection": "close"})
        self.error, self.fix = error, fix


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"request body over {limit // 1024} KiB",
                       "send less: split the upload, or raise api.max_body_kb / api.max_upload_mb")


class _Body:
    """``receive`` with the size limit and the deadline, until the body is complete."""

    def __init__(self, receive: Receive, limit: int, timeout_s: float):
        self.receive, self.limit, self.timeout_s = receive, limit, timeout_s
        self.seen, self.done = 0, False

    async def next(self, wait_s: float | None = None) -> Message:
        if self.done:  # afterwards only http.disconnect comes, whenever it comes: no deadline
            return await self.receive()
        try:
            message = await asyncio.wait_for(self.receive(), wait_s or self.timeout_s)
        except TimeoutError:
            raise BodyRefused(408, f"the request body did not arrive within {self.timeout_s:g} s "
                              f"({self.seen} bytes came)", "send the whole body promptly, with a "
                              "Content-Length that matches it; or raise api.body_timeout_s"
                              ) from None
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                raise too_large(self.limit)
            self.done = not message.get("more_body", False)
        else:
            self.done = True
        return message

    async def read_all(self) -> tuple[bytes, Message | None]:
        """The whole body within one deadline, and the disconnect message if the client left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        parts: list[bytes] = []
        while not self.done:
            message = await self.next(max(deadline - loop.time(), 0.001))
            if message["type"] != "http.request":
                return b"".join(parts), message
            parts.append(message.get("body", b""))
        return b"".join(parts), None


class RequestLimits:
    """The pure ASGI middleware (no BaseHTTPMiddleware: bodies are never buffered twice)."""

    def __init__(self, app: Any, limits: Limits):
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lim, path = self.limits, scope["path"]
        headers = scope.get("headers") or []
        head = sum(len(name) + len(value) + 4 for name, value in headers)  # "name: value\r\n"
        if head > lim.header_bytes:
            await answer(scope, send, 431, f"request headers of {head // 1024} KiB, over the "
                         f"{lim.header_bytes // 1024} KiB limit", "send fewer or shorter headers "
                         "(cookies, tokens), or raise api.max_header_kb")
            return
        upload = lim.is_upload(path)
        limit = lim.upload_bytes if upload else lim.json_bytes
        declared = dict(headers).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(scope, send, too_large(limit))
            return
        body = _Body(receive, limit, lim.timeout_s)
        if upload:
            await self._streamed(scope, body, send)
            return
        try:
            data, gone = await body.read_all()
        except BodyRefused as exc:
            await _refuse(scope, send, exc)
            return
        if json_depth(data, stop_at=lim.depth + 1) > lim.depth:
            from ragloom.retrieval.where import MAX_DEPTH

            await answer(scope, send, 400, f"the request body nests deeper than {lim.depth} "
                         "levels", f"send flatter JSON (a metadata filter nests at most "
                         f"{MAX_DEPTH} levels); see /docs for the schema")
            return
        await self.app(scope, _replay(data, gone, receive), send)

    async def _streamed(self, scope: Scope, body: _Body, send: Any) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body.next, tracking_send)
        except BodyRefused as exc:  # read outside FastAPI's handlers: answer here
            if not started:
                await _refuse(scope, send, exc)


def _replay(data: bytes, gone: Message | None, receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": data, "more_body": False}]
    if gone is not None:
        pending.append(gone)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _refuse(scope: Scope, send: Any, exc: BodyRefused) -> None:
    await answer(scope, send, exc.status_code, exc.error, exc.fix)


async def answer(scope: Scope, send: Any, status: int, error: str, fix: str) -> None:
    """The API's JSON error, sent straight from the middleware; the connection then closes."""
    body = json.dumps(error_body(scope["path"], status, error, fix)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, limits: Limits) -> None:
    """The middleware, and the handler that answers a refusal raised inside a route's read."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyRefused)
        return JSONResponse(error_body(request.url.path, exc.status_code, exc.error, exc.fix),
                            status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(BodyRefused, refused)
    app.add_middleware(RequestLimits, limits=limits)


def safe_filename(raw: str | None) -> str:
    """``ragloom.retrieval.uploads.safe_filename``, refusing an unusable name with a 422."""
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
