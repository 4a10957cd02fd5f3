"""Evaluation throughput with 1 vs 2 `ragloom worker` processes, on real parts.

PostgreSQL (a throw-away ``initdb`` cluster), a ``chroma run`` and the fake OpenAI-compatible
model host (``benchmarks/fake_openai.py``) with a fixed delay per model call, standing in for a
remote GPU host: a worker mostly waits on the model, as it would in production. Each round
queues the same suite (``eval run --queue``) for 1 worker and then for 2, interleaved, and
reports wall time from the launch to the last stored row, rows/s and the 2-worker speed-up.

    python benchmarks/queue_workers.py --rounds 2 --delay 0.5 --suite sample
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.integration: the PostgreSQL and Chroma helpers

from tests.integration.postgres import postgres  # noqa: E402
from tests.integration.servers import HOST, chroma_run, free_port, stop  # noqa: E402

METRICS = "retrieval_recall,answer_contains,model_calls"


def _env(common: dict[str, str], home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAGLOOM_")}
    return {**base, **common, "RAGLOOM_HOME": str(home)}


def _workers(root: Path, common: dict[str, str], n: int) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = (root / f"worker{i}.log").open("ab")
        procs.append(subprocess.Popen([sys.executable, "-m", "ragloom", "worker", "--name",
                                       f"w{i}"], env=_env(common, root / f"w{i}"), cwd=ROOT,
                                      stdout=log, stderr=subprocess.STDOUT))
    time.sleep(8)  # imports and the first connection, outside the timed part
    return procs


def _timed_run(root: Path, common: dict[str, str], suite: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ragloom", "eval", "run", suite, "--queue",
                           "--metrics", METRICS, "--json"], env=_env(common, root / "launcher"),
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if done.returncode not in (0, 1):  # 1: the suite's quality gate, meaningless on a fake model
        raise SystemExit(f"eval run --queue failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--delay", type=float, default=0.5, help="seconds per model call")
    p.add_argument("--suite", default="sample")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ragloom-queue-bench-"))
    port = free_port()
    model = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "fake_openai.py"),
                              "--port", str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        with postgres() as url, chroma_run(root / "chroma") as chroma:
            for _ in range(100):
                try:
                    httpx.post(f"http://{HOST}:{port}/control",
                               json={"mode": "ok", "delay_s": args.delay})
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            common = {"RAGLOOM_DATABASE_URL": url, "RAGLOOM_CHAT": "openai/fake",
                      "RAGLOOM_EMBEDDING": "openai/fake-embed", "RAGLOOM_JUDGE": "openai/fake",
                      "RAGLOOM_OPENAI__BASE_URL": f"http://{HOST}:{port}/v1",
                      "RAGLOOM_CHROMA__MODE": "server", "RAGLOOM_CHROMA__HOST": HOST,
                      "RAGLOOM_CHROMA__PORT": str(chroma), "PYTHONPATH": str(ROOT)}
            subprocess.run([sys.executable, "-m", "ragloom", "db", "upgrade"],
                           env=_env(common, root / "admin"), cwd=ROOT, check=True,
                           capture_output=True)
            warm = _workers(root, common, 1)  # the collection is built once, outside the timings
            try:
                _timed_run(root, common, args.suite)
            finally:
                for proc in warm:
                    stop(proc)
            times: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(args.rounds):
                for n in (1, 2):
                    procs = _workers(root, common, n)
                    try:
                        times[n].append(_timed_run(root, common, args.suite))
                    finally:
                        for proc in procs:
                            stop(proc)
            rows = 10 if args.suite == "sample" else None
            load = os.getloadavg()
            print(f"suite {args.suite}, {args.delay:.2f} s per model call, {args.rounds} "
                  f"round(s), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
            for n, ts in times.items():
                med = statistics.median(ts)
                rate = f", {rows / med:.2f} rows/s" if rows else ""
                each = ", ".join(f"{t:.1f}" for t in ts)
                print(f"  {n} worker(s): median {med:.1f} s per run ({each}){rate}")
            speedup = statistics.median(times[1]) / statistics.median(times[2])
            print(f"  speed-up with 2 workers: {speedup:.2f}x")
    finally:
        stop(model)


if __name__ == "__main__":
    main()
