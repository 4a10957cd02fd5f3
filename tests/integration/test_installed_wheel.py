"""The wheel holds one import package, ``ragloom``, and works installed outside the checkout:
``import ragloom``, ``ragloom ask`` on the embedded models, ``ragloom serve`` and ``ragloom ui``.

The fresh venv gets only the wheel; its dependencies come from this venv's site-packages through a
``.pth`` path line (a path line, so this venv's editable-install hook is not run), and every command
runs from a temporary folder with the checkout nowhere on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.servers import HOST, free_port, stop

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout; returns its bin folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy: an in-tree build would leave build/ and egg-info changes in the checkout.
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "docs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(src)], check=True, cwd=tmp)
    [wheel] = (tmp / "dist").glob("ragloom-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"ragloom", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--no-deps", "-q", str(wheel)], check=True, cwd=tmp)
    return venv / "bin"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGLOOM_", "PYTHON"))}
    return {**env, "RAGLOOM_HOME": str(tmp_path / "home"), "RAGAS_DO_NOT_TRACK": "true"}


def _run(bin_dir: Path, tmp_path: Path, *args: str, timeout: float = 600) -> str:
    done = subprocess.run([str(bin_dir / args[0]), *args[1:]], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path) -> None:
    out = _run(installed, tmp_path, "python", "-c",
               "import ragloom, ragloom.agents.service as s, ragloom.ui.app as app; "
               "print(ragloom.__file__); print(s.__file__); print(app.__file__)")
    files = out.split()
    assert all(str(installed.parent) in f for f in files), files
    assert not any(f.startswith(str(ROOT)) for f in files)
    # The layer folders are not installed as top-level packages of their own.
    gone = _run(installed, tmp_path, "python", "-c",
                "import importlib.util as u; print([m for m in ('core', 'agents', 'retrieval', "
                "'prompts', 'evals', 'api', 'ui') if u.find_spec(m)])")
    assert gone.strip() == "[]"


def test_ragloom_ask_answers_from_the_installed_wheel(installed, tmp_path) -> None:
    corpus = _run(installed, tmp_path, "python", "-c", "import pathlib, ragloom; print(pathlib."
                  "Path(ragloom.__file__).parent / 'sample_corpus')").strip()
    assert corpus.startswith(str(installed.parent))
    _run(installed, tmp_path, "ragloom", "ingest", corpus, "--collection", "sample")
    out = _run(installed, tmp_path, "ragloom", "ask", "What temperature should I brew the "
               "Oolong at?", "--collection", "sample", "--graph", "simple")
    assert "85" in out, out


@contextlib.contextmanager
def _serving(installed: Path, tmp_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / f"{args[0]}.log").open("wb")
    proc = subprocess.Popen([str(installed / "ragloom"), *args], cwd=tmp_path, env=_env(tmp_path),
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop(proc, timeout=15)
        log.close()


def _wait_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited {proc.returncode}:\n{log.read_text()[-3000:]}"
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(url, timeout=2)
            if r.is_success:
                return r.text
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def test_ragloom_serve_and_ui_start_from_the_installed_wheel(installed, tmp_path) -> None:
    port = free_port()
    with _serving(installed, tmp_path, "serve", "--port", str(port)) as proc:
        body = _wait_ok(f"http://{HOST}:{port}/health", proc, tmp_path / "serve.log")
        assert "ok" in body
    port = free_port()
    with _serving(installed, tmp_path, "ui", "--port", str(port), "--no-open") as proc:
        assert _wait_ok(f"http://{HOST}:{port}/_stcore/health", proc,
                        tmp_path / "ui.log") == "ok"
        page = httpx.get(f"http://{HOST}:{port}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
