"""The one grammar of metadata filters (``where``), checked wherever a filter comes in.

The CLI, the web app, the API and eval suites validate a filter when it arrives; the retriever,
the store and the BM25 index validate it again (cheap), so a library caller cannot hand Chroma
something it would fail on. What passes is what Chroma 1.5.9 accepts *and* what
:func:`ragloom.retrieval.filters.matches` evaluates the same way::

    filter  := {}                                   no filter (top level only)
             | {"$and": [filter, ...]}              2 to MAX_ITEMS sub-filters, all must hold
             | {"$or": [filter, ...]}               2 to MAX_ITEMS sub-filters, one must hold
             | {FIELD: SCALAR}                      equality
             | {FIELD: {OP: OPERAND, ...}}          one or more operators, all must hold
             | several such keys in one object      all must hold
    OP      := $eq | $ne                            SCALAR
             | $gt | $gte | $lt | $lte              NUMBER (int or float, not bool)
             | $in | $nin                           1 to MAX_ITEMS SCALARs of one type
    SCALAR  := string (<= MAX_STRING chars) | bool | int (64-bit) | finite float
    FIELD   := 1 to MAX_FIELD characters, not starting with "$" or "#"

Bounds: at most MAX_CONDITIONS field conditions, MAX_DEPTH nested filter objects, and
MAX_TEXT characters of JSON text. The result is in Chroma's own shape (one key per object, one
operator per field condition), so Chroma and BM25 are given the very same dict.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import BeforeValidator

from ragloom.core.errors import FilterError

MAX_TEXT = 32_768  # characters of JSON text (CLI, web app, CSV rows)
MAX_DEPTH = 5  # filter objects nested in one another; the top-level filter is depth 1
MAX_CONDITIONS = 64  # field conditions in the whole filter (each operator counts once)
MAX_ITEMS = 100  # values of one $in/$nin, sub-filters of one $and/$or
MAX_FIELD = 128  # characters of a field name
MAX_STRING = 1_000  # characters of a string value
_INT64 = 2**63

EXAMPLE = '{"file_type": "pdf", "page": {"$lte": 20}}'
FIX = (f"write a JSON object such as {EXAMPLE}; operators: $eq $ne $gt $gte $lt $lte $in $nin, "
       "and $and/$or over a list of 2 or more filters")
LOGICAL = ("$and", "$or")
SCALAR_OPS = ("$eq", "$ne")
NUMBER_OPS = ("$gt", "$gte", "$lt", "$lte")
LIST_OPS = ("$in", "$nin")
OPERATORS = SCALAR_OPS + NUMBER_OPS + LIST_OPS


def _kind(value: Any) -> str:
    """What a value is, in JSON words (never its text: it may be huge or deeply nested)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object of {len(value)} key(s)"
    return type(value).__name__


def _fail(path: str, message: str) -> FilterError:
    return FilterError(f"invalid filter at {path}: {message}", fix=FIX)


class _Checker:
    """One walk over a filter: checks it and builds the normalised copy."""

    def __init__(self) -> None:
        self.conditions = 0

    def filter(self, obj: Any, path: str, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:  # checked before descending: a 1,000-deep filter stops here
            raise _fail(path, f"filters may nest at most {MAX_DEPTH} levels deep")
        if not isinstance(obj, dict):
            raise _fail(path, f"a filter is a JSON object, got {_kind(obj)}")
        if not obj:
            raise _fail(path, "an empty filter inside $and/$or has no meaning")
        if len(obj) > MAX_CONDITIONS:
            raise _fail(path, f"{len(obj)} keys; a filter has at most {MAX_CONDITIONS} conditions")
        parts: list[dict[str, Any]] = []
        for key, value in obj.items():
            if key in LOGICAL:
                parts.append({key: self.logical(key, value, f"{path}.{key}", depth)})
            else:
                parts.extend(self.field(key, value, path))
        return parts[0] if len(parts) == 1 else {"$and": parts}  # Chroma: one key per object

    def logical(self, op: str, items: Any, path: str, depth: int) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise _fail(path, f"{op} takes a list of filters, got {_kind(items)}")
        if not 2 <= len(items) <= MAX_ITEMS:
            raise _fail(path, f"{op} takes 2 to {MAX_ITEMS} filters, got {len(items)} "
                              "(a single condition needs no $and/$or)")
        return [self.filter(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(items)]

    def field(self, name: Any, cond: Any, path: str) -> list[dict[str, Any]]:
        where = f"{path}.{name}"
        if not isinstance(name, str) or not name or len(name) > MAX_FIELD:
            raise _fail(path, f"a field name is a string of 1 to {MAX_FIELD} characters")
        if name.startswith("$"):
            raise _fail(path, f"unknown filter operator '{name}' (use $and or $or here)")
        if name.startswith("#"):  # Chroma's own keys (#document, #embedding)
            raise _fail(path, f"field names may not start with '#': '{name}'")
        if isinstance(cond, list):
            raise _fail(where, 'a list is not a value; to match any of several write '
                               '{"$in": [...]}')
        if not isinstance(cond, dict):
            self.count(where)
            return [{name: self.scalar(cond, where)}]
        if not cond:
            raise _fail(where, "a condition needs an operator, e.g. {\"$eq\": 3}")
        return [{name: {op: self.operand(op, arg, f"{where}.{op}")}} for op, arg in cond.items()]

    def operand(self, op: Any, arg: Any, path: str) -> Any:
        if op not in OPERATORS:
            raise _fail(path, f"unknown filter operator '{op}' (use one of {', '.join(OPERATORS)})")
        self.count(path)
        if op in NUMBER_OPS:
            if isinstance(arg, bool) or not isinstance(arg, int | float):
                raise _fail(path, f"{op} compares numbers only, got {_kind(arg)}")
            return self.scalar(arg, path)
        if op in SCALAR_OPS:
            return self.scalar(arg, path)
        if not isinstance(arg, list) or not 1 <= len(arg) <= MAX_ITEMS:
            raise _fail(path, f"{op} takes a list of 1 to {MAX_ITEMS} values, got {_kind(arg)}")
        values = [self.scalar(v, f"{path}[{i}]") for i, v in enumerate(arg)]
        kinds = {float if type(v) is int else type(v) for v in values}  # int and float mix
        if len(kinds) > 1:
            raise _fail(path, f"{op} values must all be strings, all numbers or all booleans")
        if float in kinds and any(type(v) is float for v in values):
            values = [float(v) for v in values]  # Chroma wants one type: [1, 2.5] -> [1.0, 2.5]
        return values

    def scalar(self, value: Any, path: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if not -_INT64 <= value < _INT64:
                raise _fail(path, "integers must fit in 64 bits")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _fail(path, "numbers must be finite")
            return value
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise _fail(path, f"strings are at most {MAX_STRING} characters")
            return value
        raise _fail(path, f"a value is a string, number or boolean, got {_kind(value)}")

    def count(self, path: str) -> None:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _fail(path, f"a filter has at most {MAX_CONDITIONS} conditions")


def validate_where(where: Any) -> dict[str, Any] | None:
    """The filter checked against the grammar and normalised; None (or {}) is no filter.

    Raises FilterError saying where the filter is wrong and what a valid one looks like.
    """
    if where is None or where == {}:
        return None
    return _Checker().filter(where, "where", 1)


def parse_where(text: str | None) -> dict[str, Any] | None:
    """A filter given as JSON text (CLI, web app, CSV), parsed and validated."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_TEXT:
        raise FilterError(f"filter is {len(text)} characters long, the limit is {MAX_TEXT}",
                          fix=FIX)
    try:
        where = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FilterError(f"filter is not valid JSON: {exc.msg}", subject=text[:80],
                          fix=FIX) from None
    except RecursionError:  # json.loads recurses per level: thousands of "[" end up here
        raise FilterError(f"filter is nested too deeply (at most {MAX_DEPTH} levels)",
                          fix=FIX) from None
    return validate_where(where)


def _pydantic_where(value: Any) -> dict[str, Any] | None:
    try:
        return parse_where(value) if isinstance(value, str) else validate_where(value)
    except FilterError as exc:  # pydantic reports ValueErrors with the field's location
        raise ValueError(f"{exc.what} (a valid filter: {EXAMPLE})") from None


# A ``where`` field of a pydantic model (eval suites and rows): JSON text or an object.
WhereFilter = Annotated[dict[str, Any] | None, BeforeValidator(_pydantic_where)]
