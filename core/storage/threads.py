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

# The types a graph's state holds besides plain data. LangGraph warns on any other (and will
# refuse them): naming them keeps threads readable when that default tightens.
STATE_TYPES = [("ragloom.retrieval.types", "RetrievedChunk"),
               ("ragloom.agents.citations", "Citation"),
               ("ragloom.agents.claims", "ClaimVerdict")]


@functools.cache
def _serde() -> Any:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


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

        # The same URL as the stores: one schema check.
        yield PostgresSaver(_pool(database), serde=_serde())
        return
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = private_file(home / "conversations.sqlite")  # questions and answers: 0600
    # What SqliteSaver.from_conn_string does, with the serializer that knows our state types.
    with contextlib.closing(sqlite3.connect(str(path), check_same_thread=False)) as conn:
        yield SqliteSaver(conn, serde=_serde())


def setup_threads(database: str) -> None:
    """Create or upgrade LangGraph's checkpoint tables (its own, idempotent migrations)."""
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(libpq_url(database)) as saver:
        saver.setup()
