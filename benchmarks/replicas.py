"""`/ask` throughput with 1 vs 2 API replicas that share only PostgreSQL and a Chroma server.

The stack of ``benchmarks/load.py`` (``chroma run``, the fast fake model host, ``ragloom serve``
with keys on) plus a throw-away PostgreSQL (``database_url``) and a second ``ragloom serve`` with
its own, unshared home. The sample corpus is uploaded through replica A only; B answers from the
shared Chroma and rebuilds its BM25 index from it. Then the same clients ask for S seconds, first
all against A, then split over A and B, in one run.

    python benchmarks/replicas.py --clients 16 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks.load and the tests' PostgreSQL helper

from benchmarks.load import HOST, Stack, free_port, load, summary, wait_http  # noqa: E402
from tests.integration.postgres import postgres  # noqa: E402


async def _split(apis: list[str], headers: dict[str, str], clients: int, seconds: float
                 ) -> list:
    parts = await asyncio.gather(*(load(api, headers, clients=clients // len(apis),
                                        seconds=seconds, collection="sample", graph="simple")
                                   for api in apis))
    return [r for part in parts for r in part]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args()
    with postgres() as url, tempfile.TemporaryDirectory(prefix="ragloom-replicas-") as tmp:
        stack = Stack(Path(tmp) / "a", settings_env={"RAGLOOM_DATABASE_URL": url})
        stack.home.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "ragloom", "db", "upgrade"], env=stack.env(),
                       cwd=ROOT, check=True, capture_output=True)
        try:
            stack.start()
            stack.upload("sample", ROOT / "ragloom" / "sample_corpus")
            port_b = free_port()
            env_b = {**stack.env(), "RAGLOOM_HOME": str(Path(tmp) / "b")}
            stack.procs["api-b"] = subprocess.Popen(
                [sys.executable, "-m", "ragloom", "serve", "--host", HOST, "--port", str(port_b)],
                env=env_b, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            api_b = f"http://{HOST}:{port_b}"
            wait_http(f"{api_b}/health", stack.procs["api-b"], "replica B")
            report = {"clients": args.clients, "seconds": args.seconds}
            for name, apis in (("1 replica", [stack.api]), ("2 replicas", [stack.api, api_b])):
                asyncio.run(_split(apis, stack.headers(), args.clients, 3.0))  # warm-up
                results = asyncio.run(_split(apis, stack.headers(), args.clients, args.seconds))
                report[name] = summary(results, args.seconds)
            report["speed-up"] = round(report["2 replicas"]["throughput_rps"]
                                       / report["1 replica"]["throughput_rps"], 2)
            report["load_average"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps(report, indent=2))  # noqa: T201 - the report is the output
        finally:
            stack.close()
            from benchmarks.load import stop

            stop(stack.procs.pop("api-b", None))


if __name__ == "__main__":
    main()
