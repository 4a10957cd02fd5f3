"""Writing prompts: new immutable versions, labels, rollback, diff.

Every write holds an exclusive file lock on the prompt's folder in the user directory, writes to a
temporary file and renames it into place: concurrent writers cannot lose a version or corrupt
``prompt.json``, and a reader never sees half a file. Shipped prompts are never modified: their
labels are copied into the user directory on its first write.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ragloom.core.errors import PromptError
from ragloom.prompts import PromptStore, PromptVersion, read_meta
from ragloom.prompts.validation import used_variables, validate


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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


def _user_folder(store: PromptStore, name: str) -> Path:
    if store.user_dir is None:
        raise PromptError("no user prompts directory is configured",
                          fix="set prompts_dir (default: HOME/prompts)")
    return store.user_dir / name


def _meta_for_write(store: PromptStore, name: str) -> dict[str, Any]:
    meta = read_meta(_user_folder(store, name))
    if not meta.get("labels"):
        with contextlib.suppress(PromptError):  # a brand-new prompt has no labels anywhere
            meta["labels"] = store.label_state(name)
    meta.setdefault("sha256", {})
    return meta


def _save_meta(store: PromptStore, name: str, meta: dict[str, Any]) -> None:
    _write_atomic(_user_folder(store, name) / "prompt.json",
                  json.dumps(meta, indent=2, sort_keys=True).encode())


def create_version(store: PromptStore, name: str, messages: list[dict[str, str]], *,
                   message: str, author: str = "", variables: list[str] | None = None,
                   params: dict[str, Any] | None = None) -> PromptVersion:
    """Validate and save a new immutable version; returns it (numbered after all existing ones)."""
    if not message.strip():
        raise PromptError("a new version needs a message saying what changed", subject=name,
                          fix="pass -m 'what changed and why'")
    params = dict(params or {})
    # Undeclared variables are checked against what the node passes, not trusted: see validate.
    validate(name, messages, None if variables is None else list(variables), params)
    variables = sorted(used_variables(messages)) if variables is None else list(variables)
    folder = _user_folder(store, name)
    body = yaml.safe_dump({
        "message": message.strip(), "author": author or os.environ.get("USER", "unknown"),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "variables": variables, "params": params, "messages": messages,
    }, sort_keys=False, allow_unicode=True, width=100).encode()
    with _locked(folder):
        try:
            version = max(store.versions(name), default=0) + 1
        except PromptError:
            version = 1
        _write_atomic(folder / f"v{version}.yaml", body, exclusive=True)
        meta = _meta_for_write(store, name)
        meta["sha256"][str(version)] = hashlib.sha256(body).hexdigest()
        _save_meta(store, name, meta)
    return store.get(f"{name}@{version}")


def set_label(store: PromptStore, name: str, label: str, version: int) -> int | None:
    """Point ``label`` at ``version``; returns the version it pointed to before (if any)."""
    # Checked under the lock: another writer may be between a version file and its checksum.
    with _locked(_user_folder(store, name)):
        if version not in store.versions(name):
            raise PromptError(f"prompt '{name}' has no version {version}",
                              fix=f"versions: {', '.join(map(str, store.versions(name)))}")
        # Refuses a tampered version, or one that could never render (saved before a rule),
        # before anything points at it.
        store.checked(f"{name}@{version}")
        meta = _meta_for_write(store, name)
        entry = meta["labels"].get(label)
        before = int(entry["version"]) if entry else None
        history = list(entry["previous"]) if entry else []
        if before is not None and before != version:
            history.append(before)
        meta["labels"][label] = {"version": version, "previous": history}
        _save_meta(store, name, meta)
    return before


def rollback(store: PromptStore, name: str, label: str) -> tuple[int, int]:
    """Move ``label`` back to the version it pointed to before; returns (from, to)."""
    with _locked(_user_folder(store, name)):
        meta = _meta_for_write(store, name)
        entry = meta["labels"].get(label)
        if not entry or not entry.get("previous"):
            raise PromptError(f"label '{label}' of prompt '{name}' has no earlier version",
                              fix=f"set it with `ragloom prompts label {name} VERSION {label}`")
        current, target = int(entry["version"]), int(entry["previous"][-1])
        meta["labels"][label] = {"version": target, "previous": entry["previous"][:-1]}
        _save_meta(store, name, meta)
    return current, target


def as_text(version: PromptVersion) -> list[str]:
    """A version as readable lines, for diffs and `prompts show`."""
    lines = [f"# {version.ref}: {version.message}", f"params: {json.dumps(version.params)}",
             f"variables: {', '.join(version.variables)}"]
    for role, text in version.messages:
        lines += [f"--- {role} ---", *text.splitlines()]
    return lines


def diff(store: PromptStore, name: str, a: str, b: str) -> str:
    """Unified diff of two versions (text and parameters); ``a``/``b`` are numbers or labels."""
    va, vb = (store.get(f"{name}@{x}" if x.isdigit() else f"{name}:{x}") for x in (a, b))
    return "\n".join(difflib.unified_diff(as_text(va), as_text(vb), fromfile=va.ref,
                                          tofile=vb.ref, lineterm=""))
