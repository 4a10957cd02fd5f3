"""The shared state's tables, one SQLAlchemy ``MetaData`` for both backends.

Times are seconds since the epoch (float); bodies are JSON text, read whole. On SQLite each
store keeps its own file (``HOME/api/keys.sqlite``, ``HOME/traces.sqlite`` …, the layout earlier
versions wrote, with the same columns); on PostgreSQL all tables live in one database, created
and upgraded by the Alembic migrations in ``migrations/``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()

keys = Table(
    "keys", metadata,
    Column("id", String(12), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("grants", Text, nullable=False),  # JSON: collection -> level
    Column("sha256", String(64), nullable=False),  # of the whole key; the key itself is never kept
    Column("created", Float, nullable=False),
    Column("revoked", Float),
)

audit = Table(
    "audit", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("ts", Float, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("key_name", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("collection", Text),
    Column("target", Text),
    Column("outcome", Text, nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Index("audit_ts", "ts"),
    sqlite_autoincrement=True,
)

traces = Table(
    "traces", metadata,
    Column("id", String(12), primary_key=True),
    Column("created", Float, nullable=False),
    Column("thread", Text),
    Column("collection", Text, nullable=False),
    Column("graph", Text, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("body", Text, nullable=False),  # JSON: the whole trace
    Index("traces_created", "created"),
)

# Web conversations: a thread's turns are its traces; this row holds what the user changed (a
# title) and whether the chat was deleted from the list.
chats = Table(
    "chats", metadata,
    Column("thread", Text, primary_key=True),
    Column("title", Text),
    Column("deleted", Float),  # when it was deleted from the list; its traces stay
)

# A turn answered again (regenerated, or its question edited and resent): the old answer leaves
# its chat's turns; its trace stays (ratings, the Traces page, evaluations).
replaced_turns = Table(
    "replaced_turns", metadata,
    Column("trace_id", String(12), primary_key=True),
    Column("replaced_by", String(12), nullable=False),
    Column("at", Float, nullable=False),
)

feedback = Table(
    "feedback", metadata,
    Column("trace_id", String(12), ForeignKey("traces.id"), primary_key=True),
    Column("rating", Text, CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
           nullable=False),
    Column("comment", Text, nullable=False, server_default=""),
    Column("created", Float, nullable=False),
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(16), primary_key=True),
    Column("collection", Text, nullable=False),
    Column("owner", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("state", Text, nullable=False),  # JSON: status, progress, per-file results
)

# Evaluation runs (a row per run, one per answered question), the API's background launches and
# the judge cache: written as they finish, so a crash keeps what was done.
runs = Table(
    "runs", metadata,
    Column("id", Text, primary_key=True),
    Column("suite", Text, nullable=False),
    Column("variant", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("finished", Float),
    Column("status", Text, nullable=False),  # running, done, interrupted, failed
    Column("config", Text, nullable=False),  # JSON: commit, prompts, graph, models, metrics, …
)

run_rows = Table(
    "rows", metadata,
    Column("run_id", Text, ForeignKey("runs.id"), nullable=False),
    Column("row_id", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("body", Text, nullable=False),  # JSON: question, answer, contexts, scores, timings
    PrimaryKeyConstraint("run_id", "row_id"),
)

launches = Table(
    "launches", metadata,
    Column("id", Text, primary_key=True),
    Column("owner", Text, nullable=False),  # host:pid of the process running it
    Column("updated", Float, nullable=False),
    Column("body", Text, nullable=False),  # JSON: status, suite, run_ids, progress, error, fix
)

judge_cache = Table(
    "judge_cache", metadata,
    Column("key", Text, primary_key=True),
    Column("judge", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("value", Float),
    Column("created", Float, nullable=False),
)

# A collection's content generation, bumped by every ingest that changed it: each replica keeps
# its own BM25 index and rebuilds it from Chroma when this moves (no shared filesystem).
collection_generations = Table(
    "collection_generations", metadata,
    Column("name", Text, primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("updated", Float, nullable=False),
)

# Prompt versions saved by users (the shipped ones stay package files) and each prompt's labels,
# label history and version checksums, as ``prompt.json`` holds them in a folder layer.
prompt_versions = Table(
    "prompt_versions", metadata,
    Column("name", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),  # the version's YAML, byte for byte (UTF-8)
    PrimaryKeyConstraint("name", "version"),
)

prompt_meta = Table(
    "prompt_meta", metadata,
    Column("name", Text, primary_key=True),
    Column("meta", Text, nullable=False),  # JSON: {"labels": {...}, "sha256": {...}}
)

# A collection's manifest: what it holds file by file, and the intent log that makes ingestion
# crash-safe (``ragloom.retrieval.manifest``). Sources are absolute paths for files ingested
# from a folder, ``upload://NAME`` for uploads and ``NAMESPACE://ID`` for records.
manifest_files = Table(
    "manifest_files", metadata,
    Column("collection", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("loader", Text, nullable=False),
    Column("chunk_ids", Text, nullable=False),  # JSON list
    Column("ingested_at", Float, nullable=False),
    PrimaryKeyConstraint("collection", "source"),
)

manifest_intents = Table(
    "manifest_intents", metadata,
    Column("collection", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("add_ids", Text, nullable=False),  # JSON list
    Column("drop_ids", Text, nullable=False),  # JSON list
    Column("committed", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("collection", "source"),
)

# Uploaded documents' bytes, so that any worker can ingest an upload received by any replica
# (and re-ingest it later) without a shared filesystem. Only queued uploads are kept here.
uploads = Table(
    "uploads", metadata,
    Column("collection", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created", Float, nullable=False),
    PrimaryKeyConstraint("collection", "name"),
)

# The review queue (``ragloom.evals.review``): answers a person should look at (a thumbs-down,
# an evaluation row under its suite's threshold), each once, until accepted into a suite's
# dataset with a corrected reference, or discarded.
review_items = Table(
    "review_items", metadata,
    Column("id", String(16), primary_key=True),
    Column("source", Text, nullable=False, unique=True),  # feedback:TRACE or row:RUN:ROW
    Column("kind", Text, nullable=False),
    Column("created", Float, nullable=False),
    Column("status", Text, nullable=False),  # open, accepted, discarded
    Column("item", Text, nullable=False),  # JSON: question, answer, comment, sources, trace...
    Column("decision", Text),  # JSON: reviewer, reference, gold_sources, suite, dataset version
)

# Live experiments (``ragloom.evals.experiments``): a prompt's traffic split between versions,
# and which answer each variant gave (the traces hold the rest).
experiments = Table(
    "experiments", metadata,
    Column("id", String(16), primary_key=True),
    Column("prompt", Text, nullable=False),
    Column("status", Text, nullable=False),  # running, stopped
    Column("created", Float, nullable=False),
    Column("stopped", Float),
    Column("variants", Text, nullable=False),  # JSON: [{name, ref, weight}]
)

experiment_answers = Table(
    "experiment_answers", metadata,
    Column("trace_id", String(12), primary_key=True),
    Column("experiment", String(16), nullable=False),
    Column("variant", Text, nullable=False),
    Column("created", Float, nullable=False),
    Index("experiment_answers_by_experiment", "experiment"),
)
