"""The audit log (SQLite): who asked what of which collection, who changed which prompt or key.

Entries name the key by id and name, never by its secret; request bodies are not stored, only the
fields an auditor needs (the question, the prompt version, the file names).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ragloom.core.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, key_id TEXT NOT NULL,
  key_name TEXT NOT NULL, action TEXT NOT NULL, collection TEXT, target TEXT,
  outcome TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
"""
_MAX_FIELD = 2000  # a question longer than this is cut: the log is for auditing, not archiving


class AuditLog:
    def __init__(self, path: Path):
        private_file(path)  # 0600 in a 0700 folder before SQLite opens it
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def record(self, principal: Any, action: str, *, collection: str | None = None,
               target: str | None = None, outcome: str = "ok", **detail: Any) -> None:
        clean = {k: (v[:_MAX_FIELD] if isinstance(v, str) else v) for k, v in detail.items()}
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO audit (ts, key_id, key_name, action, collection, target, outcome, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time.time(), principal.id, principal.name, action, collection, target, outcome,
                 json.dumps(clean, default=str)))

    def entries(self, *, limit: int = 100, action: str | None = None,
                collection: str | None = None, key_id: str | None = None) -> list[dict[str, Any]]:
        """Newest first, optionally filtered."""
        sql, args = "SELECT * FROM audit WHERE 1=1", []
        for column, value in (("action", action), ("collection", collection), ("key_id", key_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            cur = self._db.execute(sql, (*args, limit))
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        out = [dict(zip(names, r, strict=True)) for r in rows]
        for row in out:
            row["detail"] = json.loads(row["detail"])
        return out


def audit_path(home: Path) -> Path:
    return home / "api" / "audit.sqlite"
