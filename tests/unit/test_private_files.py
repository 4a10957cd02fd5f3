"""The data folder is private: home and the folders ragloom makes 0700, its state files 0600."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragloom.api.keys import KeyStore, keys_path
from ragloom.core.private import private_dir, private_file
from tests.unit.api_helpers import client, fill, key


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022): what ragloom makes must be private without the CLI's umask."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_helpers_make_folders_0700_and_files_0600(tmp_path: Path, open_umask: None) -> None:
    made = private_file(tmp_path / "a" / "b" / "state.sqlite")
    assert _mode(made) == 0o600 and made.read_bytes() == b""
    assert _mode(tmp_path / "a") == 0o700 and _mode(tmp_path / "a" / "b") == 0o700
    made.write_bytes(b"kept")
    assert private_file(made).read_bytes() == b"kept"  # an existing file is not truncated
    open_folder = tmp_path / "open"
    open_folder.mkdir(mode=0o755)
    assert _mode(private_dir(open_folder / "x")) == 0o700 and _mode(private_dir(open_folder)) == 0o700


def test_an_existing_open_home_is_tightened(settings, open_umask: None) -> None:
    (settings.home / "api").mkdir(parents=True, mode=0o755)
    os.chmod(settings.home, 0o755)
    keys = keys_path(settings.home)
    keys.write_bytes(b"")
    os.chmod(keys, 0o644)
    KeyStore(keys).close()
    assert _mode(keys) == 0o600 and _mode(keys.parent) == 0o700
    with client(settings):
        assert _mode(settings.home) == 0o700


def test_an_api_run_leaves_nothing_for_other_users(settings, open_umask: None) -> None:
    fill(settings)
    with client(settings) as api:
        admin = key(settings, "admin")
        r = api.post("/collections/notes/documents", headers=admin, files=[
            ("files", ("notes.md", b"# Notes\n\nThe kettle takes 4 minutes to boil.\n"))])
        assert r.status_code == 202, r.text
        for _ in range(200):
            if api.get(r.json()["status_url"], headers=admin).json()["status"] not in (
                    "queued", "running"):
                break
            time.sleep(0.05)
        r = api.post("/ask", headers=admin, json={"question": "Oolong temperature?",
                                                  "collection": "sample", "graph": "simple",
                                                  "thread": "t1"})
        assert r.status_code == 200, r.text
    home = settings.home
    assert _mode(home) == 0o700  # nothing below it is reachable by another user
    state = ["api/keys.sqlite", "api/audit.sqlite", "api/jobs.sqlite", "traces.sqlite",
             "conversations.sqlite", "manifests/sample.sqlite", "uploads/notes/notes.md"]
    assert {s: oct(_mode(home / s)) for s in state} == {s: oct(0o600) for s in state}
    folders = ["api", "uploads", "uploads/notes", "manifests", "locks", "chroma"]
    assert {f: oct(_mode(home / f)) for f in folders} == {f: oct(0o700) for f in folders}


def test_the_cli_makes_every_file_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          open_umask: None) -> None:
    from ragloom.cli import main

    home = tmp_path / "home"
    monkeypatch.setattr(sys, "argv", ["ragloom", "--home", str(home), "keys", "create",
                                      "--admin", "--name", "me"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code in (0, None)
    loose = [f"{p} {stat.filemode(p.stat().st_mode)}" for p in [home, *home.rglob("*")]
             if p.stat().st_mode & 0o077]
    assert loose == [] and (home / "api" / "keys.sqlite").is_file()
