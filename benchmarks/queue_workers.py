"""Evaluation throughput with 1 vs 2 `ragloom worker` processes, on real parts.

PostgreSQL (a throw-away ``initdb`` cluster), a ``chroma run`` and the fake OpenAI-compatible
model host (``benchmarks/fake_openai.py``) with a fixed delay per model call, standing in for a
remote GPU host: a worker mostly waits on the model, as it would in production. Each round
starts a pool of 1 worker and then of 2, interleaved, runs the suite once untimed (each
worker's first row builds its context), then queues it again (``eval run --queue``) and
reports two times: the run's own span (from its creation, when its rows are queued, to its
last stored row: the workers' throughput, what the speed-up is computed on) and the whole
command's wall time (which adds the launcher's start-up, the same for 1 or 2 workers).

    python benchmarks/queue_workers.py --rounds 2 --delay 0.5 --suite sample
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.integration: the deployment the tests use too

from tests.integration.deployment import deployment, process_env  # noqa: E402
from tests.integration.servers import stop  # noqa: E402

METRICS = "retrieval_recall,answer_contains,model_calls"


def _workers(root: Path, common: dict[str, str], n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (root / f"worker{i}.log").open("ab")
        procs.append(subprocess.Popen([sys.executable, "-m", "ragloom", "worker", "--name",
                                       f"w{i}"], env=process_env(common, root / f"w{i}"), cwd=ROOT,
                                      stdout=log, stderr=subprocess.STDOUT))
    time.sleep(8)  # imports and the first connection, outside the timed part
    return procs


def _timed_run(root: Path, common: dict[str, str], suite: str) -> tuple[float, float]:
    """(the run's span from creation to last row, the command's wall time), in seconds."""
    from ragloom.core.settings import load_settings
    from ragloom.evals.store import RunStore

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ragloom", "eval", "run", suite, "--queue",
                           "--metrics", METRICS, "--json"], env=process_env(common, root / "launcher"),
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # 1: the suite's quality gate, meaningless on a fake model
        raise SystemExit(f"eval run --queue failed:\n{done.stderr[-2000:]}")
    (run_id,) = json.loads(done.stdout)["runs"]
    store = RunStore.for_settings(load_settings(home=root / "reader",
                                                database_url=common["RAGLOOM_DATABASE_URL"]))
    info = store.run_info(run_id)
    store.close()
    return info["finished"] - info["created"], wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--delay", type=float, default=0.5, help="seconds per model call")
    p.add_argument("--suite", default="sample")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ragloom-queue-bench-"))
    with deployment(root) as common:
        httpx.post(f"{common['FAKE_MODEL']}/control", json={"mode": "ok", "delay_s": args.delay})
        subprocess.run([sys.executable, "-m", "ragloom", "db", "upgrade"],
                       env=process_env(common, root / "admin"), cwd=ROOT, check=True,
                       capture_output=True)
        times: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
        for n in [1, 2] * args.rounds:
            procs = _workers(root, common, n)
            try:
                # A running pool is what throughput means: each worker's first row builds its
                # context (models, Chroma client, its own BM25 index), once per process.
                _timed_run(root, common, args.suite)
                times[n].append(_timed_run(root, common, args.suite))
            finally:
                for proc in procs:
                    stop(proc)
    load = os.getloadavg()
    print(f"suite {args.suite}, {args.delay:.2f} s per model call, {args.rounds} round(s), "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for n, ts in times.items():
        spans = [span for span, _ in ts]
        print(f"  {n} worker(s): run span median {statistics.median(spans):.1f} s "
              f"({', '.join(f'{t:.1f}' for t in spans)}); command wall median "
              f"{statistics.median(w for _, w in ts):.1f} s")
    speedup = (statistics.median(s for s, _ in times[1])
               / statistics.median(s for s, _ in times[2]))
    print(f"  speed-up of the run span with 2 workers: {speedup:.2f}x")


if __name__ == "__main__":
    main()
