"""Prompt templates as versioned data files.

Layout: ``prompts/<name>/v<N>.yaml`` (immutable versions) and ``prompts/<name>/labels.json``
(label -> version). A reference is ``name``, ``name@3`` (a pinned version) or ``name:staging``.
Templates are Jinja2 rendered with StrictUndefined: a missing variable is an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from core.errors import PromptError

SHIPPED_DIR = Path(__file__).parent
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                          autoescape=False)
_VERSION_FILE = re.compile(r"^v(\d+)\.yaml$")


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: int
    messages: tuple[tuple[str, str], ...]  # (role, template)
    variables: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: Any) -> list[tuple[str, str]]:
        """Rendered (role, content) pairs; a variable the template uses but is not given fails."""
        try:
            return [(role, _ENV.from_string(text).render(**values)) for role, text in self.messages]
        except jinja2.UndefinedError as exc:
            raise PromptError(f"cannot render prompt: {exc.message}", subject=self.ref,
                              fix=f"pass the variables {', '.join(self.variables)}") from exc


def parse_ref(ref: str, default_label: str = "production") -> tuple[str, int | None, str | None]:
    """``name@3`` -> (name, 3, None); ``name:staging`` -> (name, None, "staging")."""
    if "@" in ref:
        name, _, version = ref.partition("@")
        if not version.isdigit():
            raise PromptError(f"bad prompt version '{version}'", subject=ref,
                              fix="write NAME@N with N a version number, e.g. answer@2")
        return name, int(version), None
    name, _, label = ref.partition(":")
    return name, None, label or default_label


class PromptStore:
    """Reads prompts from a list of directories; earlier directories override later ones."""

    def __init__(self, dirs: list[Path] | None = None):
        self.dirs = [*(dirs or []), SHIPPED_DIR]

    def _folder(self, name: str) -> Path:
        for base in self.dirs:
            if (base / name).is_dir() and any((base / name).glob("v*.yaml")):
                return base / name
        raise PromptError(f"no prompt named '{name}'", fix="see `ragloom prompts list`")

    def versions(self, name: str) -> list[int]:
        folder = self._folder(name)
        return sorted(int(m.group(1)) for p in folder.iterdir()
                      if (m := _VERSION_FILE.match(p.name)))

    def labels(self, name: str) -> dict[str, int]:
        path = self._folder(name) / "labels.json"
        return {k: int(v) for k, v in json.loads(path.read_text()).items()} if path.exists() else {}

    def get(self, ref: str, default_label: str = "production") -> PromptVersion:
        name, version, label = parse_ref(ref, default_label)
        if version is None:
            labels = self.labels(name)
            if label not in labels:
                raise PromptError(f"prompt '{name}' has no label '{label}'",
                                  fix=f"labels: {', '.join(labels) or 'none'}; or pin NAME@N")
            version = labels[label]
        path = self._folder(name) / f"v{version}.yaml"
        if not path.is_file():
            raise PromptError(f"prompt '{name}' has no version {version}",
                              fix=f"versions: {', '.join(map(str, self.versions(name)))}")
        return _load_version(name, version, path)


def _load_version(name: str, version: int, path: Path) -> PromptVersion:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        messages = tuple((m["role"], m["content"]) for m in data["messages"])
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise PromptError(f"prompt file is malformed: {exc}", subject=str(path)) from exc
    return PromptVersion(name=name, version=version, messages=messages,
                         variables=tuple(data.get("variables", [])),
                         params=dict(data.get("params") or {}), message=data.get("message", ""))
