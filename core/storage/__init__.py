"""Shared state behind one storage layer: SQLite files by default, PostgreSQL when
``database_url`` is set (``engines``), one schema (``schema``), versioned migrations
(``migrations``). Stores (keys, audit log, traces and feedback) take either backend and pass one
conformance suite (tests/storage_conformance.py)."""
