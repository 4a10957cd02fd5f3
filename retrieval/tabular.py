"""CSV and JSON lines: rows and records rendered as "key: value" text sections."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from ragloom.core.errors import IngestError
from ragloom.retrieval.formats import decode_text
from ragloom.retrieval.types import Section

log = logging.getLogger("ragloom.retrieval.loaders")  # one logger for every loader

ROWS_PER_SECTION = 50


def _error(path: Path, what: str, fix: str) -> IngestError:
    return IngestError(what, subject=str(path), fix=fix)


def _grouped(lines: list[str], separator: str) -> list[Section]:
    return [
        Section(text=separator.join(lines[start : start + ROWS_PER_SECTION]))
        for start in range(0, len(lines), ROWS_PER_SECTION)
    ]


def _clean_cell(value: str) -> str:
    return " ".join(value.split())


def _render_row(header: list[str], row: list[str]) -> str:
    """ "col: value; col: value" for the non-empty cells of one row."""
    pairs = []
    for index, value in enumerate(row):
        name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        if value.strip():
            pairs.append(f"{name}: {_clean_cell(value)}")
    return "; ".join(pairs)


def read_csv(path: Path, max_pages: int | None = None) -> list[Section]:
    text = decode_text(path, path.read_bytes())
    try:
        dialect: Any = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|")
    except csv.Error:  # one column, or too irregular to tell: use the usual dialect for the suffix
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = [_clean_cell(name) for name in next(reader, [])]
        lines = [line for line in (_render_row(header, row) for row in reader) if line]
    except csv.Error as exc:
        what = f"malformed CSV at line {reader.line_num}: {exc}"
        raise _error(path, what, "fix the quoting on that line or re-export the CSV") from exc
    if not lines:
        raise _error(path, "CSV has no data rows", "a CSV needs a header row and at least one data row")
    return _grouped(lines, "\n")


def render_record(value: Any, prefix: str = "") -> list[str]:
    """ "key: value" lines for a JSON value; nested objects use dotted keys."""
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in render_record(item, f"{prefix}{key}.")]
    key = prefix.rstrip(".")
    if value is None or value == "" or value == [] or value == {}:
        return []
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, str):
        text = _clean_cell(value)
    else:
        text = json.dumps(value, ensure_ascii=False)
    return [f"{key}: {text}" if key else text]


_TITLE_KEYS = ("title", "name", "_id", "id")


def _record_heading(record: Any, number: int) -> str:
    if isinstance(record, dict):
        for key in _TITLE_KEYS:
            value = record.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
                return _clean_cell(str(value))[:200]
    return f"line {number}"


def read_jsonl(path: Path, max_pages: int | None = None) -> list[Section]:
    records: list[Section] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(decode_text(path, path.read_bytes()).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((number, f"{exc.msg} at column {exc.colno}"))
            continue
        if rendered := render_record(record):
            records.append(Section(text="\n".join(rendered), heading=_record_heading(record, number)))
    if bad and not records:
        more = f" (and {len(bad) - 1} more bad lines)" if len(bad) > 1 else ""
        raise _error(
            path,
            f"no valid JSON lines: line {bad[0][0]}: {bad[0][1]}{more}",
            "write one JSON object per line (JSON Lines), not a pretty-printed JSON document",
        )
    if bad:
        first, reason = bad[0]
        total = len(bad) + len(records)
        log.warning(
            "%s: skipped %d bad JSON line(s) of %d; first at line %d: %s",
            path,
            len(bad),
            total,
            first,
            reason,
        )
    return records
