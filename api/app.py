"""The FastAPI application factory: ``create_app(settings)``; ``ragloom serve`` runs it."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ragloom.agents.contexts import ContextCache
from ragloom.agents.state import ContextFactory
from ragloom.api import errors, limits
from ragloom.api.audit import audit_log
from ragloom.api.deps import ServiceState, default_embeddings
from ragloom.api.jobs import IngestJobs
from ragloom.api.keys import key_store
from ragloom.api.routes import (
    ask,
    collections,
    evals,
    experiments,
    health,
    metrics,
    openai,
    prompts,
    review,
    traces,
)
from ragloom.core.models.turns import answers_at_once
from ragloom.core.private import private_dir
from ragloom.core.settings import Settings

log = logging.getLogger(__name__)
UPLOAD_PATH_SUFFIX = "/documents"


def create_app(settings: Settings, *, auth: bool | None = None,
               context_factory: ContextFactory | None = None,
               embeddings_of: Callable[[Settings], Any] = default_embeddings) -> FastAPI:
    """Build the app. ``auth`` defaults to ``settings.api.auth``; the factories are for tests."""
    private_dir(settings.home)  # 0700, also an existing home made by an older version
    svc = ServiceState(settings=settings, keys=key_store(settings),
                       audit=audit_log(settings),
                       auth=settings.api.auth if auth is None else auth,
                       context_factory=context_factory or ContextCache(),
                       embeddings_of=embeddings_of,
                       ask_slots=threading.BoundedSemaphore(
                           answers_at_once(settings.chat, settings.api.ask_concurrency)))
    svc.jobs = IngestJobs(settings, embeddings_of)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.jobs.close()
        svc.keys.close()
        svc.audit.close()

    app = FastAPI(title="ragloom", version="0.1.0", lifespan=lifespan,
                  description="Ask questions over your documents, with cited answers. "
                  "Authenticate with 'Authorization: Bearer KEY'.")
    app.state.service = svc
    errors.install(app)
    for module in (health, collections, ask, traces, prompts, evals, experiments, review, openai):
        app.include_router(module.router)
    if settings.api.cors_origins:  # closed unless origins are configured
        app.add_middleware(CORSMiddleware, allow_origins=settings.api.cors_origins,
                           allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])
    limits.install(app, limits.Limits.of(
        settings.api, is_upload=lambda path: path.endswith(UPLOAD_PATH_SUFFIX)))
    metrics.install(app, settings)  # outermost: refused requests are counted too
    return app
