"""Chroma-style metadata filters (``where``), evaluated in Python for the lexical index.

The same validated dict (see :mod:`retrieval.where` for the grammar) goes to Chroma for dense
search, and :func:`matches` follows Chroma 1.5.9's rules, so both retrievers filter identically:
``{"file_type": "pdf"}``, ``{"page": {"$gte": 3}}``, ``{"$and": [...]}``, ``{"source": {"$in": [...]}}``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from ragloom.core.errors import ConfigError
from ragloom.retrieval.where import parse_where, validate_where

__all__ = ["chroma_where", "matches", "parse_where", "validate_where"]


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _operand(v: Any, x: Any) -> Any:
    # Chroma compares an int field with a float operand truncated toward zero (page 2 matches
    # {"$eq": 2.5}, not {"$lt": 2.5}); BM25 does the same so both retrievers agree.
    return int(x) if isinstance(x, float) and _number(v) and isinstance(v, int) else x


def _eq(v: Any, x: Any) -> bool:
    if isinstance(v, bool) or isinstance(x, bool):  # true is not 1 to Chroma
        return isinstance(v, bool) and isinstance(x, bool) and v == x
    if _number(v) and _number(x):
        return bool(v == _operand(v, x))
    return type(v) is type(x) and v == x


def _compare(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    # A missing, string or boolean field never satisfies a numeric comparison (as in Chroma).
    return lambda v, x: _number(v) and _number(x) and op(v, _operand(v, x))


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _eq,
    "$ne": lambda v, x: not _eq(v, x),  # a missing field is "not equal"
    "$gt": _compare(operator.gt),
    "$gte": _compare(operator.ge),
    "$lt": _compare(operator.lt),
    "$lte": _compare(operator.le),
    "$in": lambda v, x: any(_eq(v, y) for y in x),
    "$nin": lambda v, x: not any(_eq(v, y) for y in x),
}


def matches(meta: dict[str, Any], where: dict[str, Any]) -> bool:
    """True when ``meta`` satisfies ``where`` (validate it first: see ``validate_where``)."""
    for key, cond in where.items():
        if key == "$and":
            ok = all(matches(meta, w) for w in cond)
        elif key == "$or":
            ok = any(matches(meta, w) for w in cond)
        elif isinstance(cond, dict):
            ok = all(_op(op)(meta.get(key), arg) for op, arg in cond.items())
        else:
            ok = _eq(meta.get(key), cond)
        if not ok:
            return False
    return True


def _op(name: str) -> Callable[[Any, Any], bool]:
    if name not in _OPS:
        raise ConfigError(f"unknown filter operator '{name}'", fix=f"use one of {', '.join(_OPS)}")
    return _OPS[name]


def chroma_where(where: dict[str, Any] | None) -> dict[str, Any] | None:
    """The filter as Chroma wants it (validated again: a library caller may pass anything)."""
    return validate_where(where)
