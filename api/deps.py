"""What every route needs: the service state, the caller, and permission checks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from ragloom.agents.contexts import ContextCache
from ragloom.agents.state import ContextFactory
from ragloom.api.audit import AuditLog
from ragloom.api.errors import ApiError
from ragloom.api.keys import LOCAL_ADMIN, KeyStore, Level, Principal
from ragloom.core.settings import Settings

log = logging.getLogger(__name__)

def default_embeddings(settings: Settings) -> Any:
    from ragloom.core.models import get_embeddings

    return get_embeddings(settings.embedding, settings)


@dataclass
class ServiceState:
    settings: Settings
    keys: KeyStore
    audit: AuditLog
    auth: bool
    context_factory: ContextFactory = field(default_factory=ContextCache)
    embeddings_of: Callable[[Settings], Any] = default_embeddings
    jobs: Any = None  # api.jobs.IngestJobs
    ask_slots: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(32))

    @property
    def uploads_dir(self) -> Path:
        return self.settings.home / "uploads"


def service(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


Service = Annotated[ServiceState, Depends(service)]


def _presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def caller(request: Request, svc: Service) -> Principal:
    """The authenticated principal; 401 without a valid key (keys only in headers, never URLs)."""
    if not svc.auth:
        return LOCAL_ADMIN
    presented = _presented_key(request)
    if not presented:
        raise ApiError(401, "no API key", "send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                       "(create one with `ragloom keys create`)", {"WWW-Authenticate": "Bearer"})
    principal = svc.keys.verify(presented)
    if principal is None:
        raise ApiError(401, "invalid or revoked API key", "check the key, or ask an admin for a new "
                       "one", {"WWW-Authenticate": "Bearer"})
    return principal


Caller = Annotated[Principal, Depends(caller)]


def require(principal: Principal, collection: str, need: Level) -> None:
    if not principal.can(collection, need):
        raise ApiError(403, f"key '{principal.name}' may not {need} collection '{collection}'",
                       f"ask an admin for {need} permission on '{collection}'")


def require_admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise ApiError(403, f"key '{principal.name}' may not {action}",
                       "this needs an admin key")
