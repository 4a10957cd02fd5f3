"""Shared pieces of the CLI modules: consoles and settings resolution."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from ragloom.core.settings import Settings

# soft_wrap: never hard-wrap lines when output is piped (one error = one line).
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ChatOption = Annotated[str | None, typer.Option(help="Chat model, provider/model.")]
EmbeddingOption = Annotated[str | None, typer.Option(help="Embedding model, provider/model.")]
CollectionOption = Annotated[str | None, typer.Option(help="Collection name.")]


def settings_of(ctx: typer.Context, **flags: str | None) -> Settings:
    """The settings resolved by the top-level callback, plus flags given after the subcommand."""
    settings: Settings = ctx.obj["settings"]
    given = {k: v for k, v in flags.items() if v is not None}
    return settings.model_copy(update=given) if given else settings
