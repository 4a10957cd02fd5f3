"""A real PostgreSQL for tests: a throw-away cluster made with ``initdb`` and started with
``pg_ctl`` on a loopback port (Debian's ``postgresql`` package; no service, no root daemon).

PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the ``postgres``
user that the Debian package creates.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.integration.servers import HOST, free_port


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """Run a fresh cluster in a new temporary folder; yield a ``postgresql://`` URL of an empty
    database. (Not under pytest's tmp_path: ``postgres`` cannot enter root's 0700 folders.)"""
    root = Path(tempfile.mkdtemp(prefix="ragloom-pg-"))
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql "
                           "(.ci/run does it on a fresh machine)")
    data, sock = root / "data", root / "sock"
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    user = "postgres" if os.geteuid() == 0 else getpass.getuser()
    port = free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                              user, "-E", "UTF8", "--no-sync"]), **run)
    log = root / "postgres.log"
    options = f"-p {port} -k {sock} -c listen_addresses={HOST} -c fsync=off"
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log),
                              "-o", options, "-w", "-t", "60", "start"]), **run)
    try:
        subprocess.run(_as_owner([str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U",
                                  user, "ragloom"]), **run)
        yield f"postgresql://{user}@{HOST}:{port}/ragloom"
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                  "-w", "stop"]), check=False, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
