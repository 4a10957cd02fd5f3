"""Request limits: chunked bodies over the limit, deep JSON, big headers, slow bodies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ragloom.api.json_depth import json_depth
from ragloom.api.limits import Limits, RequestLimits
from tests.unit.api_helpers import client, key


def _chunks(data: bytes, size: int = 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_json_depth_counts_brackets_outside_strings() -> None:
    assert json_depth(b"") == 0 and json_depth(b'{"a": 1}') == 1
    assert json_depth(b'{"a": [{"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'{"a": "x\\"[[[["}') == 1  # an escaped quote does not end the string
    assert json_depth(b"[" * 5000, stop_at=33) == 33
    assert json_depth(b'["unterminated [[[[') == 1
    start = time.perf_counter()
    json_depth(b'\\"' * 200_000)  # many would-be strings: still linear
    assert time.perf_counter() - start < 1.0


@pytest.fixture
def api(settings):  # type: ignore[no-untyped-def]
    settings.api.max_body_kb = 4
    settings.api.max_upload_mb = 0.01  # ~10 KiB
    with client(settings) as c:
        yield c, key(settings, "admin")


def test_chunked_json_body_over_the_limit_is_413_with_a_fix(api) -> None:
    http, admin = api
    body = b'{"question": "' + b"x" * 8000 + b'"}'
    r = http.post("/ask", content=_chunks(body), headers={**admin,
                                                          "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert "over 4 KiB" in r.json()["error"] and "api.max_body_kb" in r.json()["fix"]


def test_chunked_upload_over_the_limit_is_413_not_400(api) -> None:
    http, admin = api
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n").encode() + b"x" * 40_000
    r = http.post("/collections/sample/documents", content=_chunks(body), headers={
        **admin, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text
    assert r.json()["fix"] and "over" in r.json()["error"]


def test_deep_json_is_400_with_a_fix(api) -> None:
    http, admin = api
    deep = '{"question": "q", "where": ' + "[" * 1000 + "]" * 1000 + "}"  # ~1,000 deep
    r = http.post("/ask", content=deep, headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "nests deeper than 32 levels" in r.json()["error"] and r.json()["fix"]
    flat = http.post("/ask", json={"question": "q", "where": {"page": {"$lte": 3}}},
                     headers=admin)
    assert flat.status_code != 400, flat.text  # an ordinary filter is let through


def test_huge_header_is_431(api) -> None:
    http, admin = api
    r = http.get("/health", headers={"X-Big": "a" * 100_000})
    assert r.status_code == 431, r.text
    assert "over the 16 KiB limit" in r.json()["error"] and "api.max_header_kb" in r.json()["fix"]
    assert http.get("/health", headers={"X-Small": "a" * 1000}).status_code == 200


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.messages[1]["body"]))


def _slow_receive(first: bytes) -> Any:
    """A client that sends part of its body, then nothing (Content-Length larger than sent)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": first, "more_body": True}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    return receive


def _limits(**kw: Any) -> Limits:
    base = {"json_bytes": 4096, "upload_bytes": 1 << 20, "header_bytes": 16384, "depth": 32,
            "timeout_s": 0.3, "is_upload": lambda path: path.endswith("/documents")}
    return Limits(**{**base, **kw})


@pytest.mark.parametrize("path", ["/ask", "/collections/c/documents"])
def test_a_body_that_stops_arriving_is_408_within_the_timeout(path: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        raise AssertionError("the app must not get the whole body")

    sent = _Recorder()
    scope = {"type": "http", "path": path, "headers": [(b"content-length", b"900")]}
    start = time.monotonic()
    asyncio.run(RequestLimits(app, _limits())(scope, _slow_receive(b"{" * 10), sent))
    assert time.monotonic() - start < 2.0
    assert sent.status == 408 and "did not arrive within 0.3 s" in sent.json()["error"]
    assert "api.body_timeout_s" in sent.json()["fix"]


def test_after_the_body_the_app_still_hears_the_disconnect_without_a_deadline() -> None:
    heard: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["body"] == b"{}"
        heard.append((await receive())["type"])

    messages = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(0.6)  # longer than the body timeout: must not be a 408
        return {"type": "http.disconnect"}

    sent = _Recorder()
    asyncio.run(RequestLimits(app, _limits())({"type": "http", "path": "/ask", "headers": []},
                                              receive, sent))
    assert heard == ["http.disconnect"] and sent.messages == []
