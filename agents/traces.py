"""Every answer's trace (SQLite, or the shared PostgreSQL): steps and latencies, model calls,
chunks, prompts; and the users' ratings of answers."""

from __future__ import annotations

import functools
import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, insert, or_, select

from ragloom.core.storage.engines import SqlStore, store_target, upsert
from ragloom.core.storage.schema import chats as _chats
from ragloom.core.storage.schema import experiment_answers as _experiment_answers
from ragloom.core.storage.schema import feedback as _feedback
from ragloom.core.storage.schema import replaced_turns as _replaced
from ragloom.core.storage.schema import traces as _traces

if TYPE_CHECKING:
    from ragloom.core.settings import Settings

RATINGS = ("up", "down")


class TraceStore(SqlStore):
    tables = [_traces, _feedback, _experiment_answers, _chats, _replaced]

    def save(self, body: dict[str, Any]) -> str:
        trace_id, now = uuid.uuid4().hex[:12], time.time()
        with self.engine.begin() as db:
            db.execute(insert(_traces).values(
                id=trace_id, created=now, thread=body.get("thread"),
                collection=body["collection"], graph=body["graph"], question=body["question"],
                answer=body["answer"], body=json.dumps(body, default=str)))
            if experiment := body.get("experiment"):  # indexed: reports read a variant's answers
                db.execute(insert(_experiment_answers).values(
                    trace_id=trace_id, experiment=experiment["id"],
                    variant=experiment["variant"], created=now))
        return trace_id

    def experiment_answers(self, experiment: str) -> list[dict[str, Any]]:
        """The traces of an experiment's answers, oldest first, each with ``variant`` and its
        rating (None when unrated)."""
        query = (select(_experiment_answers.c.variant, _traces.c.body, _feedback.c.rating)
                 .join(_traces, _traces.c.id == _experiment_answers.c.trace_id)
                 .outerjoin(_feedback, _feedback.c.trace_id == _traces.c.id)
                 .where(_experiment_answers.c.experiment == experiment)
                 .order_by(_experiment_answers.c.created))
        with self.engine.connect() as db:
            return [{**json.loads(body), "variant": variant, "rating": rating}
                    for variant, body, rating in db.execute(query)]

    def get(self, trace_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(select(_traces.c.id, _traces.c.created, _traces.c.body)
                             .where(_traces.c.id == trace_id)).first()
        if row is None:
            return None
        return {"id": row[0], "created": row[1], **json.loads(row[2])}

    def recent(self, limit: int = 20) -> list[tuple[str, float, str, str]]:
        """(id, created, graph, question) of the newest traces."""
        with self.engine.connect() as db:
            return [tuple(r) for r in db.execute(  # type: ignore[misc]
                select(_traces.c.id, _traces.c.created, _traces.c.graph, _traces.c.question)
                .order_by(_traces.c.created.desc()).limit(limit))]

    def recent_bodies(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest traces, whole (id and created included)."""
        with self.engine.connect() as db:
            return [{"id": r[0], "created": r[1], **json.loads(r[2])} for r in db.execute(
                select(_traces.c.id, _traces.c.created, _traces.c.body)
                .order_by(_traces.c.created.desc()).limit(limit))]

    def search(self, *, text: str | None = None, collection: str | None = None,
               graph: str | None = None, rating: str | None = None, refused: bool | None = None,
               limit: int = 50, scan: int = 2000) -> list[dict[str, Any]]:
        """The newest traces that match, each as (id, created, collection, graph, question,
        rating or None, refused): ``text`` in the question or answer (any case), ``rating`` up,
        down or ``unrated``. Refusal is inside the trace, so the newest ``scan`` are read."""
        query = (select(_traces.c.id, _traces.c.created, _traces.c.collection, _traces.c.graph,
                        _traces.c.question, _feedback.c.rating, _traces.c.body)
                 .outerjoin(_feedback, _feedback.c.trace_id == _traces.c.id)
                 .order_by(_traces.c.created.desc()).limit(scan))
        if text:
            query = query.where(_mentions(text))
        if collection:
            query = query.where(_traces.c.collection == collection)
        if graph:
            query = query.where(_traces.c.graph == graph)
        if rating == "unrated":
            query = query.where(_feedback.c.rating.is_(None))
        elif rating is not None:
            query = query.where(_feedback.c.rating == rating)
        found = []
        with self.engine.connect() as db:
            for tid, created, col, graph_name, question, rated, body in db.execute(query):
                was_refused = bool(json.loads(body).get("refused"))
                if refused is None or was_refused == refused:
                    found.append({"id": tid, "created": created, "collection": col,
                                  "graph": graph_name, "question": question, "rating": rated,
                                  "refused": was_refused})
                if len(found) >= limit:
                    break
        return found

    def facets(self) -> tuple[list[str], list[str]]:
        """The collections and graphs that have traces, for filters."""
        with self.engine.connect() as db:
            cols = [r[0] for r in db.execute(select(_traces.c.collection).distinct())]
            graphs = [r[0] for r in db.execute(select(_traces.c.graph).distinct())]
        return sorted(cols), sorted(graphs)

    def chats(self, prefix: str, text: str | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
        """Conversations whose thread starts with ``prefix``, newest first: thread, title (the
        user's, else the first question), turns, first and last answer times; ``text`` searches
        titles and questions. Deleted chats are left out."""
        turns = (select(_traces.c.thread, func.count().label("turns"),
                        func.min(_traces.c.created).label("started"),
                        func.max(_traces.c.created).label("updated"))
                 .where(_traces.c.thread.like(f"{_literal(prefix)}%", escape="\\"), _current())
                 .group_by(_traces.c.thread).subquery())
        first = (select(_traces.c.question).where(_traces.c.thread == turns.c.thread, _current())
                 .order_by(_traces.c.created).limit(1).scalar_subquery())
        query = (select(turns.c.thread, turns.c.turns, turns.c.started, turns.c.updated,
                        _chats.c.title, first.label("first"))
                 .outerjoin(_chats, _chats.c.thread == turns.c.thread)
                 .where(_chats.c.deleted.is_(None)).order_by(turns.c.updated.desc()).limit(limit))
        if text:  # the user's title, or any question or answer of the chat
            query = query.where(or_(_chats.c.title.ilike(f"%{_literal(text)}%", escape="\\"),
                                    exists().where(_traces.c.thread == turns.c.thread,
                                                   _current(), _mentions(text))))
        with self.engine.connect() as db:
            return [{"thread": thread, "title": title or question, "turns": count,
                     "started": started, "updated": updated}
                    for thread, count, started, updated, title, question in db.execute(query)]

    def chat_turns(self, thread: str) -> list[dict[str, Any]]:
        """A conversation's traces, oldest first (each the whole answer, id included)."""
        with self.engine.connect() as db:
            return [{"id": r[0], "created": r[1], **json.loads(r[2])} for r in db.execute(
                select(_traces.c.id, _traces.c.created, _traces.c.body)
                .where(_traces.c.thread == thread, _current()).order_by(_traces.c.created))]

    def replace_turns(self, trace_ids: list[str], by: str) -> None:
        """Take answers out of their chat's turns, replaced by the trace ``by`` (regenerated,
        or the question edited and resent); the traces themselves stay."""
        now = time.time()
        with self.engine.begin() as db:
            for trace_id in trace_ids:
                upsert(db, _replaced, {"trace_id": trace_id, "replaced_by": by, "at": now})

    def rename_chat(self, thread: str, title: str) -> None:
        with self.engine.begin() as db:
            upsert(db, _chats, {"thread": thread, "title": title, "deleted": None})

    def delete_chat(self, thread: str) -> None:
        with self.engine.begin() as db:
            upsert(db, _chats, {"thread": thread, "title": None, "deleted": time.time()})

    def rate(self, trace_id: str, rating: str, comment: str = "") -> None:
        """Store (or replace) a user's rating of one answer; the trace must exist."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        with self.engine.begin() as db:  # one transaction: the old rating goes, the new one stays
            if db.execute(select(_traces.c.id).where(_traces.c.id == trace_id)).first() is None:
                raise KeyError(trace_id)
            db.execute(delete(_feedback).where(_feedback.c.trace_id == trace_id))
            db.execute(insert(_feedback).values(trace_id=trace_id, rating=rating,
                                                comment=comment, created=time.time()))

    def feedback(self, rating: str | None = None) -> list[dict[str, Any]]:
        """Rated answers with their traces, newest first; ``rating`` filters to up or down."""
        query = (select(_feedback.c.trace_id, _feedback.c.rating, _feedback.c.comment,
                        _feedback.c.created, _traces.c.body)
                 .join(_traces, _traces.c.id == _feedback.c.trace_id)
                 .order_by(_feedback.c.created.desc()))
        if rating is not None:
            query = query.where(_feedback.c.rating == rating)
        with self.engine.connect() as db:
            return [{"trace_id": r[0], "rating": r[1], "comment": r[2], "rated": r[3],
                     "trace": json.loads(r[4])} for r in db.execute(query)]


def traces_of(settings: Settings) -> TraceStore:
    """The trace store of these settings' data directory (or shared database)."""
    return _store(settings.home, settings.database)


@functools.lru_cache(maxsize=16)
def _store(home: Path, database: str | None) -> TraceStore:
    """One store per data directory (or shared database), not one per call."""
    return TraceStore(store_target(database, home / "traces.sqlite"))


def _literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``escape="\\"``: its own wildcards match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mentions(text: str) -> Any:
    """A trace whose question or answer contains ``text`` (any case, taken literally)."""
    pattern = f"%{_literal(text)}%"
    return (_traces.c.question.ilike(pattern, escape="\\")
            | _traces.c.answer.ilike(pattern, escape="\\"))


def _current() -> Any:
    """A trace that is still one of its chat's turns (no later answer replaced it)."""
    return ~exists().where(_replaced.c.trace_id == _traces.c.id)
