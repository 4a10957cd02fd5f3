"""Where prompt versions and labels are kept: a layer of folders, or the shared database.

``PromptStore`` reads a user layer over the shipped folder; authoring writes only to the user
layer. ``FileLayer`` is a folder (``HOME/prompts``: ``NAME/vN.yaml`` and ``NAME/prompt.json``,
written under a file lock with atomic renames). ``DatabaseLayer`` keeps the same two things in
the shared PostgreSQL (``prompt_versions``, ``prompt_meta``), so a version saved or a label moved
on one replica is what every replica serves; writes to one prompt are serialised by a
transaction-scoped advisory lock, the database's counterpart of the file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import insert, select, text

from ragloom.core.errors import PromptError
from ragloom.core.storage.engines import upsert
from ragloom.core.storage.schema import prompt_meta
from ragloom.core.storage.schema import prompt_versions as _versions

_VERSION_FILE = re.compile(r"^v(\d+)\.yaml$")


class Layer(Protocol):
    where: str

    def names(self) -> set[str]: ...
    def versions(self, name: str) -> set[int]: ...
    def meta(self, name: str) -> dict[str, Any]: ...
    def body(self, name: str, version: int) -> bytes | None: ...
    def describe(self, name: str, version: int) -> str: ...
    def locked(self, name: str) -> contextlib.AbstractContextManager[None]: ...
    def add_version(self, name: str, version: int, body: bytes) -> None: ...
    def save_meta(self, name: str, meta: dict[str, Any]) -> None: ...


def empty_meta() -> dict[str, Any]:
    return {"labels": {}, "sha256": {}}


class FileLayer:
    def __init__(self, root: Path):
        self.root = root
        self.where = str(root)

    def names(self) -> set[str]:
        return {p.parent.name for p in self.root.glob("*/v*.yaml")} if self.root.is_dir() else set()

    def versions(self, name: str) -> set[int]:
        folder = self.root / name
        return {int(m.group(1)) for p in folder.iterdir()
                if (m := _VERSION_FILE.match(p.name))} if folder.is_dir() else set()

    def meta(self, name: str) -> dict[str, Any]:
        path = self.root / name / "prompt.json"
        if not path.exists():
            return empty_meta()
        try:
            return json.loads(path.read_text())  # type: ignore[no-any-return]
        except json.JSONDecodeError as exc:
            raise PromptError(f"prompt metadata is not valid JSON: {exc.msg}",
                              subject=str(path)) from exc

    def body(self, name: str, version: int) -> bytes | None:
        path = self.root / name / f"v{version}.yaml"
        return path.read_bytes() if path.is_file() else None

    def describe(self, name: str, version: int) -> str:
        return str(self.root / name / f"v{version}.yaml")

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def add_version(self, name: str, version: int, body: bytes) -> None:
        _write_atomic(self.root / name / f"v{version}.yaml", body, exclusive=True)

    def save_meta(self, name: str, meta: dict[str, Any]) -> None:
        _write_atomic(self.root / name / "prompt.json",
                      json.dumps(meta, indent=2, sort_keys=True).encode())


def _write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails if the version exists: never overwrite one
        else:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


class DatabaseLayer:
    """Prompt versions and labels in the shared database (one transaction per locked write)."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.where = f"the shared database ({engine.url.render_as_string(hide_password=True)})"
        self._held = threading.local()  # the connection of this thread's locked write

    @contextlib.contextmanager
    def _db(self) -> Iterator[Any]:
        held = getattr(self._held, "conn", None)
        if held is not None:
            yield held
            return
        with self.engine.begin() as conn:
            yield conn

    def names(self) -> set[str]:
        with self._db() as db:
            return set(db.execute(select(_versions.c.name).distinct()).scalars())

    def versions(self, name: str) -> set[int]:
        with self._db() as db:
            return set(db.execute(select(_versions.c.version).where(_versions.c.name == name)).scalars())

    def meta(self, name: str) -> dict[str, Any]:
        with self._db() as db:
            found = db.execute(select(prompt_meta.c.meta).where(prompt_meta.c.name == name)).scalar()
        return json.loads(found) if found else empty_meta()

    def body(self, name: str, version: int) -> bytes | None:
        with self._db() as db:
            found = db.execute(select(_versions.c.body).where(_versions.c.name == name,
                                                             _versions.c.version == version)).scalar()
        return None if found is None else found.encode("utf-8")

    def describe(self, name: str, version: int) -> str:
        return f"{name}@{version} in {self.where}"

    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # released when the transaction ends
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"),
                             {"n": f"ragloom.prompt:{name}"})
            self._held.conn = conn
            try:
                yield
            finally:
                self._held.conn = None

    def add_version(self, name: str, version: int, body: bytes) -> None:
        with self._db() as db:  # the primary key refuses a second version N
            db.execute(insert(_versions).values(name=name, version=version, body=body.decode("utf-8")))

    def save_meta(self, name: str, meta: dict[str, Any]) -> None:
        with self._db() as db:
            upsert(db, prompt_meta, {"name": name, "meta": json.dumps(meta, sort_keys=True)})
