"""Writing prompts: new immutable versions, labels, rollback, diff.

Every write holds the user layer's lock on the prompt (a file lock on its folder, or an advisory
lock in the shared database; see ``ragloom.prompts.layers``) and writes atomically: concurrent
writers cannot lose a version or corrupt the labels, and a reader never sees half of either.
Shipped prompts are never modified: their labels are copied into the user layer on its first
write.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import hashlib
import json
import os
from typing import Any

import yaml

from ragloom.core.errors import PromptError
from ragloom.prompts import PromptStore, PromptVersion
from ragloom.prompts.layers import Layer
from ragloom.prompts.validation import used_variables, validate


def _user(store: PromptStore) -> Layer:
    if store.user is None:
        raise PromptError("no user prompts directory is configured",
                          fix="set prompts_dir (default: HOME/prompts)")
    return store.user


def _meta_for_write(store: PromptStore, name: str) -> dict[str, Any]:
    meta = _user(store).meta(name)
    if not meta.get("labels"):
        with contextlib.suppress(PromptError):  # a brand-new prompt has no labels anywhere
            meta["labels"] = store.label_state(name)
    meta.setdefault("sha256", {})
    return meta


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
    user = _user(store)
    body = yaml.safe_dump({
        "message": message.strip(), "author": author or os.environ.get("USER", "unknown"),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "variables": variables, "params": params, "messages": messages,
    }, sort_keys=False, allow_unicode=True, width=100).encode()
    with user.locked(name):
        try:
            version = max(store.versions(name), default=0) + 1
        except PromptError:
            version = 1
        user.add_version(name, version, body)
        meta = _meta_for_write(store, name)
        meta["sha256"][str(version)] = hashlib.sha256(body).hexdigest()
        user.save_meta(name, meta)
    return store.get(f"{name}@{version}")


def set_label(store: PromptStore, name: str, label: str, version: int) -> int | None:
    """Point ``label`` at ``version``; returns the version it pointed to before (if any)."""
    # Checked under the lock: another writer may be between a version file and its checksum.
    user = _user(store)
    with user.locked(name):
        if version not in store.versions(name):
            raise PromptError(f"prompt '{name}' has no version {version}",
                              fix=f"versions: {', '.join(map(str, store.versions(name)))}")
        if version in store.archived(name):
            raise PromptError(f"{name}@{version} is archived", subject=label,
                              fix=f"unarchive it first (`ragloom prompts archive {name} "
                              f"{version} --undo`)")
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
        user.save_meta(name, meta)
    return before


def archive(store: PromptStore, name: str, version: int, *, undo: bool = False) -> None:
    """Hide a version from the pickers (Ask, Evaluations, try), or show it again (``undo``);
    it stays readable for history, diffs and the runs that pinned it. A version a label points
    to is not archived: move the label first."""
    user = _user(store)
    with user.locked(name):
        if version not in store.versions(name):
            raise PromptError(f"prompt '{name}' has no version {version}",
                              fix=f"versions: {', '.join(map(str, store.versions(name)))}")
        held = sorted(k for k, v in store.labels(name).items() if v == version)
        if held and not undo:
            raise PromptError(f"{name}@{version} is what label(s) {', '.join(held)} point to",
                              fix="move the label to another version first, then archive it")
        meta = _meta_for_write(store, name)
        hidden = set(meta.get("archived") or []) | store.archived(name)
        hidden = hidden - {version} if undo else hidden | {version}
        meta["archived"] = sorted(hidden)
        user.save_meta(name, meta)


def rollback(store: PromptStore, name: str, label: str) -> tuple[int, int]:
    """Move ``label`` back to the version it pointed to before; returns (from, to)."""
    user = _user(store)
    with user.locked(name):
        meta = _meta_for_write(store, name)
        entry = meta["labels"].get(label)
        if not entry or not entry.get("previous"):
            raise PromptError(f"label '{label}' of prompt '{name}' has no earlier version",
                              fix=f"set it with `ragloom prompts label {name} VERSION {label}`")
        current, target = int(entry["version"]), int(entry["previous"][-1])
        meta["labels"][label] = {"version": target, "previous": entry["previous"][:-1]}
        user.save_meta(name, meta)
    return current, target


def as_text(version: PromptVersion) -> list[str]:
    """A version as readable lines, for diffs and `prompts show`."""
    # Sorted: a version that only reorders its variables or params shows no change.
    lines = [f"# {version.ref}: {version.message}",
             f"params: {json.dumps(version.params, sort_keys=True)}",
             f"variables: {', '.join(sorted(version.variables))}"]
    for role, text in version.messages:
        lines += [f"--- {role} ---", *text.splitlines()]
    return lines


def diff(store: PromptStore, name: str, a: str, b: str) -> str:
    """Unified diff of two versions (text and parameters); ``a``/``b`` are numbers or labels."""
    va, vb = (store.get(f"{name}@{x}" if x.isdigit() else f"{name}:{x}") for x in (a, b))
    return "\n".join(difflib.unified_diff(as_text(va), as_text(vb), fromfile=va.ref,
                                          tofile=vb.ref, lineterm=""))
