"""Where a store's tables live: its own SQLite file (the zero-config default) or the shared
PostgreSQL database named by ``database_url``.

SQLite tables are created on first use. PostgreSQL's schema is versioned by Alembic and only
``ragloom db upgrade`` changes it: a store opened on a database whose schema is behind the code
fails at once, naming the command to run, not with a missing column on the first request.
One pooled engine per database URL in a process; each SQLite store owns its engine.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, Table, create_engine, event

from ragloom.core.errors import ConfigError
from ragloom.core.private import private_file
from ragloom.core.storage.schema import metadata


def sqlalchemy_url(url: str) -> str:
    """``postgresql://…`` as SQLAlchemy's psycopg 3 URL; anything else is refused."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ConfigError(f"database_url must be a postgresql:// URL, not '{url.split(':')[0]}:…'",
                      fix="set RAGLOOM_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DB, "
                      "or unset it to keep the SQLite files under home")


def libpq_url(url: str) -> str:
    """``postgresql://…`` as psycopg itself takes it (LangGraph's saver, procrastinate)."""
    return "postgresql://" + sqlalchemy_url(url).removeprefix("postgresql+psycopg://")


def connect(url: str) -> Engine:
    """A new pooled engine for a PostgreSQL URL (no schema check: for migrations)."""
    return create_engine(sqlalchemy_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10)


@functools.lru_cache(maxsize=8)
def shared_engine(url: str) -> Engine:
    """The process's engine of one PostgreSQL database, checked to be at the code's schema."""
    from ragloom.core.storage.migrations import require_current

    engine = connect(url)
    require_current(engine, url)
    return engine


def sqlite_engine(path: Path, tables: list[Table], synchronous: str = "NORMAL") -> Engine:
    """``synchronous=NORMAL`` may lose the last commits on power loss, never corrupt; FULL for
    what must agree with another store (the manifest with Chroma)."""
    private_file(path)  # 0600 in a 0700 folder before SQLite creates it
    engine = create_engine(f"sqlite:///{path}",
                           connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
        conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")

    metadata.create_all(engine, tables=tables)
    return engine


def _insert(db: Connection, table: Table, values: dict[str, object]) -> Any:
    if db.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).values(**values)


def upsert(db: Connection, table: Table, values: dict[str, object]) -> None:
    """Insert a row, or replace the one with the same primary key (both dialects)."""
    keys = [c.name for c in table.primary_key.columns]
    db.execute(_insert(db, table, values).on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}))


def upsert_returning(db: Connection, table: Table, values: dict[str, object],
                     on_conflict: dict[str, object], column: Any) -> Any:
    """Insert ``values``, or apply ``on_conflict`` to the existing row; return ``column``."""
    keys = [c.name for c in table.primary_key.columns]
    statement = _insert(db, table, values).on_conflict_do_update(index_elements=keys,
                                                                 set_=on_conflict)
    return db.execute(statement.returning(column)).scalar_one()


def store_target(database_url: str | None, sqlite_file: Path) -> Path | Engine:
    """What a store opens: the shared database when one is configured, else its own file."""
    return shared_engine(database_url) if database_url else sqlite_file


class SqlStore:
    """A store on ``target``: a shared engine (PostgreSQL), or the path of its own SQLite file."""

    tables: ClassVar[list[Table]]

    def __init__(self, target: Path | Engine):
        self._owned = not isinstance(target, Engine)
        self.engine = sqlite_engine(Path(target), self.tables) if self._owned else target

    def close(self) -> None:
        if self._owned:  # a shared engine outlives any one store
            self.engine.dispose()
