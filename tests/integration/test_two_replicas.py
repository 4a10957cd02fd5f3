"""The deployment docs/scaling.md describes, all real: two `ragloom serve` processes with different,
unshared homes and two `ragloom worker` processes, sharing only PostgreSQL (state and the task
queue), a `chroma run` and the fake model host. A key made on A works on B; an upload queued on A
is ingested by a worker and answered on B with BM25 and dense search; a conversation started on A
continues on B; an evaluation launched on B fans out over both workers and reads on A. (A worker
SIGKILLed mid-run: tests/integration/test_task_queue.py.)"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.deployment import deployment, logs, process_env, ragloom_cli
from tests.integration.servers import HOST, free_port, stop

# A hung subprocess or queue call fails its test instead of stalling the suite.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
KITES = b"# Kites\n\nThe Zephyr Kite Club flies a teal kite every Sunday at Pirita beach.\n"


def _start(root: Path, env: dict[str, str], name: str, *args: str) -> subprocess.Popen[bytes]:
    log = (root / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "ragloom", *args],
                            env=process_env(env, root / name), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, Any]]:
    root = Path(tempfile.mkdtemp(prefix="ragloom-replicas-"))
    with deployment(root) as env:
        upgraded = ragloom_cli(root / "admin", env, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        made = ragloom_cli(root / "a", env, "keys", "create", "--name", "ops", "--admin")
        assert made.returncode == 0, made.stderr  # made with A's home: lands in PostgreSQL
        ports = {name: free_port() for name in ("a", "b")}
        procs = [_start(root, env, name, "serve", "--host", HOST, "--port", str(port))
                 for name, port in ports.items()]
        procs += [_start(root, env, name, "worker", "--name", name, "--stalled-after", "5")
                  for name in ("w1", "w2")]
        urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
        try:
            deadline = time.monotonic() + 120
            for url in urls.values():
                while not _up(url):
                    assert time.monotonic() < deadline, logs(root)
                    assert all(p.poll() is None for p in procs), logs(root)
                    time.sleep(0.3)
            headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
            with httpx.Client(base_url=urls["a"], headers=headers, timeout=60) as a, \
                    httpx.Client(base_url=urls["b"], headers=headers, timeout=60) as b:
                yield {"a": a, "b": b, "env": env, "root": root}
        finally:
            for proc in procs:
                stop(proc)


def _queue_jobs(env: dict[str, str]) -> list[tuple[Any, ...]]:
    """The task queue's view of every job, for a failure message: who took what, and when."""
    import psycopg

    from ragloom.core.storage.engines import libpq_url

    with psycopg.connect(libpq_url(env["RAGLOOM_DATABASE_URL"])) as db:
        return db.execute("SELECT id, task_name, status, attempts, lock, worker_id, scheduled_at "
                          "FROM procrastinate_jobs ORDER BY id").fetchall()


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).is_success
    except httpx.HTTPError:
        return False


def _wait(client: httpx.Client, path: str, done: Any, root: Path, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        r = client.get(path)
        if r.status_code == 200 and done(body := r.json()):
            return body
        assert time.monotonic() < deadline, f"{path}: {r.text}\n{logs(root)}"
        time.sleep(0.3)


def test_a_key_made_on_a_is_accepted_by_b_and_a_wrong_one_by_neither(cluster) -> None:
    for side in ("a", "b"):
        assert cluster[side].get("/collections").status_code == 200
        bad = cluster[side].get("/collections", headers={"Authorization": "Bearer rl_nope"})
        assert bad.status_code == 401


def test_an_upload_queued_on_a_is_ingested_by_a_worker_and_found_on_b(cluster) -> None:
    from ragloom.retrieval.lexical import LexicalIndex, index_dir

    a, b, root = cluster["a"], cluster["b"], cluster["root"]
    r = a.post("/collections/kites/documents", params={"queue": "true"},
               files=[("files", ("kites.md", KITES, "text/markdown"))])
    assert r.status_code == 202, r.text
    assert not (root / "a" / "uploads").exists()  # the bytes went to the shared database
    job = _wait(b, r.json()["status_url"], lambda j: j["status"] not in ("queued", "running"), root)
    assert job["status"] == "done" and job["ingested"] == ["kites.md"], job
    assert job["worker"] in ("w1", "w2") and job["chunks_added"] >= 1
    assert b.get("/collections/kites").json()["files"] == 1  # B reads the shared manifest
    answer = b.post("/ask", json={"question": "What colour is the Zephyr Kite Club kite?",
                                  "collection": "kites", "graph": "simple"})
    assert answer.status_code == 200, answer.text
    assert [c["source"] for c in answer.json()["citations"]] == ["upload://kites.md"]
    # B's own BM25 index, rebuilt from Chroma when the shared generation moved, has the upload.
    lexical = LexicalIndex.load(index_dir(root / "b", "kites"))
    assert lexical is not None and lexical.search("Zephyr teal kite", 3)
    # The same file again is unchanged; a refused file leaves no bytes behind.
    again = a.post("/collections/kites/documents", params={"queue": "true"},
                   files=[("files", ("kites.md", KITES, "text/markdown")),
                          ("files", ("broken.pdf", b"not a pdf", "application/pdf"))])
    job = _wait(b, again.json()["status_url"], lambda j: j["status"] not in ("queued", "running"),
                root)
    assert job["unchanged"] == ["kites.md"] and [f["file"] for f in job["failed"]] == ["broken.pdf"]
    from ragloom.core.settings import load_settings
    from ragloom.retrieval.uploads import UploadStore

    shared = load_settings(home=root / "reader", database_url=cluster["env"]["RAGLOOM_DATABASE_URL"])
    assert UploadStore.shared(shared).names("kites") == ["kites.md"]


def test_a_conversation_started_on_a_continues_on_b(cluster) -> None:
    from ragloom.core.storage.threads import checkpointer

    a, b, root = cluster["a"], cluster["b"], cluster["root"]
    assert a.post("/collections/chat/documents", params={"queue": "true"},
                  files=[("files", ("kites.md", KITES, "text/markdown"))]).status_code == 202
    _wait(a, "/collections/chat", lambda c: c["files"] == 1, root)
    for api, question in ((a, "Which club flies a teal kite?"), (b, "On which day do they fly it?")):
        r = api.post("/ask", json={"question": question, "collection": "chat", "thread": "t1",
                                   "graph": "simple"})
        assert r.status_code == 200, r.text
    with checkpointer(root / "reader", cluster["env"]["RAGLOOM_DATABASE_URL"]) as saver:
        (thread,) = {c.config["configurable"]["thread_id"] for c in saver.list(None)
                     if c.config["configurable"]["thread_id"].endswith(".t1")}
        state = saver.get_tuple({"configurable": {"thread_id": thread}}).checkpoint
    assert [t["question"] for t in state["channel_values"]["history"]] == [
        "Which club flies a teal kite?", "On which day do they fly it?"]


def test_an_evaluation_launched_on_b_fans_out_over_both_workers_and_reads_on_a(cluster) -> None:
    a, b, root = cluster["a"], cluster["b"], cluster["root"]
    # Each model call takes 0.3 s: neither worker can drain the ten rows before the other starts.
    httpx.post(f"{cluster['env']['FAKE_MODEL']}/control", json={"mode": "ok", "delay_s": 0.3})
    try:
        r = b.post("/evals/runs", json={"suite": "sample", "queue": True})
        assert r.status_code == 202, r.text
        launch = _wait(b, r.json()["status_url"],
                       lambda s: s["status"] == "failed" or bool(s["run_ids"]), root)
        assert launch["status"] == "queued", launch
        (run_id,) = launch["run_ids"]
        run = _wait(a, f"/evals/runs/{run_id}", lambda r: r["status"] == "done", root, 300)
    finally:
        httpx.post(f"{cluster['env']['FAKE_MODEL']}/control", json={"mode": "ok", "delay_s": 0.0})
    assert len(run["rows"]) == 10 and len({row["id"] for row in run["rows"]}) == 10
    assert {row["worker"] for row in run["rows"]} == {"w1", "w2"}


def test_the_cli_queues_a_folder_and_waits_for_the_worker(cluster, tmp_path) -> None:
    folder = tmp_path / "notes"
    (folder / "club").mkdir(parents=True)
    (folder / "kites.md").write_bytes(KITES)
    (folder / "club" / "rules.md").write_text("# Rules\n\nMembers bring their own reels.\n")
    done = ragloom_cli(tmp_path / "cli", cluster["env"], "ingest", str(folder), "--collection",
                       "notes", "--queue")
    assert done.returncode == 0, done.stderr + logs(cluster["root"])
    assert "queued ingest job" in done.stderr and "2 ingested" in done.stdout, done.stdout
    assert not (tmp_path / "cli" / "manifests").exists()  # the manifest is the shared one
    listed = cluster["b"].get("/collections/notes").json()
    assert listed["files"] == 2, listed
    without = ragloom_cli(tmp_path / "solo", {"PYTHONPATH": cluster["env"]["PYTHONPATH"]},
                          "ingest", str(folder), "--queue")
    assert without.returncode != 0 and "shared database" in without.stderr, without.stderr


def test_the_web_app_queues_an_upload_and_follows_the_job(cluster, tmp_path) -> None:
    from ragloom.core.settings import load_settings
    from ragloom.ui.page_documents import FOLLOW_QUEUED_S, REPORT_KEY
    from ragloom.ui.state import NEW_COLLECTION
    from tests.unit.test_ui_support import app_test, fake_services

    env = cluster["env"]
    settings = load_settings(
        home=tmp_path / "web", database_url=env["RAGLOOM_DATABASE_URL"], chat="openai/fake",
        embedding="openai/fake-embed", openai={"base_url": env["RAGLOOM_OPENAI__BASE_URL"]},
        chroma={"mode": "server", "host": HOST, "port": int(env["RAGLOOM_CHROMA__PORT"])})
    at = app_test(settings, fake_services(), page="documents")
    at.selectbox(key="docs-collection").set_value(NEW_COLLECTION).run()
    at.text_input(key="docs-collection-new").set_value("webq").run()
    at.file_uploader(key="docs-upload").set_value([("kites.md", KITES, "text/markdown")])
    at.checkbox(key="docs-queue").check().run()
    at.button(key="docs-ingest").click()
    at.run(timeout=FOLLOW_QUEUED_S + 60)  # the page gives up on a job nobody takes before this
    assert not at.exception and not at.error, (
        [e.value for e in at.error], _queue_jobs(env), logs(cluster["root"]))
    report = at.session_state[REPORT_KEY]
    assert report["ingested"] == 1 and report["files"] == 1 and report["chunks"] >= 1, report
    assert not (tmp_path / "web" / "uploads").exists()  # queued: the bytes went to the database
