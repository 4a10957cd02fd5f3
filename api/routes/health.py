"""Liveness and readiness, without a key (they reveal no data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ragloom.api.deps import Service
from ragloom.api.errors import STORE_DOWN_FIX

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The store answers (503 when it does not)")
def ready(svc: Service) -> Any:
    from ragloom.retrieval.store import check_store

    check = check_store(svc.settings)
    if not check.ok:
        return JSONResponse({"error": "the vector store is unreachable", "fix": STORE_DOWN_FIX},
                            status_code=503)
    return {"status": "ready", "store": svc.settings.chroma.mode}
