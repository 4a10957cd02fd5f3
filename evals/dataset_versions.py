"""Content-hashed versions of a suite's dataset file.

The version of a dataset is the hash of its rows (``runs.dataset_version``, recorded in every
run's config). Appending rows (a reviewer's accepted correction, ``ragloom.evals.review``)
snapshots the version before and the one after into ``HOME/datasets/SUITE/VERSION.jsonl``, so an
old run's rows stay readable after the file moved on, and writes the file atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

from ragloom.core.errors import ConfigError
from ragloom.core.private import private_dir
from ragloom.core.settings import Settings
from ragloom.evals.runs import dataset_version
from ragloom.evals.suites import Suite, SuiteRow, read_rows, write_rows


def versions_dir(settings: Settings, suite: Suite) -> Path:
    return settings.home / "datasets" / suite.name


def snapshot(settings: Settings, suite: Suite) -> str:
    """Keep the dataset as it is now under its version; returns the version."""
    rows = suite.rows()
    version = dataset_version(rows)
    path = versions_dir(settings, suite) / f"{version}.jsonl"
    if not path.exists():
        private_dir(path.parent)
        write_rows(rows, path)
    return version


def append_rows(settings: Settings, suite: Suite, rows: list[SuiteRow]) -> tuple[str, str]:
    """Append ``rows`` (replacing rows of the same id) to the suite's dataset file; returns
    (version before, version after). Built-in datasets are read-only: copy them to a file."""
    if suite.dataset.builtin or not suite.dataset.path:
        raise ConfigError(f"suite '{suite.name}' reads a built-in dataset, which is not edited",
                          fix="point dataset.path at a JSONL file (ragloom eval dataset …)")
    path = suite.resolve(suite.dataset.path)
    if not os.access(path, os.W_OK):
        raise ConfigError(f"the dataset file of suite '{suite.name}' is not writable",
                          subject=str(path), fix="copy the suite and its dataset to a folder "
                          "of yours and accept into that suite")
    before = snapshot(settings, suite)
    new_ids = {r.id for r in rows}
    merged = [r for r in read_rows(path) if r.id not in new_ids] + rows
    tmp = path.with_name(f".{path.name}.part")
    write_rows(merged, tmp)
    tmp.replace(path)  # readers see the old file or the new one, never half of it
    return before, snapshot(settings, suite)


def versions(settings: Settings, suite: Suite) -> list[str]:
    """Snapshotted versions, oldest first."""
    folder = versions_dir(settings, suite)
    found = sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
    return [p.stem for p in found]


def read_version(settings: Settings, suite: Suite, version: str) -> list[SuiteRow]:
    path = versions_dir(settings, suite) / f"{version}.jsonl"
    if not path.is_file():
        raise ConfigError(f"suite '{suite.name}' has no dataset version {version}",
                          fix=f"see `ragloom review versions {suite.name}`")
    return read_rows(path)
