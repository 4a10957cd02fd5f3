"""The SQLite backend (each store its own file under home) passes the storage conformance suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.storage_conformance import Opener, StorageConformance


class TestSqliteStorage(StorageConformance):
    @pytest.fixture
    def target(self, tmp_path: Path) -> Iterator[Opener]:
        opened: list[Any] = []

        def open_store(store: type) -> Any:
            opened.append(store(tmp_path / f"{store.__name__}.sqlite"))
            return opened[-1]

        yield open_store
        for store in opened:
            store.close()

    @pytest.fixture
    def prompt_layer(self, tmp_path: Path) -> Any:
        from ragloom.prompts.layers import FileLayer

        return lambda: FileLayer(tmp_path / "prompts")  # HOME/prompts, shared by its processes


def test_a_sqlite_store_file_is_private(tmp_path: Path) -> None:
    from ragloom.api.keys import KeyStore

    store = KeyStore(tmp_path / "api" / "keys.sqlite")
    store.create("me", "admin")
    store.close()
    assert (tmp_path / "api" / "keys.sqlite").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "api").stat().st_mode & 0o777 == 0o700
