"""The audit log (SQLite, or the shared PostgreSQL): who asked what of which collection, who
changed which prompt or key.

Entries name the key by id and name, never by its secret; request bodies are not stored, only the
fields an auditor needs (the question, the prompt version, the file names).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target
from ragloom.core.storage.schema import audit as _audit

_MAX_FIELD = 2000  # a question longer than this is cut: the log is for auditing, not archiving


class AuditLog(SqlStore):
    tables = [_audit]

    def record(self, principal: Any, action: str, *, collection: str | None = None,
               target: str | None = None, outcome: str = "ok", **detail: Any) -> None:
        clean = {k: (v[:_MAX_FIELD] if isinstance(v, str) else v) for k, v in detail.items()}
        with self.engine.begin() as db:
            db.execute(insert(_audit).values(
                ts=time.time(), key_id=principal.id, key_name=principal.name, action=action,
                collection=collection, target=target, outcome=outcome,
                detail=json.dumps(clean, default=str)))

    def entries(self, *, limit: int = 100, action: str | None = None,
                collection: str | None = None, key_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first, optionally filtered."""
        query = select(_audit).order_by(_audit.c.seq.desc()).limit(limit)
        for column, value in (("action", action), ("collection", collection), ("key_id", key_id)):
            if value is not None:
                query = query.where(_audit.c[column] == value)
        with self.engine.connect() as db:
            rows = [dict(r._mapping) for r in db.execute(query)]
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows


def audit_path(home: Path) -> Path:
    return home / "api" / "audit.sqlite"


def audit_log(settings: Settings) -> AuditLog:
    """The audit log every replica shares (``database_url``), else this home's SQLite file."""
    return AuditLog(store_target(settings.database, audit_path(settings.home)))
