"""The no-change re-run of ``ragloom ingest``, timed end to end and profiled when slow.

Used by ``benchmarks/ingest.py`` after its ragloom SEC case has filled a home: every file is then
unchanged, so the run measures start-up, the manifest check and nothing else.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CLI_RUNS = 3


def _cli_args(home: Path, targets: list[Path], collection: str, embedding: str) -> list[str]:
    return ["--home", str(home), "ingest", *map(str, targets), "--collection", collection,
            "--embedding", embedding]


def bytecode_env(work: Path) -> dict[str, str]:
    """An environment where Python caches bytecode (in the scratch folder, not in the venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def time_cli(home: Path, targets: list[Path], collection: str, embedding: str,
             env: dict[str, str] | None = None, warm_up: bool = False) -> dict[str, Any]:
    """The CLI end to end on an already-ingested folder (every file unchanged), median of runs."""
    cmd = [str(Path(sys.executable).parent / "ragloom"), *_cli_args(home, targets, collection, embedding)]
    runs, last = [], ""
    for attempt in range(CLI_RUNS + int(warm_up)):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - start
        last = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise SystemExit(f"CLI failed ({proc.returncode}): {last}")
        if attempt >= int(warm_up):
            runs.append(elapsed)
    return {"command": " ".join(f'"{c}"' if " " in c else c for c in cmd), "runs_s": runs,
            "median_s": statistics.median(runs), "output": last}


def profile_cli(home: Path, targets: list[Path], collection: str, embedding: str, work: Path,
                env: dict[str, str]) -> dict[str, Any]:
    """Where a no-change CLI run spends its time: slowest top-level imports and the cProfile top."""
    import pstats

    args = _cli_args(home, targets, collection, embedding)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ragloom", *args], cwd=REPO,
                          capture_output=True, text=True, env=env)
    imports = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        # "import time: self | cumulative | name", nesting shown by two spaces per level
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            if name.startswith(" ") and not name.startswith("  "):
                imports.append((round(int(parts[1]) / 1e6, 3), name.strip()))
    stats_file = work / "cli.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "ragloom", *args],
                   cwd=REPO, capture_output=True, text=True, env=env)
    stats = pstats.Stats(str(stats_file))
    rows = []
    for (file, line, func), (_, ncalls, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "<frozen" in file or file == "~" or "runpy" in file or "/typer/" in file:
            continue
        rows.append((round(cumtime, 3), ncalls, f"{_short(file)}:{line}({func})"))
    rows.sort(reverse=True)
    return {"top_imports_s": sorted(imports, reverse=True)[:12], "top_cumulative_s": rows[:30]}


def _short(file: str) -> str:
    for marker in ("site-packages/", str(REPO) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file
