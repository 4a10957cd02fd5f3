"""Shared collection generations: how replicas without a shared filesystem keep BM25 in step.

With ``database_url`` set, every manifest commit (``ragloom.retrieval.manifest``) moves the
collection's generation on in the shared database, in the commit's own transaction; a replica
whose own BM25 index (``HOME/bm25/NAME``) was built at another generation rebuilds it from the
chunks in Chroma (the server every replica uses) before its next search. Without a database the
same table in the collection's SQLite manifest plays that part, on one machine.
"""

from __future__ import annotations

import functools

from sqlalchemy import delete, select

from ragloom.core.settings import Settings
from ragloom.core.storage.engines import SqlStore, shared_engine
from ragloom.core.storage.schema import collection_generations as _generations


class Generations(SqlStore):
    tables = [_generations]

    def get(self, name: str) -> int:
        """The collection's generation; 0 before its first ingest."""
        with self.engine.connect() as db:
            found = db.execute(select(_generations.c.generation)
                               .where(_generations.c.name == name)).scalar()
        return int(found or 0)

    def forget(self, name: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(_generations).where(_generations.c.name == name))


@functools.lru_cache(maxsize=8)
def _shared(url: str) -> Generations:
    return Generations(shared_engine(url))


def shared_generations(settings: Settings) -> Generations | None:
    """The shared generations when ``database_url`` is set, else None (one machine)."""
    return _shared(settings.database) if settings.database else None
