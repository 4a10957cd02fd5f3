"""``/metrics`` for Prometheus, and the middleware that counts every request by route template
(never by raw path: a scanner's random URLs must not create series)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ragloom.api.deps import Caller, require_admin
from ragloom.core import metrics
from ragloom.core.settings import Settings

router = APIRouter(tags=["metrics"])


def _exposition() -> Response:
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


@router.get("/metrics", summary="Prometheus metrics (an admin key, unless api.metrics = 'open')")
def scrape(who: Caller) -> Response:
    require_admin(who, "read metrics")
    return _exposition()


open_router = APIRouter(tags=["metrics"])


@open_router.get("/metrics", summary="Prometheus metrics (open: api.metrics = 'open')")
def scrape_open() -> Response:
    return _exposition()


class RequestMetrics:
    """Pure ASGI: status and time to the response's start, by method and route template."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, seen = time.perf_counter(), {"status": 500}

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                route = getattr(scope.get("route"), "path", "unmatched")
                metrics.request_seconds.labels(scope["method"], route).observe(
                    time.perf_counter() - start)
                metrics.requests.labels(scope["method"], route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, sending)


class QueueDepth:
    """``ragloom_queue_jobs{queue,status}``: procrastinate's waiting and running jobs, read from
    the shared database at each scrape (nothing without one: work then runs in-process)."""

    settings: Settings | None = None

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy import text

        family = GaugeMetricFamily("ragloom_queue_jobs", "Jobs on the task queue waiting (todo) "
                                   "or running (doing), by queue", labels=["queue", "status"])
        if self.settings is not None and self.settings.database:
            from ragloom.core.storage.engines import shared_engine

            with contextlib.suppress(Exception):  # a scrape must not fail on a database blink
                with shared_engine(self.settings.database).connect() as db:
                    rows = db.execute(text(
                        "SELECT queue_name, status, count(*) FROM procrastinate_jobs "
                        "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status")).all()
                for queue, status, count in rows:
                    family.add_metric([queue, str(status)], count)
        yield family


_queue_depth = QueueDepth()
metrics.REGISTRY.register(_queue_depth)  # type: ignore[arg-type]


def install(app: FastAPI, settings: Settings) -> None:
    _queue_depth.settings = settings  # the process's (last) app reports its database's queue
    app.add_middleware(RequestMetrics)
    mode = settings.api.metrics
    if mode != "off":
        app.include_router(open_router if mode == "open" else router)
