"""Without a shared database the queue refuses clearly, before creating anything (the CLI's
``main`` prints these errors as one line)."""

from __future__ import annotations

from typer.testing import CliRunner

from ragloom.cli import app


def test_queue_and_worker_need_the_shared_database(tmp_path) -> None:
    runner = CliRunner()
    home = str(tmp_path / "home")
    queued = runner.invoke(app, ["--home", home, "eval", "run", "sample", "--queue", "--limit",
                                 "1"])
    assert queued.exit_code != 0 and "needs the shared database" in str(queued.exception)
    assert not (tmp_path / "home" / "evals.sqlite").exists()  # no run was created
    worker = runner.invoke(app, ["--home", home, "worker"])
    assert worker.exit_code != 0 and "takes its tasks from the shared database" in str(worker.exception)
    status = runner.invoke(app, ["--home", home, "db", "status"])
    assert status.exit_code != 0 and "no database_url is set" in str(status.exception)
