"""Conversation threads (LangGraph checkpoints): ``HOME/conversations.sqlite`` by default, the
shared PostgreSQL through LangGraph's own ``PostgresSaver`` when ``database_url`` is set, so a
conversation started on one replica continues on any other."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragloom.core.private import private_file


@functools.lru_cache(maxsize=8)
def _pool(url: str) -> Any:
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    from ragloom.core.storage.engines import shared_engine

    shared_engine(url)  # refuses a database whose schema is behind, naming `ragloom db upgrade`
    # The connection settings PostgresSaver documents: autocommit, no prepared statements.
    return ConnectionPool(url, min_size=1, max_size=10, open=True, kwargs={
        "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})


@contextlib.contextmanager
def checkpointer(home: Path, database: str | None) -> Iterator[Any]:
    """The saver that keeps threads: shared (PostgreSQL) or this home's SQLite file."""
    if database:
        from langgraph.checkpoint.postgres import PostgresSaver

        yield PostgresSaver(_pool(_plain(database)))
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = private_file(home / "conversations.sqlite")  # questions and answers: 0600
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


def setup_threads(database: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (its own, idempotent migrations)."""
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(_plain(database)) as saver:
        saver.setup()


def _plain(url: str) -> str:
    """psycopg takes ``postgresql://``, not SQLAlchemy's ``postgresql+psycopg://``."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
