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
from ragloom.core.storage.engines import libpq_url, shared_engine


@functools.lru_cache(maxsize=8)
def _pool(url: str) -> Any:
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool

    shared_engine(url)  # refuses a database whose schema is behind, naming `ragloom db upgrade`
    # The connection settings PostgresSaver documents: autocommit, no prepared statements.
    return ConnectionPool(libpq_url(url), min_size=1, max_size=10, open=True, kwargs={
        "autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})


@contextlib.contextmanager
def checkpointer(home: Path, database: str | None) -> Iterator[Any]:
    """The saver that keeps threads: shared (PostgreSQL) or this home's SQLite file."""
    if database:
        from langgraph.checkpoint.postgres import PostgresSaver

        yield PostgresSaver(_pool(database))  # the same URL as the stores: one schema check
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = private_file(home / "conversations.sqlite")  # questions and answers: 0600
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


def setup_threads(database: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (its own, idempotent migrations)."""
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(libpq_url(database)) as saver:
        saver.setup()
