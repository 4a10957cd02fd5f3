"""Chroma-style metadata filters (``where``), evaluated in Python for the lexical index.

The same dict goes to Chroma for dense search, so both retrievers filter identically:
``{"file_type": "pdf"}``, ``{"page": {"$gte": 3}}``, ``{"$and": [...]}``, ``{"source": {"$in": [...]}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import ConfigError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda v, x: v == x,
    "$ne": lambda v, x: v != x,
    "$gt": lambda v, x: v is not None and v > x,
    "$gte": lambda v, x: v is not None and v >= x,
    "$lt": lambda v, x: v is not None and v < x,
    "$lte": lambda v, x: v is not None and v <= x,
    "$in": lambda v, x: v in x,
    "$nin": lambda v, x: v not in x,
}


def matches(meta: dict[str, Any], where: dict[str, Any]) -> bool:
    for key, cond in where.items():
        if key == "$and":
            ok = all(matches(meta, w) for w in cond)
        elif key == "$or":
            ok = any(matches(meta, w) for w in cond)
        elif isinstance(cond, dict):
            ok = all(_op(op)(meta.get(key), arg) for op, arg in cond.items())
        else:
            ok = meta.get(key) == cond
        if not ok:
            return False
    return True


def _op(name: str) -> Callable[[Any, Any], bool]:
    if name not in _OPS:
        raise ConfigError(f"unknown filter operator '{name}'", fix=f"use one of {', '.join(_OPS)}")
    return _OPS[name]


def parse_where(text: str | None) -> dict[str, Any] | None:
    """A filter given as JSON text (CLI, API), checked for shape and operators."""
    if not text:
        return None
    import json

    try:
        where = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"filter is not valid JSON: {exc.msg}", subject=text,
                          fix='write e.g. {"file_type": "pdf"}') from exc
    if not isinstance(where, dict):
        raise ConfigError("filter must be a JSON object", subject=text)
    matches({}, where)  # raises on unknown operators before any search runs
    return where


def chroma_where(where: dict[str, Any] | None) -> dict[str, Any] | None:
    """Chroma wants several top-level conditions wrapped in $and."""
    if not where or len(where) == 1:
        return where or None
    return {"$and": [{k: v} for k, v in where.items()]}
