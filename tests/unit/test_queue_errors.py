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


def test_two_databases_in_one_process_keep_their_own_tasks() -> None:
    """procrastinate re-binds a shared blueprint's tasks to the last App and prefixes their names
    again: a second database (a test module, a benchmark) then deferred ``ragloom:ragloom:…`` jobs
    that no worker knew. Each App now registers its own tasks."""
    from ragloom.queue import EVAL_ROW, INGEST_UPLOAD, queue_app

    first, second = (queue_app(f"postgresql://u@127.0.0.1:{port}/ragloom") for port in (5001, 5002))
    assert first is not second
    for queue in (first, second):
        assert {EVAL_ROW, INGEST_UPLOAD} <= set(queue.tasks)  # (and procrastinate's builtins)
        assert all(queue.tasks[name].blueprint is queue for name in (EVAL_ROW, INGEST_UPLOAD))
        deferrer = queue.configure_task(INGEST_UPLOAD, allow_unknown=False)
        assert deferrer.job.task_name == INGEST_UPLOAD and deferrer.job_manager is queue.job_manager
