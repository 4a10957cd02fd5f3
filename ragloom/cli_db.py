"""`ragloom db`: the shared PostgreSQL database's schema (status, upgrade)."""

from __future__ import annotations

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
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        err.print(f"{where}: schema already at {after}", highlight=False)
    else:
        err.print(f"{where}: schema {before or 'none'} -> {after}", highlight=False)
