"""`ragloom ui` starts `streamlit run app.py` with the CLI's home and models."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from ragloom.core.settings import load_settings
from ragloom.ui import launch


def test_ui_command_runs_streamlit_on_app_py_with_the_cli_settings(tmp_path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(launch.os, "execve",
                        lambda path, cmd, env: calls.append((cmd, env)) or path)
    app = typer.Typer()

    @app.callback()
    def configure(ctx: typer.Context) -> None:
        ctx.obj = {"settings": load_settings(home=tmp_path / "h", chat="ollama/llama3.2")}

    app.command()(launch.ui)
    result = CliRunner().invoke(app, ["ui", "--port", "8600", "--no-open"])
    assert result.exit_code == 0, result.output
    cmd, env = calls[0]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"  # offline, private documents
    assert env["RAGLOOM_HOME"] == str((tmp_path / "h").resolve())
    assert env["RAGLOOM_CHAT"] == "ollama/llama3.2"
    assert "http://127.0.0.1:8600" in result.output
