"""SIGKILL a real `ragloom ingest` at random moments; the re-run must equal a clean run exactly."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragloom.core.settings import load_settings
from ragloom.retrieval.collections import Collection
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import BagOfWordsEmbeddings

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
WORDS = ("tea leaf brew kettle harvest grade member assembly shipping parcel refund tin oolong "
         "green black flavour storage moisture taster weighing premium cooperative village").split()


def _make_corpus(dest: Path, n: int, seed: int) -> Path:
    rng = random.Random(seed)
    shutil.copytree(SAMPLE_CORPUS, dest)
    for i in range(n):
        paragraphs = [" ".join(rng.choices(WORDS, k=60)) + "." for _ in range(12)]
        (dest / f"note-{i:03d}.md").write_text(f"# Note {i}\n\n" + "\n\n".join(paragraphs))
    return dest


def _ingest_cmd(home: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "ragloom", "--home", str(home), "ingest", str(corpus),
            "--collection", "crash", "--sync"]


def _snapshot(home: Path) -> tuple[dict, dict]:
    """Chunks in Chroma (without ingest times) and manifest entries (without timestamps)."""
    col = Collection(load_settings(home=home), "crash", BagOfWordsEmbeddings(), create=False)
    chunks = {cid: (text, {k: v for k, v in meta.items() if k != "ingested_at"})
              for cid, text, meta in col.store.records()}
    files = {e.source: (e.content_hash, e.chunk_ids) for e in col.manifest.entries()}
    assert not col.manifest.intents()
    return chunks, files


def _run_clean(home: Path, corpus: Path) -> tuple[dict, dict]:
    done = subprocess.run(_ingest_cmd(home, corpus), capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return _snapshot(home)


def _processes_using(home: Path) -> list[int]:
    """Pids whose command line names ``home`` (the ingest and any parser worker it forked)."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(home).encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _kill_at_random(home: Path, corpus: Path, rng: random.Random, kills: int) -> int:
    """Start the ingest and SIGKILL it ``kills`` times at random moments; returns kills landed."""
    landed = 0
    for _ in range(kills):
        proc = subprocess.Popen(_ingest_cmd(home, corpus), cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 9.0))  # imports take ~3 s; ingesting the corpus takes longer
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            landed += 1
        proc.wait()
    time.sleep(0.5)
    assert _processes_using(home) == [], "parser workers outlived the killed ingest"
    return landed


def test_sigkill_during_first_ingest_then_rerun_equals_clean(tmp_path: Path) -> None:
    corpus = _make_corpus(tmp_path / "docs", n=120, seed=1)
    clean = _run_clean(tmp_path / "clean", corpus)
    assert len(clean[1]) == 123 and len(clean[0]) > 200

    rng = random.Random(7)
    home = tmp_path / "crashy"
    landed = _kill_at_random(home, corpus, rng, kills=3)
    assert landed >= 1, "no kill landed mid-run: the corpus is too small for this machine"
    assert _run_clean(home, corpus) == clean


def test_sigkill_while_replacing_changed_files(tmp_path: Path) -> None:
    corpus = _make_corpus(tmp_path / "docs", n=120, seed=2)
    home = tmp_path / "crashy"
    _run_clean(home, corpus)
    # change half the files and delete a few, then kill the re-ingest that replaces them
    rng = random.Random(11)
    for path in sorted(corpus.glob("note-*.md"))[::2]:
        path.write_text(path.read_text() + "\n\nAddendum: " + " ".join(rng.choices(WORDS, k=80)))
    for path in sorted(corpus.glob("note-*.md"))[1:10:2]:
        path.unlink()
    clean = _run_clean(tmp_path / "clean", corpus)

    landed = _kill_at_random(home, corpus, rng, kills=3)
    assert landed >= 1
    assert _run_clean(home, corpus) == clean
