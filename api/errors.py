"""Every failure leaves the API as JSON ``{"error": ..., "fix": ...}`` with a fitting status.

Bad input is a 4xx, an unreachable store or model host a 503; a 500 means a bug (logged with an
id the client can quote). Routes under ``/v1`` answer in OpenAI's error shape so its clients can
read the message, with ``fix`` beside it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragloom.core.errors import (
    ConfigError,
    IngestError,
    ModelUnavailableError,
    PromptError,
    RagloomError,
    StoreError,
)

log = logging.getLogger(__name__)

STORE_DOWN_FIX = ("start the Chroma server (`chroma run --path DIR --port N`) or check "
                  "RAGLOOM_CHROMA__HOST / RAGLOOM_CHROMA__PORT; retry in a moment")


class ApiError(Exception):
    """An error the API raises itself: a status, what went wrong, and what to do."""

    def __init__(self, status: int, error: str, fix: str = "", headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(error)
        self.status, self.error, self.fix, self.headers = status, error, fix, headers
        self.extra = extra or {}  # more fields of the error body (e.g. a refused gate's table)


def _status_of(exc: RagloomError) -> int:
    text = exc.what.lower()
    if text.startswith(("no trace", "no suite", "no eval run", "no review item")):
        return 404
    if text.startswith("review item") and "was already" in text:
        return 409  # someone decided it first
    if isinstance(exc, ModelUnavailableError):
        return 503
    if isinstance(exc, StoreError):
        if "does not exist" in text:
            return 404
        if "invalid collection name" in text:
            return 422
        return 503
    if isinstance(exc, PromptError):
        return 404 if any(w in text for w in ("no version", "no prompt", "no label")) else 422
    if isinstance(exc, ConfigError | IngestError):
        return 422
    return 422


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a failed connection: the store or a host is down."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, httpx.TransportError | ConnectionError):
            return True
        name = type(cur).__name__
        if name in {"ConnectError", "ConnectTimeout", "RemoteProtocolError"}:
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def error_body(request_path: str, status: int, error: str, fix: str) -> dict[str, Any]:
    if request_path.startswith("/v1/"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": f"{error}. Fix: {fix}" if fix else error, "type": kind,
                          "code": status}, "fix": fix}
    return {"error": error, "fix": fix}


def _json(request: Request, status: int, error: str, fix: str,
          headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None
          ) -> JSONResponse:
    return JSONResponse({**(extra or {}), **error_body(request.url.path, status, error, fix)},
                        status_code=status, headers=headers)


def describe(exc: BaseException) -> tuple[int, str, str]:
    """(status, error, fix) for any exception: the one mapping shared by JSON and SSE answers."""
    if isinstance(exc, ApiError):
        return exc.status, exc.error, exc.fix
    if isinstance(exc, RagloomError):
        what = exc.what + (f" ({exc.subject})" if exc.subject else "")
        status = _status_of(exc)
        if status == 404 and isinstance(exc, StoreError):  # the store's fix names the CLI
            return status, what, "create it with POST /collections and upload documents to it"
        return status, what, exc.fix or ""
    if is_unreachable(exc):
        return 503, "the vector store or a model host is unreachable", STORE_DOWN_FIX
    incident = uuid.uuid4().hex[:12]
    log.error("internal error %s", incident, exc_info=exc)
    return 500, f"internal error {incident}", "this is a bug: report it with the error id"


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    errors = exc.errors()
    if not errors:
        return "invalid request", "see /docs for the request schema"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", "send a JSON object (Content-Type: application/json)"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"invalid '{where}': {first.get('msg', 'invalid value')}{more}", "see /docs for the request schema"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return _json(request, exc.status, exc.error, exc.fix, exc.headers, exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        error, fix = _validation_message(exc)
        return _json(request, 422, error, fix)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        fixes = {404: "see /docs for the endpoints", 405: "see /docs for the allowed methods"}
        error = f"{exc.detail}: {request.method} {request.url.path}" if exc.status_code in fixes \
            else str(exc.detail)
        return _json(request, exc.status_code, error, fixes.get(exc.status_code, ""),
                     getattr(exc, "headers", None))

    async def _known(request: Request, exc: Exception) -> JSONResponse:
        status, error, fix = describe(exc)
        headers = {"Retry-After": "5"} if status == 503 else None
        return _json(request, status, error, fix, headers)

    # Handled here, these are answered without Starlette's "unhandled exception" traceback.
    for kind in (RagloomError, httpx.HTTPError, ConnectionError):
        app.add_exception_handler(kind, _known)
    app.add_exception_handler(Exception, _known)  # the last resort: a logged 500, still JSON
