"""Background work on a real task queue: procrastinate, on the shared PostgreSQL.

Why procrastinate (docs/scaling.md): the shared state already needs PostgreSQL, and
procrastinate keeps its jobs there (``FOR UPDATE SKIP LOCKED``, LISTEN/NOTIFY), so a queue adds
no broker to run, back up or secure; workers send heartbeats, and a job whose worker stopped
sending them (SIGKILL, lost machine) is put back for another worker. Celery would add Redis
and its visibility-timeout redelivery.

``ragloom worker`` runs a worker; ``enqueue_suite`` fans an evaluation out, one task per row, and
``enqueue_ingest`` queues an upload's ingest (its bytes wait in the shared database). Without
``--queue`` (or with no database) everything runs in-process as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

import procrastinate

from ragloom.core.errors import ConfigError
from ragloom.core.processes import process_tag
from ragloom.core.settings import Settings
from ragloom.core.storage.engines import libpq_url
from ragloom.evals.runs import Variant

log = logging.getLogger(__name__)
EVALS = "evals"
INGEST = "ingest"
INGEST_ATTEMPTS = 3
EVAL_ROW, INGEST_UPLOAD = "ragloom:eval_row", "ragloom:ingest_upload"


def _database(settings: Settings) -> str:
    if not settings.database:
        raise ConfigError("the task queue needs the shared database",
                          fix="set RAGLOOM_DATABASE_URL=postgresql://…, run `ragloom db upgrade`, "
                          "or run without --queue (in-process)")
    return settings.database


@functools.lru_cache(maxsize=4)
def queue_app(url: str) -> procrastinate.App:
    """One App per database, each with its own tasks. (Not a shared Blueprint: procrastinate
    re-binds a blueprint's tasks to the last App that adds it and prefixes their names again,
    so a second database in one process would defer ``ragloom:ragloom:…`` to the first one.)"""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=libpq_url(url)))
    app.task(name=EVAL_ROW, queue=EVALS, pass_context=True,
             retry=procrastinate.RetryStrategy(max_attempts=3, wait=2))(eval_row)
    app.task(name=INGEST_UPLOAD, queue=INGEST, pass_context=True,
             retry=procrastinate.RetryStrategy(max_attempts=INGEST_ATTEMPTS, wait=2))(ingest_upload)
    return app


def setup_queue(url: str) -> bool:
    """Create procrastinate's tables if missing (``ragloom db upgrade``); True if created."""
    import psycopg

    with psycopg.connect(libpq_url(url)) as conn:
        present = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
    if present and present[0]:
        return False
    app = queue_app(url)
    with app.open():
        app.schema_manager.apply_schema()
    return True


def eval_row(context: Any, suite: str, variant: dict[str, Any], run_id: str, row_id: str,
             limit: int | None, metrics: list[str] | None = None) -> None:
    """One evaluation row, on whichever worker took it."""
    from ragloom.evals.fanout import run_row

    extra = context.additional_context
    run_row(_suite(suite, metrics), extra["settings"], Variant(**variant), run_id, row_id, limit,
            worker=context.worker_name, context=extra["contexts"])


def ingest_upload(context: Any, job_id: str, collection: str, names: list[str],
                  sync: bool = False) -> None:
    """One upload job's ingest; a retry after a lost worker resumes it (ingestion is
    incremental and crash-safe)."""
    from ragloom.api.jobs import mark_failed, run_queued_ingest

    settings = context.additional_context["settings"]
    try:
        run_queued_ingest(settings, job_id, collection, names, sync, worker=context.worker_name)
    except Exception as exc:
        # The last attempt: the job's record says so, or whoever follows it would wait forever.
        if context.job.attempts + 1 >= INGEST_ATTEMPTS:
            mark_failed(settings, job_id, exc, worker=context.worker_name)
        raise


def enqueue_ingest(settings: Settings, job_id: str, collection: str, names: list[str],
                   sync: bool = False) -> None:
    """Queue the ingest of uploads already stored in the shared database. The collection is the
    job's queue lock: one collection's ingests run one after another, in order, rather than a
    second worker sitting on the collection's write lock."""
    app = queue_app(_database(settings))
    with app.open():
        task = app.configure_task(INGEST_UPLOAD, allow_unknown=False, lock=f"ingest:{collection}")
        task.defer(job_id=job_id, collection=collection, names=names, sync=sync)


def _suite(source: str, metrics: list[str] | None) -> Any:
    from ragloom.evals.suites import load_suite

    suite = load_suite(source)
    return suite.with_metrics(metrics) if metrics else suite


def enqueue_suite(source: str, settings: Settings, variants: list[Variant] | None = None,
                  limit: int | None = None, metrics: list[str] | None = None) -> list[str]:
    """Create the runs and queue their rows; returns the run ids (the workers fill them).

    ``source`` is the suite's name or the path of its YAML file, readable by every worker."""
    from dataclasses import asdict

    from ragloom.evals.fanout import start_runs

    app = queue_app(_database(settings))
    started = start_runs(_suite(source, metrics), settings, variants, limit)
    with app.open():
        row = app.configure_task(EVAL_ROW, allow_unknown=False)
        for run_id, variant, row_ids in started:
            for row_id in row_ids:
                row.defer(suite=source, variant=asdict(variant), run_id=run_id, row_id=row_id,
                          limit=limit, metrics=metrics)
    return [run_id for run_id, _, _ in started]


async def _retry_stalled(app: procrastinate.App, after_s: float) -> None:
    """Put back the jobs of workers that stopped sending heartbeats (killed, machine lost)."""
    while True:
        await asyncio.sleep(after_s / 2)
        with contextlib.suppress(Exception):  # the database may blink; the next round retries
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=after_s):
                log.warning("job %s (%s) lost its worker: retrying it", job.id, job.task_name)
                await app.job_manager.retry_job(job)


def run_worker(settings: Settings, *, name: str | None = None, stalled_after_s: float = 30.0,
               once: bool = False) -> None:
    """Work on queued tasks until stopped (``once``: until the queue is empty)."""
    from ragloom.agents.contexts import ContextCache

    app = queue_app(_database(settings))
    name = name or process_tag()  # host:pid: rows say which machine answered them

    async def work() -> None:
        async with app.open_async():
            reaper = asyncio.create_task(_retry_stalled(app, stalled_after_s))
            try:
                await app.run_worker_async(
                    queues=[EVALS, INGEST], name=name, wait=not once, concurrency=1,
                    # One context cache per worker: its rows share model clients and stores.
                    additional_context={"settings": settings, "contexts": ContextCache()},
                    update_heartbeat_interval=max(0.5, stalled_after_s / 4),
                    stalled_worker_timeout=stalled_after_s, install_signal_handlers=True)
            finally:
                reaper.cancel()

    asyncio.run(work())
