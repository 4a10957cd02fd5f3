"""Every answer's trace, stored in SQLite: steps and latencies, model calls, chunks, prompts."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from ragloom.core.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    thread TEXT,
    collection TEXT NOT NULL,
    graph TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_created ON traces (created);
CREATE TABLE IF NOT EXISTS feedback (
    trace_id TEXT PRIMARY KEY REFERENCES traces (id),
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
"""

RATINGS = ("up", "down")


class TraceStore:
    def __init__(self, path: Path):
        private_file(path)  # 0600 in a 0700 folder before SQLite opens it
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def save(self, body: dict[str, Any]) -> str:
        trace_id = uuid.uuid4().hex[:12]
        self._db.execute(
            "INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (trace_id, time.time(), body.get("thread"), body["collection"], body["graph"],
             body["question"], body["answer"], json.dumps(body, default=str)))
        return trace_id

    def get(self, trace_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT id, created, body FROM traces WHERE id = ?",
                               (trace_id,)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "created": row[1], **json.loads(row[2])}

    def recent(self, limit: int = 20) -> list[tuple[str, float, str, str]]:
        """(id, created, graph, question) of the newest traces."""
        return list(self._db.execute(
            "SELECT id, created, graph, question FROM traces ORDER BY created DESC LIMIT ?",
            (limit,)))

    def rate(self, trace_id: str, rating: str, comment: str = "") -> None:
        """Store (or replace) a user's rating of one answer; the trace must exist."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        if self._db.execute("SELECT 1 FROM traces WHERE id = ?", (trace_id,)).fetchone() is None:
            raise KeyError(trace_id)
        self._db.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?)",
                         (trace_id, rating, comment, time.time()))

    def feedback(self, rating: str | None = None) -> list[dict[str, Any]]:
        """Rated answers with their traces, newest first; ``rating`` filters to up or down."""
        rows = self._db.execute(
            "SELECT f.trace_id, f.rating, f.comment, f.created, t.body FROM feedback f "
            "JOIN traces t ON t.id = f.trace_id WHERE ?1 IS NULL OR f.rating = ?1 "
            "ORDER BY f.created DESC", (rating,))
        return [{"trace_id": r[0], "rating": r[1], "comment": r[2], "rated": r[3],
                 "trace": json.loads(r[4])} for r in rows]

    def close(self) -> None:
        self._db.close()
