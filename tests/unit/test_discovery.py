"""Folder discovery reports every path it passes over, and why: loops, links, types, aliases."""

from __future__ import annotations

import os
from pathlib import Path

from ragloom.retrieval.collections import Collection
from ragloom.retrieval.discovery import discover
from ragloom.retrieval.ingest import ingest


def _tree(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.txt").write_text("Green tea steeps for two minutes at seventy-five degrees.")
    os.symlink("b.txt", docs / "a.txt")  # a.txt -> b.txt -> a.txt
    os.symlink("a.txt", docs / "b.txt")
    os.symlink("gone.md", docs / "broken.md")
    os.symlink("..", docs / "sub" / "up")  # folder loop: back to docs
    os.symlink("d2", docs / "d1")  # folder links that point at each other
    os.symlink("d1", docs / "d2")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, docs / "linked")
    os.symlink("good.txt", docs / "alias.txt")  # a second path to one file
    (docs / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    os.mkfifo(docs / "pipe.txt")
    return docs


def test_every_skipped_path_has_a_reason(tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    files = list(discover([docs], failed, skipped))
    why = {Path(p).relative_to(docs).as_posix(): r for p, r in skipped}
    assert files == [docs / "alias.txt"] and not failed  # first in order; good.txt is the alias
    assert why["a.txt"] == "symlink loop (a.txt -> b.txt -> a.txt)"
    assert why["b.txt"] == "symlink loop (b.txt -> a.txt -> b.txt)"
    assert why["d1"].startswith("symlink loop") and why["d2"].startswith("symlink loop")
    assert why["sub/up"].startswith("symlink loop: folder link back to") and str(docs) in why["sub/up"]
    assert why["linked"].startswith("symlinked folder not followed")
    assert why["broken.md"] == "broken symlink: its target gone.md does not exist"
    assert why["good.txt"].startswith(f"same file as {docs / 'alias.txt'}")
    assert why["photo.png"] == "unsupported file type (.png)"
    assert why["pipe.txt"].startswith("not a regular file")
    assert len(why) == 10


def test_a_given_loop_fails_and_a_path_given_twice_is_ingested_once(tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    given = [docs / "a.txt", docs / "good.txt", docs / "good.txt", tmp_path / "nowhere.txt"]
    assert list(discover(given, failed, skipped)) == [docs / "good.txt"]
    assert failed == [(str(docs / "a.txt"), "symlink loop (a.txt -> b.txt -> a.txt)"),
                      (str(tmp_path / "nowhere.txt"), "path does not exist")]
    assert [p for p, _ in skipped] == [str(docs / "good.txt")]


def test_ingest_reports_skipped_paths_and_stores_each_file_once(settings, fake_embeddings,
                                                                tmp_path: Path) -> None:
    docs = _tree(tmp_path)
    col = Collection(settings, "docs", fake_embeddings)
    report = ingest([docs, docs / "good.txt"], col, workers=1)
    assert report.ok and report.ingested == [str((docs / "good.txt").resolve())]
    assert len(report.skipped) == 11 and all(reason for _, reason in report.skipped)
    assert col.manifest.counts() == (1, col.store.count())
