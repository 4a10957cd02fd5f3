"""Changing ``ragloom.toml`` in place: the keys given are set, the rest of the file (other keys,
tables, comments) is kept, and a change that would not load is refused before anything is written.
tomlkit keeps the user's formatting; the file is replaced atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ragloom.core.errors import ConfigError

CONFIG_FILE = Path("ragloom.toml")  # where load_settings() looks: the working directory


def set_in_config(values: dict[str, Any], path: Path = CONFIG_FILE) -> Path:
    """Set top-level ``values`` (e.g. ``{"chat": "ollama/llama3.2"}``) in ``path``."""
    import tomlkit
    from pydantic import ValidationError

    from ragloom.core.models.spec import ModelSpec
    from ragloom.core.settings import load_settings

    try:
        doc = tomlkit.parse(path.read_text()) if path.exists() else tomlkit.document()
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", fix="fix or move the file, then retry"
                          ) from exc
    for key, value in values.items():
        doc[key] = value
    text = tomlkit.dumps(doc)
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text(text)
    try:
        loaded = load_settings(candidate)
        for role in ("chat", "embedding", "judge"):
            ModelSpec.parse(getattr(loaded, role))
    except ValidationError as exc:
        candidate.unlink()
        first = exc.errors()[0]
        raise ConfigError(f"{path} would not load: {'.'.join(map(str, first['loc']))}: "
                          f"{first['msg']}", fix="nothing was written; pick another value") from exc
    except ConfigError:
        candidate.unlink()
        raise
    os.replace(candidate, path)
    return path.resolve()
