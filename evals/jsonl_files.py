"""Reading JSON Lines data files safely: streamed line by line (never whole, a line over
``MAX_LINE_BYTES`` refused), and every problem a ``ConfigError`` naming the file, the line and
what to do. Used by the dataset loaders (evals/datasets.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragloom.core.errors import ConfigError

MAX_LINE_BYTES = 16 << 20  # one JSON object per line; a longer "line" is not JSON Lines


def bad_line(path: Path, n: int, what: str, fix: str) -> ConfigError:
    return ConfigError(f"line {n}: {what}", subject=str(path), fix=fix)


def require_file(path: Path, role: str, fix: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"missing file {path.name} ({role})", subject=str(path), fix=fix)
    return path


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, streamed; a line over MAX_LINE_BYTES is an error."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file: {exc.strerror}",
            subject=str(path),
            fix="check that it exists and is readable",
        ) from None
    with fh:
        n = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            n += 1
            if len(raw) > MAX_LINE_BYTES:
                raise bad_line(
                    path,
                    n,
                    f"longer than {MAX_LINE_BYTES >> 20} MiB",
                    "write one JSON object per line (JSON Lines, not one JSON array); "
                    "split very long documents",
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise bad_line(path, n, "not UTF-8 text", "save the file as UTF-8") from None
            yield n, line.lstrip("\ufeff") if n == 1 else line


def jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    for n, line in lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bad_line(
                path,
                n,
                f"not valid JSON ({exc.msg} at column {exc.colno})",
                "write one JSON object per line (JSON Lines)",
            ) from None
        if not isinstance(obj, dict):
            raise bad_line(
                path,
                n,
                f"a JSON {type(obj).__name__}, not an object",
                "write one JSON object per line (JSON Lines, not one JSON array)",
            )
        yield n, obj


def id_of(obj: dict[str, Any], key: str, path: Path, n: int, fix: str) -> str:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        got = "missing" if value is None else f"{value!r} is not a non-empty string"
        raise bad_line(path, n, f"'{key}' {got}", fix)
    return str(value)


def text_of(obj: dict[str, Any], key: str, path: Path, n: int, *, required: bool, fix: str) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        got = (
            "missing"
            if value is None
            else ("empty" if isinstance(value, str) else f"a {type(value).__name__}, not a string")
        )
        raise bad_line(path, n, f"'{key}' is {got}", fix)
    return value




def unique(key: str, seen: set[str], path: Path, n: int, what: str) -> str:
    """``key``, added to ``seen``; a second ``what`` with the same id is an error."""
    if key in seen:
        raise bad_line(path, n, f"{what} id '{key}' appears a second time",
                       f"give every {what} a unique id")
    seen.add(key)
    return key
