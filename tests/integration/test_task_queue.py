"""The task queue, all real: PostgreSQL (initdb), a `chroma run`, two `ragloom worker`
processes and the fast fake model host. An evaluation launched with `--queue` fans its rows out
over both workers; one worker is SIGKILLed mid-run and the run still completes, every row once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragloom.core.settings import load_settings
from ragloom.evals.store import RunStore
from tests.integration.deployment import deployment, logs, process_env, ragloom_cli
from tests.integration.servers import HOST

# A hung subprocess or queue call fails its test instead of stalling the suite.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
METRICS = "retrieval_recall,answer_contains,refusal,model_calls"


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    """RAGLOOM_* settings every process of the deployment shares (each keeps its own home)."""
    root = Path(tempfile.mkdtemp(prefix="ragloom-queue-"))
    with deployment(root) as env:
        upgraded = ragloom_cli(root / "admin", env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "task queue" in upgraded.stderr  # procrastinate's tables were created
        yield env


def _worker(root: Path, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = (root / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "ragloom", "worker", "--name", name,
                             "--stalled-after", "3"], env=process_env(env, root / name), cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)


def test_rows_fan_out_over_two_workers_and_survive_a_killed_one(stack, tmp_path) -> None:
    # Each model call takes 0.7 s, so a worker is always in the middle of a row when killed.
    httpx.post(f"{stack['FAKE_MODEL']}/control", json={"mode": "ok", "delay_s": 0.7})
    w1, w2 = _worker(tmp_path, stack, "w1"), _worker(tmp_path, stack, "w2")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "ragloom", "eval", "run", "sample", "--queue", "--metrics",
         METRICS, "--json"], env=process_env(stack, tmp_path / "launcher"), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    settings = load_settings(home=tmp_path / "reader", database_url=stack["RAGLOOM_DATABASE_URL"])
    store = RunStore.for_settings(settings)
    try:
        deadline = time.monotonic() + 180
        while not any(r["worker"] == "w1" for run in store.list_runs("sample", 1)
                      for r in store.rows(run["id"])):
            assert time.monotonic() < deadline and launcher.poll() is None, logs(tmp_path)
            time.sleep(0.2)
        w1.send_signal(signal.SIGKILL)  # mid-row: its task must move to w2
        w1.wait(timeout=10)
        out, errors = launcher.communicate(timeout=240)
    finally:
        for proc in (w1, w2, launcher):
            if proc.poll() is None:
                proc.kill()
        store.close()
    assert launcher.returncode in (0, 1), errors  # 1: the suite's gate, judged on a fake model
    (run_id,) = json.loads(out)["runs"]
    store = RunStore.for_settings(settings)
    info, rows = store.run_info(run_id), store.rows(run_id)
    assert info["status"] == "done" and info["row_count"] == 10 == len(rows)
    assert len({r["id"] for r in rows}) == 10  # every row once: the retry neither lost nor doubled
    workers = [r["worker"] for r in rows]
    assert "w1" in workers and "w2" in workers and all(r.get("answer") for r in rows)
    assert all(set(r["scores"]) == set(METRICS.split(",")) for r in rows)
    assert "lost its worker: retrying it" in (tmp_path / "w2.log").read_text(), logs(tmp_path)


def test_the_api_queues_an_evaluation_and_a_worker_fills_it(stack, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app

    httpx.post(f"{stack['FAKE_MODEL']}/control", json={"mode": "ok", "delay_s": 0.0})
    settings = load_settings(
        home=tmp_path / "api", database_url=stack["RAGLOOM_DATABASE_URL"], chat="openai/fake",
        embedding="openai/fake-embed", judge="openai/fake",
        openai={"base_url": stack["RAGLOOM_OPENAI__BASE_URL"]},
        chroma={"mode": "server", "host": HOST, "port": int(stack["RAGLOOM_CHROMA__PORT"])})
    with TestClient(create_app(settings, auth=False)) as api:
        r = api.post("/evals/runs", json={"suite": "sample", "queue": True, "limit": 2})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 120
        while (state := api.get(r.json()["status_url"]).json())["status"] not in (
                "queued", "failed"):
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["status"] == "queued", state
        (run_id,) = state["run_ids"]
        assert api.get(f"/evals/runs/{run_id}").json()["status"] == "queued"
        done = ragloom_cli(tmp_path / "w", stack, "worker", "--once")  # until the queue is empty
        assert done.returncode == 0, done.stderr
        run = api.get(f"/evals/runs/{run_id}").json()
    assert run["status"] == "done" and len(run["rows"]) == 2, (run["status"], done.stderr)
    (worker,) = {r["worker"] for r in run["rows"]}  # unnamed: host:pid
    assert worker.startswith(f"{socket.gethostname()}:")


def test_an_upload_whose_worker_is_killed_is_ingested_once_by_another(stack, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from ragloom.api.app import create_app
    from ragloom.core.models import get_embeddings
    from ragloom.retrieval.collections import Collection

    control = f"{stack['FAKE_MODEL']}/control"
    httpx.post(control, json={"mode": "ok", "embed_delay_s": 3.0})  # the kill lands mid-embed
    settings = load_settings(
        home=tmp_path / "api", database_url=stack["RAGLOOM_DATABASE_URL"],
        embedding="openai/fake-embed", openai={"base_url": stack["RAGLOOM_OPENAI__BASE_URL"]},
        chroma={"mode": "server", "host": HOST, "port": int(stack["RAGLOOM_CHROMA__PORT"])})
    names = [f"note{i}.md" for i in range(5)]
    files = [("files", (n, f"# Note {i}\n\nKite {i} flies on day {i}.\n".encode(), "text/markdown"))
             for i, n in enumerate(names)]
    workers = [_worker(tmp_path, stack, "w1")]
    try:
        with TestClient(create_app(settings, auth=False)) as api:
            r = api.post("/collections/killed/documents", params={"queue": "true"}, files=files)
            assert r.status_code == 202, r.text
            deadline = time.monotonic() + 120
            while api.get(r.json()["status_url"]).json()["status"] != "running":
                assert time.monotonic() < deadline, logs(tmp_path)
                time.sleep(0.1)
            workers[0].send_signal(signal.SIGKILL)  # w1 holds the job and the collection's lock
            workers[0].wait(timeout=10)
            workers.append(_worker(tmp_path, stack, "w2"))
            while (job := api.get(r.json()["status_url"]).json())["status"] in ("queued", "running"):
                assert time.monotonic() < deadline + 60, logs(tmp_path)
                time.sleep(0.3)
    finally:
        httpx.post(control, json={"mode": "ok"})
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
    assert job["status"] == "done" and job["worker"] == "w2", job
    assert sorted(job["ingested"]) == names
    col = Collection(settings, "killed", get_embeddings(settings.embedding, settings), create=False)
    assert col.manifest.intents() == []  # the retry recovered w1's half-stored batch
    assert col.manifest.counts() == (5, col.store.count())  # nothing lost, nothing doubled
    assert "lost its worker: retrying it" in (tmp_path / "w2.log").read_text(), logs(tmp_path)


def test_a_queued_ingest_that_fails_every_attempt_is_marked_failed(stack, tmp_path) -> None:
    """Defence in depth: a hostile name that reached the shared database anyway makes every
    attempt raise; after the last one the job says why instead of staying queued forever."""
    from ragloom.api.jobs import IngestJobs

    settings = load_settings(home=tmp_path / "api", database_url=stack["RAGLOOM_DATABASE_URL"])
    jobs = IngestJobs(settings, lambda _: None)
    worker = _worker(tmp_path, stack, "w3")
    try:
        job_id = jobs.enqueue("hostile", [("../escape.md", lambda: b"# Out\n")], "test")
        deadline = time.monotonic() + 120
        while (job := jobs.get(job_id))["status"] in ("queued", "running"):  # type: ignore[index]
            assert time.monotonic() < deadline, logs(tmp_path)
            time.sleep(0.3)
    finally:
        worker.kill()
        jobs.close()
    assert job["status"] == "failed" and "leaves the upload folder" in job["error"], job
    assert job["fix"] and job["worker"] == "w3"
    assert not (tmp_path / "escape.md").exists() and not (tmp_path / "w3" / "escape.md").exists()
