"""Prompt templates as versioned data files.

Layout: ``<dir>/<name>/v<N>.yaml`` (immutable versions) and ``<dir>/<name>/prompt.json`` (labels
with their history, and the SHA-256 of every version). A reference is ``name`` (its production
label), ``name@3`` (a pinned version) or ``name:staging`` (a label). A user's directory is layered
over the shipped one: its labels win, and new versions continue the shipped numbering there.
Templates are Jinja2 rendered in a sandbox (``ragloom.prompts.sandbox``) with StrictUndefined: a missing
variable is an error, and a template cannot reach Python objects, call anything or read files.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SecurityError

from ragloom.core.errors import PromptError
from ragloom.core.settings import Settings
from ragloom.prompts.layers import DatabaseLayer, FileLayer, Layer
from ragloom.prompts.sandbox import ENV
from ragloom.prompts.validation import find_problems

SHIPPED_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: int
    messages: tuple[tuple[str, str], ...]  # (role, template)
    variables: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    author: str = ""
    created: str = ""
    sha256: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: Any) -> list[tuple[str, str]]:
        """Rendered (role, content) pairs; a variable the template uses but is not given fails."""
        try:
            return [(role, _compiled(text).render(**values)) for role, text in self.messages]
        except jinja2.UndefinedError as exc:
            raise PromptError(f"cannot render prompt: {exc.message}", subject=self.ref,
                              fix=f"pass the variables {', '.join(self.variables)}; no other name "
                              "(e.g. Jinja2's globals) exists in the sandbox, so a template using "
                              "one needs a corrected version") from exc
        except SecurityError as exc:  # a version file written around validation
            raise PromptError(f"prompt template refused by the sandbox: {exc}", subject=self.ref,
                              fix="this version was not saved through validation: save a "
                              "corrected version with `ragloom prompts new` and label it") from exc
        except jinja2.TemplateError as exc:
            raise PromptError(f"cannot render prompt: {exc.message or exc}", subject=self.ref,
                              fix="save a corrected version with `ragloom prompts new`") from exc

    def problems(self) -> list[str]:
        """Why this (already saved) version is invalid under today's rules; empty when valid."""
        return find_problems(self.name, [{"role": r, "content": c} for r, c in self.messages],
                             list(self.variables), self.params)

    def check(self) -> PromptVersion:
        """This version, or a PromptError when it could never render (e.g. saved before a rule)."""
        if problems := self.problems():
            raise PromptError(f"prompt version is invalid: {'; '.join(problems)}",
                              subject=self.ref, fix="save a corrected version with `ragloom "
                              "prompts new` and use that one")
        return self


@functools.lru_cache(maxsize=256)
def _compiled(text: str) -> jinja2.Template:
    return ENV.from_string(text)  # compiling is the cost of a render; templates are immutable


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


def read_meta(folder: Path) -> dict[str, Any]:
    """A prompt folder's prompt.json: {"labels": {label: {"version", "previous"}}, "sha256": {}}."""
    return FileLayer(folder.parent).meta(folder.name)


class PromptStore:
    """Reads prompts from a user layer (optional, first: a folder or the shared database)
    layered over the shipped folder."""

    def __init__(self, user: Path | Layer | None = None):
        self.user: Layer | None = FileLayer(user) if isinstance(user, Path) else user
        self.user_dir = user if isinstance(user, Path) else None
        self.layers: list[Layer] = [*([self.user] if self.user else []), FileLayer(SHIPPED_DIR)]

    def names(self) -> list[str]:
        return sorted(set().union(*(layer.names() for layer in self.layers)))

    def _layers(self, name: str) -> list[Layer]:
        found = [layer for layer in self.layers if layer.versions(name)]
        if not found:
            raise PromptError(f"no prompt named '{name}'", fix="see `ragloom prompts list`")
        return found

    def versions(self, name: str) -> list[int]:
        return sorted(set().union(*(layer.versions(name) for layer in self._layers(name))))

    def label_state(self, name: str) -> dict[str, dict[str, Any]]:
        """Labels with their history, from the first layer that has any."""
        for layer in self._layers(name):
            labels = layer.meta(name).get("labels") or {}
            if labels:
                return {k: v if isinstance(v, dict) else {"version": v, "previous": []}
                        for k, v in labels.items()}
        return {}

    def archived(self, name: str) -> set[int]:
        """Versions hidden from pickers (kept for history, diffs and old runs' pins)."""
        return {int(v) for layer in self._layers(name)
                for v in layer.meta(name).get("archived") or []}

    def active_versions(self, name: str) -> list[int]:
        """The versions a picker offers: all but the archived ones."""
        hidden = self.archived(name)
        return [v for v in self.versions(name) if v not in hidden]

    def labels(self, name: str) -> dict[str, int]:
        return {k: int(v["version"]) for k, v in self.label_state(name).items()}

    def resolve(self, ref: str, default_label: str = "production") -> tuple[str, int]:
        name, version, label = parse_ref(ref, default_label)
        if version is None:
            labels = self.labels(name)
            if label not in labels:
                raise PromptError(f"prompt '{name}' has no label '{label}'",
                                  fix=f"labels: {', '.join(labels) or 'none'}; or pin NAME@N")
            version = labels[label]
        return name, version

    def get(self, ref: str, default_label: str = "production") -> PromptVersion:
        name, version = self.resolve(ref, default_label)
        for layer in self._layers(name):
            data = layer.body(name, version)
            if data is not None:
                return _load_version(name, version, data, layer.describe(name, version),
                                     layer.meta(name).get("sha256", {}))
        raise PromptError(f"prompt '{name}' has no version {version}",
                          fix=f"versions: {', '.join(map(str, self.versions(name)))}")

    def checked(self, ref: str, default_label: str = "production") -> PromptVersion:
        """Like ``get``, and refuses a version that breaks today's rules (for pins and labels)."""
        return self.get(ref, default_label).check()


def prompt_store(settings: Settings) -> PromptStore:
    """The prompts every interface reads: the shared database's user layer when
    ``database_url`` is set, else ``prompts_dir`` (default HOME/prompts)."""
    if settings.database:
        from ragloom.core.storage.engines import shared_engine

        return PromptStore(DatabaseLayer(shared_engine(settings.database)))
    return PromptStore(settings.user_prompts_dir)


def _load_version(name: str, version: int, data: bytes, where: str,
                  hashes: dict[str, str]) -> PromptVersion:
    digest = hashlib.sha256(data).hexdigest()
    expected = hashes.get(str(version))
    if expected is None or expected != digest:
        raise PromptError(
            "prompt version file was changed after it was saved" if expected else
            "prompt version has no recorded checksum",
            subject=where,
            fix="versions are immutable: restore the file, or save your change as a new version "
            "with `ragloom prompts new`")
    try:
        spec = yaml.safe_load(data.decode("utf-8"))
        messages = tuple((m["role"], m["content"]) for m in spec["messages"])
    except (yaml.YAMLError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise PromptError(f"prompt file is malformed: {exc}", subject=where) from exc
    return PromptVersion(name=name, version=version, messages=messages,
                         variables=tuple(spec.get("variables", [])),
                         params=dict(spec.get("params") or {}), message=spec.get("message", ""),
                         author=spec.get("author", ""), created=str(spec.get("created", "")),
                         sha256=digest)
