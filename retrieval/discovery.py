"""Find the files to ingest under the given paths, and say why every other path was passed over.

Folders are walked in a stable order; symlinked folders are not followed (a link back to a parent
would loop forever, and a link elsewhere would ingest files from outside the folder). Each path that
is not ingested is reported: a symlink loop, a broken link, a symlinked folder, an unsupported type,
something that is not a regular file, or a second path to a file already found in this run (two
paths to one file would store the same chunk ids twice).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ragloom.retrieval.formats import supported

Problems = list[tuple[str, str]]  # (path, reason)
_MAX_HOPS = 6


def _link_chain(path: Path) -> str:
    """``a.txt -> b.txt -> a.txt``: the first hops of a symlink chain, for a loop's reason."""
    hops, current, seen = [path.name], path, {os.path.normpath(path)}
    for _ in range(_MAX_HOPS):
        try:
            target = os.readlink(current)
        except OSError:
            break
        current = Path(os.path.normpath(current.parent / target))
        hops.append(target)
        if str(current) in seen:
            break
        seen.add(str(current))
    return " -> ".join(hops)


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be opened as a file, or None when it is a regular file."""
    try:
        if path.is_file():  # follows links; raises only for a link loop on some Pythons
            return None
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symlink loop ({_link_chain(path)})"
        if exc.errno == errno.ENOENT and path.is_symlink():
            return f"broken symlink: its target {os.readlink(path)} does not exist"
        return f"cannot be read: {exc.strerror or exc}"
    return "not a regular file (a device, pipe or socket)"


def _linked_folder(path: Path) -> str:
    target = path.resolve()
    if path.parent.resolve().is_relative_to(target):
        return f"symlink loop: folder link back to {target} (an enclosing folder)"
    return f"symlinked folder not followed (ingest its target {target} directly if you want it)"


class _Found:
    """Yields each file once, however many paths lead to it."""

    def __init__(self, skipped: Problems):
        self.first: dict[str, str] = {}
        self.skipped = skipped

    def take(self, path: Path) -> bool:
        source = str(path.resolve())
        if source in self.first:
            self.skipped.append((str(path), f"same file as {self.first[source]}, already in this run"))
            return False
        self.first[source] = str(path)
        return True


def _walk(root: Path, found: _Found, skipped: Problems) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames):
            if (Path(dirpath) / name).is_symlink():
                skipped.append((str(Path(dirpath) / name), _linked_folder(Path(dirpath) / name)))
                dirnames.remove(name)  # os.walk does not follow them anyway; make it explicit
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            reason = _unreadable(path)
            if reason is None and not supported(path):
                reason = f"unsupported file type ({path.suffix or 'no extension'})"
            if reason is not None:
                skipped.append((str(path), reason))
            elif found.take(path):
                yield path


def discover(paths: Iterable[Path], failed: Problems, skipped: Problems) -> Iterator[Path]:
    """Files under ``paths`` to ingest, in a stable order. A given path that cannot be read is
    added to ``failed``; a path found in a folder and passed over is added to ``skipped``."""
    found = _Found(skipped)
    for root in paths:
        if root.is_dir():
            yield from _walk(root, found, skipped)
            continue
        reason = _unreadable(root)
        if reason is None:
            if found.take(root):
                yield root
        elif root.exists() or root.is_symlink():
            failed.append((str(root), reason))
        else:
            failed.append((str(root), "path does not exist"))
