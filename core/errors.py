"""Errors that tell the user what failed, on which input, and what to do about it."""

from __future__ import annotations


class RagloomError(Exception):
    """Base error. ``str(err)`` is one readable line: what failed, on what, and the fix."""

    def __init__(self, what: str, *, subject: str | None = None, fix: str | None = None):
        self.what = what
        self.subject = subject
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        line = self.what
        if self.subject:
            line += f" ({self.subject})"
        if self.fix:
            line += f". Fix: {self.fix}"
        return line


class ConfigError(RagloomError):
    """Settings or a model spec are invalid."""


class FilterError(ConfigError):
    """A metadata filter (``where``) is malformed or too large: the caller's fault (a 4xx)."""


class ModelUnavailableError(RagloomError):
    """A model provider cannot be reached or does not serve the requested model."""


class ArtifactError(RagloomError):
    """A model file could not be fetched or failed its checksum."""


class StoreError(RagloomError):
    """The vector store is missing, unreachable or inconsistent."""


class IngestError(RagloomError):
    """A document could not be loaded or chunked."""


class PromptError(RagloomError):
    """A prompt template is missing, invalid or cannot be rendered."""
