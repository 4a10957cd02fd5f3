"""`ragloom db`: the shared PostgreSQL database's schema (status, upgrade)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from ragloom.console import err, out, settings_of
from ragloom.core.errors import ConfigError

db_app = typer.Typer(help="The shared database (database_url): schema status and upgrade.",
                     no_args_is_help=True)


def _url(ctx: typer.Context) -> str:
    url = settings_of(ctx).database
    if not url:
        raise ConfigError("no database_url is set: state lives in SQLite files under home, "
                          "created on first use (nothing to upgrade)",
                          fix="set RAGLOOM_DATABASE_URL=postgresql://USER:PASSWORD@HOST/DB to "
                          "share state between machines")
    return url


@db_app.command()
def status(ctx: typer.Context) -> None:
    """The database's schema version and the one this ragloom needs."""
    from ragloom.core.storage.engines import connect
    from ragloom.core.storage.migrations import current, head

    engine = connect(_url(ctx))
    try:
        at, want = current(engine), head()
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    out.print(f"{where}: schema {at or 'none'}, this ragloom needs {want}"
              f"{'' if at == want else ' (run `ragloom db upgrade`)'}", highlight=False)
    if at != want:
        raise typer.Exit(1)


@db_app.command()
def upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the shared database's tables (safe to re-run; one transaction)."""
    from ragloom.core.storage.engines import connect
    from ragloom.core.storage.migrations import upgrade as apply
    from ragloom.core.storage.threads import setup_threads

    url = _url(ctx)
    engine = connect(url)
    try:
        before, after = apply(engine)
    finally:
        engine.dispose()
    setup_threads(url)  # LangGraph's checkpoint tables, by its own migrations
    from ragloom.queue import setup_queue

    if setup_queue(url):  # procrastinate's tables, for `ragloom worker`
        err.print("created the task queue's tables (procrastinate)", highlight=False)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        err.print(f"{where}: schema already at {after}", highlight=False)
    else:
        err.print(f"{where}: schema {before or 'none'} -> {after}", highlight=False)


def worker(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="This worker's name in logs.")] = None,
    stalled_after: Annotated[float, typer.Option(
        help="Seconds without a heartbeat after which another worker's task is retried.")
                             ] = 30.0,
    once: Annotated[bool, typer.Option(help="Stop when the queue is empty.")] = False,
) -> None:
    """Run queued background work (evaluation rows, uploads to ingest) from the shared database,
    until stopped."""
    from ragloom.queue import run_worker

    settings = settings_of(ctx)
    if not settings.database:
        raise ConfigError("a worker takes its tasks from the shared database, and no "
                          "database_url is set",
                          fix="set RAGLOOM_DATABASE_URL=postgresql://… (the same as the API's) "
                          "and run `ragloom db upgrade` once")
    err.print(f"ragloom worker {name or ''} waiting for tasks (Ctrl-C stops)", highlight=False)
    # A worker's log says which task it took and how it ended, even without --verbose.
    logging.getLogger("procrastinate.worker").setLevel(logging.INFO)
    run_worker(settings, name=name, stalled_after_s=stalled_after, once=once)
