"""Private state on disk: the data folder ``home`` is 0700, ragloom's state files 0600.

Questions, answers, conversations, audit records and key hashes live under ``home``; no other
local user may read them. Library code creates what it owns through these helpers (no process
umask change: that would be a side effect on a program that imports ragloom). The programs
ragloom runs itself (the CLI, ``ragloom serve``, the web app) also call ``restrict_new_files``,
so files that Chroma, SQLite or bm25s create under ``home`` are private as well.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every folder it creates is 0700, and ``path`` itself is made 0700."""
    missing: list[Path] = []
    cur = path
    while not cur.exists() and cur != cur.parent:
        missing.append(cur)
        cur = cur.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (its folder 0700) before a library opens it.

    SQLite gives its -wal, -shm and journal files the database file's mode, so they follow.
    """
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def tighten(path: Path) -> None:
    """Make an existing folder 0700 (a home an older version made 0755); nothing if missing."""
    _tighten(path, DIR_MODE)


def _tighten(path: Path, mode: int) -> None:
    """Take group/other bits away from a folder or file this user owns."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    owner = getattr(os, "getuid", lambda: info.st_uid)()  # Windows: no uid, chmod is a no-op
    if info.st_mode & 0o077 and info.st_uid == owner:
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077 | (mode & 0o700))


def restrict_new_files() -> None:
    """Files and folders this process creates from now on are for its user only (umask 077).

    Called by ragloom's own entry points only: the CLI, and the web app's script.
    """
    os.umask(PRIVATE_UMASK)
