"""Evaluation runs in SQLite (``HOME/evals.sqlite``): one row per run, one per answered question,
the API's background launches, and the judge cache. Rows are written as they finish, so a crash
or Ctrl-C keeps them."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ragloom.core.errors import RagloomError
from ragloom.core.private import private_file

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    suite TEXT NOT NULL,
    variant TEXT NOT NULL,
    created REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,          -- running, done, interrupted, failed
    config TEXT NOT NULL           -- JSON: commit, prompts, graph, models, settings, metrics, ...
);
CREATE TABLE IF NOT EXISTS rows (
    run_id TEXT NOT NULL REFERENCES runs (id),
    row_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    body TEXT NOT NULL,            -- JSON: question, reference, answer, contexts, scores, timings
    PRIMARY KEY (run_id, row_id)
);
CREATE TABLE IF NOT EXISTS launches (
    id TEXT PRIMARY KEY,           -- a background start from the API (one or more runs)
    owner TEXT NOT NULL,           -- host:pid of the server process running it
    updated REAL NOT NULL,
    body TEXT NOT NULL             -- JSON: status, suite, run_ids, progress, error, fix
);
CREATE TABLE IF NOT EXISTS judge_cache (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    created REAL NOT NULL
);
"""


class RunStore:
    """Runs, their rows and the judge cache. Safe to share between threads of one process."""

    def __init__(self, path: Path):
        private_file(path)  # 0600 in a 0700 folder before SQLite opens it
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def for_home(cls, home: Path) -> RunStore:
        return cls(home / "evals.sqlite")

    # ------------------------------------------------------------------ runs
    def create_run(self, suite: str, variant: str, config: dict[str, Any]) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._lock:
            self._db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, NULL, 'running', ?)",
                             (run_id, suite, variant, time.time(), json.dumps(config, default=str)))
        return run_id

    def set_status(self, run_id: str, status: str) -> None:
        with self._lock:
            self._db.execute("UPDATE runs SET status = ?, finished = ? WHERE id = ?",
                             (status, time.time() if status != "running" else None, run_id))

    def update_config(self, run_id: str, extra: dict[str, Any]) -> None:
        with self._lock:
            found = self._db.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
            config = {**json.loads(found[0]), **extra}
            self._db.execute("UPDATE runs SET config = ? WHERE id = ?",
                             (json.dumps(config, default=str), run_id))

    def list_runs(self, suite: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first: id, suite, variant, created, finished, status, row_count, config."""
        with self._lock:
            found = self._db.execute(
                "SELECT r.id, r.suite, r.variant, r.created, r.finished, r.status, r.config, "
                "(SELECT COUNT(*) FROM rows w WHERE w.run_id = r.id) FROM runs r "
                "WHERE ?1 IS NULL OR r.suite = ?1 ORDER BY r.created DESC LIMIT ?2",
                (suite, limit)).fetchall()
        return [_run_dict(r) for r in found]

    def run_info(self, run_id: str) -> dict[str, Any]:
        with self._lock:
            found = self._db.execute(
                "SELECT r.id, r.suite, r.variant, r.created, r.finished, r.status, r.config, "
                "(SELECT COUNT(*) FROM rows w WHERE w.run_id = r.id) FROM runs r "
                "WHERE r.id = ? OR r.id LIKE ? ORDER BY r.created DESC",
                (run_id, f"%{run_id}")).fetchall()
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise RagloomError(f"{what} eval run matches '{run_id}'",
                               fix="see `ragloom eval list` for run ids")
        return _run_dict(found[0])

    # ------------------------------------------------------------------ rows
    def save_row(self, run_id: str, row_id: str, position: int, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?)",
                             (run_id, row_id, position, json.dumps(body, default=str)))

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._db.execute("SELECT row_id, body FROM rows WHERE run_id = ? "
                                     "ORDER BY position", (run_id,)).fetchall()
        return [{"id": rid, **json.loads(body)} for rid, body in found]

    def done_row_ids(self, run_id: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT row_id FROM rows WHERE run_id = ?",
                                                    (run_id,))}

    # ------------------------------------------------------------------ launches
    def save_launch(self, launch_id: str, owner: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO launches VALUES (?, ?, ?, ?)",
                             (launch_id, owner, time.time(), json.dumps(body, default=str)))

    def launch(self, launch_id: str) -> tuple[str, dict[str, Any]] | None:
        """(owner, body) of a launch, or None."""
        with self._lock:
            found = self._db.execute("SELECT owner, body FROM launches WHERE id = ?",
                                     (launch_id,)).fetchone()
        return None if found is None else (found[0], json.loads(found[1]))

    # ------------------------------------------------------------------ judge cache
    def cached(self, key: str) -> tuple[bool, float | None]:
        """(hit, value); a cached value may be None (the judge gave no score, e.g. NaN)."""
        with self._lock:
            found = self._db.execute("SELECT value FROM judge_cache WHERE key = ?",
                                     (key,)).fetchone()
        return (False, None) if found is None else (True, found[0])

    def cache(self, key: str, judge: str, metric: str, value: float | None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO judge_cache VALUES (?, ?, ?, ?, ?)",
                             (key, judge, metric, value, time.time()))

    def close(self) -> None:
        self._db.close()


def _run_dict(r: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": r[0], "suite": r[1], "variant": r[2], "created": r[3], "finished": r[4],
            "status": r[5], "config": json.loads(r[6]), "row_count": r[7]}
