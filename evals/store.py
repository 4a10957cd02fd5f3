"""Evaluation runs in SQLite (``HOME/evals.sqlite``) or the shared PostgreSQL: one row per run,
one per answered question, the API's background launches, and the judge cache. Rows are written
as they finish, so a crash or Ctrl-C keeps them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, store_target, upsert
from ragloom.core.storage.schema import judge_cache, launches, run_rows, runs


class RunStore(SqlStore):
    """Runs, their rows, launches and the judge cache. Safe to share between threads."""

    tables = [runs, run_rows, launches, judge_cache]

    @classmethod
    def for_settings(cls, settings: Settings) -> RunStore:
        """The shared database's runs (``database_url``), else ``HOME/evals.sqlite``."""
        return cls(store_target(settings.database, settings.home / "evals.sqlite"))

    # ------------------------------------------------------------------ runs
    def create_run(self, suite: str, variant: str, config: dict[str, Any]) -> str:
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self.engine.begin() as db:
            db.execute(insert(runs).values(id=run_id, suite=suite, variant=variant,
                                           created=time.time(), status="running",
                                           config=json.dumps(config, default=str)))
        return run_id

    def set_status(self, run_id: str, status: str, *, revive: bool = False) -> None:
        """A cancelled run stays cancelled (a worker's late row must not reopen it), unless
        ``revive`` (``--resume`` continues it on purpose)."""
        query = update(runs).where(runs.c.id == run_id)
        if not revive and status != "cancelled":
            query = query.where(runs.c.status != "cancelled")
        with self.engine.begin() as db:
            db.execute(query.values(status=status,
                                    finished=time.time() if status != "running" else None))

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancel a run that is queued or running: the process or workers answering it stop
        before their next row; finished rows stay (``--resume`` continues it)."""
        run = self.run_info(run_id)
        if run["status"] in ("done", "failed", "cancelled"):
            raise RagloomError(f"run {run['id']} is {run['status']}: nothing to cancel",
                               fix="cancel a queued or running run (`ragloom eval list`)")
        self.set_status(run["id"], "cancelled")
        return self.run_info(run["id"])

    def cancelled(self, run_id: str) -> bool:
        with self.engine.connect() as db:
            return db.execute(select(runs.c.status).where(runs.c.id == run_id)
                              ).scalar_one_or_none() == "cancelled"

    def update_config(self, run_id: str, extra: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            found = db.execute(select(runs.c.config).where(runs.c.id == run_id)).scalar_one()
            config = {**json.loads(found), **extra}
            db.execute(update(runs).where(runs.c.id == run_id)
                       .values(config=json.dumps(config, default=str)))

    def _runs(self) -> Any:
        row_count = (select(func.count()).select_from(run_rows)
                     .where(run_rows.c.run_id == runs.c.id).scalar_subquery())
        return select(runs.c.id, runs.c.suite, runs.c.variant, runs.c.created, runs.c.finished,
                      runs.c.status, runs.c.config, row_count).order_by(runs.c.created.desc())

    def list_runs(self, suite: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first: id, suite, variant, created, finished, status, row_count, config."""
        query = self._runs().limit(limit)
        if suite is not None:
            query = query.where(runs.c.suite == suite)
        with self.engine.connect() as db:
            return [_run_dict(r) for r in db.execute(query)]

    def run_info(self, run_id: str) -> dict[str, Any]:
        """One run by its id or the end of it (``ragloom eval show 3f2a1c``)."""
        suffix = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = self._runs().where(or_(runs.c.id == run_id,
                                       runs.c.id.like(f"%{suffix}", escape="\\")))
        with self.engine.connect() as db:
            found = list(db.execute(query))
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise RagloomError(f"{what} eval run matches '{run_id}'",
                               fix="see `ragloom eval list` for run ids")
        return _run_dict(found[0])

    # ------------------------------------------------------------------ rows
    def save_row(self, run_id: str, row_id: str, position: int, body: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            upsert(db, run_rows, {"run_id": run_id, "row_id": row_id, "position": position,
                                  "body": json.dumps(body, default=str)})

    def rows(self, run_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            found = db.execute(select(run_rows.c.row_id, run_rows.c.body)
                               .where(run_rows.c.run_id == run_id).order_by(run_rows.c.position))
            return [{"id": rid, **json.loads(body)} for rid, body in found]

    def done_row_ids(self, run_id: str) -> set[str]:
        with self.engine.connect() as db:
            return set(db.execute(select(run_rows.c.row_id)
                                  .where(run_rows.c.run_id == run_id)).scalars())

    # ------------------------------------------------------------------ launches
    def save_launch(self, launch_id: str, owner: str, body: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            upsert(db, launches, {"id": launch_id, "owner": owner, "updated": time.time(),
                                  "body": json.dumps(body, default=str)})

    def launch(self, launch_id: str) -> tuple[str, dict[str, Any]] | None:
        """(owner, body) of a launch, or None."""
        with self.engine.connect() as db:
            found = db.execute(select(launches.c.owner, launches.c.body)
                               .where(launches.c.id == launch_id)).first()
        return None if found is None else (found[0], json.loads(found[1]))

    # ------------------------------------------------------------------ judge cache
    def cached(self, key: str) -> tuple[bool, float | None]:
        """(hit, value); a cached value may be None (the judge gave no score, e.g. NaN)."""
        with self.engine.connect() as db:
            found = db.execute(select(judge_cache.c.value).where(judge_cache.c.key == key)).first()
        return (False, None) if found is None else (True, found[0])

    def cache(self, key: str, judge: str, metric: str, value: float | None) -> None:
        with self.engine.begin() as db:
            upsert(db, judge_cache, {"key": key, "judge": judge, "metric": metric,
                                     "value": value, "created": time.time()})


def _run_dict(r: Any) -> dict[str, Any]:
    return {"id": r[0], "suite": r[1], "variant": r[2], "created": r[3], "finished": r[4],
            "status": r[5], "config": json.loads(r[6]), "row_count": r[7]}
