"""`ragloom ui`: start the Streamlit app with the CLI's settings (home, config file)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent / "app.py"  # ships in the wheel


def streamlit_command(port: int, address: str, headless: bool) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
            "--server.address", address, "--server.headless", str(headless).lower(),
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]


def ui(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 for the network).")
                       ] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open/--no-open",
                                               help="Open a browser tab.")] = True,
) -> None:
    """Open the web app: ask, manage documents, author prompts, run evaluations."""
    if not APP.is_file():
        typer.echo(f"error: the app script is missing ({APP}). Fix: reinstall ragloom "
                   "(pip install --force-reinstall ragloom)", err=True)
        raise typer.Exit(2)
    env = dict(os.environ)
    settings = (ctx.obj or {}).get("settings")
    if settings is not None:  # the app resolves settings itself; hand over what flags changed
        env["RAGLOOM_HOME"] = str(Path(settings.home).resolve())
        env["RAGLOOM_CHAT"], env["RAGLOOM_EMBEDDING"] = settings.chat, settings.embedding
    typer.echo(f"ragloom UI on http://{address}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    # Become Streamlit (no child left behind when a supervisor stops `ragloom ui`).
    cmd = streamlit_command(port, address, not open_browser)
    os.execve(cmd[0], cmd, env)
