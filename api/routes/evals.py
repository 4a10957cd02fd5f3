"""Evaluation runs: suites, start a run in the background, its progress, results, comparisons.

Runs use ``ragloom.evals.runs`` (the same code as ``ragloom eval``); they can take minutes (each judge
call of the embedded model costs 10-30 s), so a start returns at once with a launch id to poll;
launches are kept in the run store, so any worker process answers the poll. One launch runs at a
time per process. Admin keys only: runs build their own collections and their results quote
documents.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ragloom.agents.graphs import GraphName
from ragloom.api.deps import Caller, Service, ServiceState, require_admin
from ragloom.api.errors import ApiError, describe
from ragloom.api.routes.ask import PROMPT_REF
from ragloom.core.processes import as_polled, process_tag
from ragloom.evals.store import RunStore

log = logging.getLogger(__name__)
router = APIRouter(prefix="/evals", tags=["evaluations"])
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eval")


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$", description="A shipped suite.")
    prompts: list[Annotated[str, StringConstraints(pattern=PROMPT_REF)]] = Field(
        default_factory=list, max_length=10, description="Each pin of a prompt is a variant.")
    graphs: list[GraphName] = Field(default_factory=list, max_length=8)
    limit: int | None = Field(None, ge=1, le=10000)
    concurrency: int = Field(1, ge=1, le=8)
    queue: bool = Field(False, description="One task per row for `ragloom worker` processes "
                        "(needs database_url); the runs fill as the workers answer.")


class Launch:
    """A launch's state, saved to the run store on every change so that any worker process
    (``ragloom serve --workers N``) can answer a poll, and a restart does not forget it."""

    def __init__(self, store: RunStore, launch_id: str, suite: str):
        self.store, self.id, self._lock = store, launch_id, threading.Lock()
        self.owner = process_tag()  # the worker that took the request runs the launch
        self.state: dict[str, Any] = {"id": launch_id, "status": "queued", "suite": suite,
                                      "run_ids": [], "progress": None, "error": None, "fix": None}
        self.store.save_launch(self.id, self.owner, self.state)

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.state.update(fields)
            self.store.save_launch(self.id, self.owner, self.state)

    def progress(self, p: Any) -> None:
        run_ids = self.state["run_ids"]
        self.update(run_ids=run_ids if p.run_id in run_ids else [*run_ids, p.run_id],
                    progress={"variant": p.variant, "phase": p.phase, "done": p.done,
                              "total": p.total, "message": p.message})


def _run(launch: Launch, body: StartRun, svc: ServiceState) -> None:
    from ragloom.evals.runs import run_suite, variants_from
    from ragloom.evals.suites import load_suite

    launch.update(status="running")
    try:
        variants = variants_from(prompts=body.prompts, graphs=body.graphs) \
            if body.prompts or body.graphs else None
        if body.queue:  # the workers answer; this launch is done once every row is queued
            from ragloom.queue import enqueue_suite

            ids = enqueue_suite(body.suite, svc.settings, variants, body.limit)
            launch.update(status="queued", run_ids=ids)
            return
        ids = run_suite(load_suite(body.suite), svc.settings, variants, limit=body.limit,
                        concurrency=body.concurrency, progress=launch.progress)
        launch.update(status="done", run_ids=ids)
    except Exception as exc:  # recorded for the poller; the server carries on
        _, error, fix = describe(exc)
        log.warning("eval launch %s failed: %s", launch.id, error)
        launch.update(status="failed", error=error, fix=fix)
    finally:
        launch.store.close()


@router.get("/suites", summary="The shipped evaluation suites")
def suites(svc: Service, who: Caller) -> list[str]:
    from ragloom.evals.suites import list_suites

    require_admin(who, "use evaluations")
    return list_suites()


@router.post("/runs", status_code=202, summary="Start a run (one per variant) in the background")
def start_run(body: StartRun, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.runs import check_prompt_pins, variants_from
    from ragloom.evals.suites import load_suite

    require_admin(who, "start evaluation runs")
    suite = load_suite(body.suite)  # a bad suite fails now, not in the background
    check_prompt_pins(suite, svc.settings, variants_from(prompts=body.prompts))  # and a bad pin
    if body.queue and not svc.settings.database:
        raise ApiError(422, "queued evaluations need the shared database (database_url)",
                       "set RAGLOOM_DATABASE_URL on the API and the workers, or send queue: false")
    launch = Launch(RunStore.for_settings(svc.settings), uuid.uuid4().hex[:16], body.suite)
    _POOL.submit(_run, launch, body, svc)
    svc.audit.record(who, "eval.start", target=launch.id, **body.model_dump())
    return {"launch": launch.id, "status_url": f"/evals/launches/{launch.id}"}


@router.get("/launches/{launch}", summary="Status, progress and run ids of a started run")
def launch_status(launch: str, svc: Service, who: Caller) -> dict[str, Any]:
    require_admin(who, "use evaluations")
    store = RunStore.for_settings(svc.settings)
    try:
        found = store.launch(launch)
    finally:
        store.close()
    if found is None:
        raise ApiError(404, f"no evaluation launch '{launch}'", "use the id POST /evals/runs returned")
    owner, state = found
    return as_polled(state, owner, "start it again: rows already judged come from the judge cache")


@router.get("/runs", summary="Past runs, newest first")
def runs(svc: Service, who: Caller, suite: str | None = None,
         limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    from ragloom.evals.runs import list_runs

    require_admin(who, "use evaluations")
    return list_runs(svc.settings, suite, limit)


@router.get("/runs/{run_id}", summary="A run's rows, scores and per-metric summary")
def run_results(run_id: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.runs import get_run

    require_admin(who, "use evaluations")
    return get_run(svc.settings, run_id)


@router.post("/runs/{run_id}/cancel", summary="Cancel a queued or running run")
def cancel_run(run_id: str, svc: Service, who: Caller) -> dict[str, Any]:
    """Whoever answers the run (this API, a web app, the workers) stops before its next row;
    finished rows stay. 409 when it has already ended."""
    require_admin(who, "cancel evaluation runs")
    store = RunStore.for_settings(svc.settings)
    try:
        run = store.run_info(run_id)
        if run["status"] in ("done", "failed", "cancelled"):
            raise ApiError(409, f"run {run['id']} is {run['status']}: nothing to cancel",
                           "cancel a queued or running run (GET /evals/runs)")
        run = store.cancel(run["id"])
    finally:
        store.close()
    svc.audit.record(who, "eval.cancel", target=run["id"])
    return {"id": run["id"], "status": run["status"], "rows": run["row_count"]}


@router.get("/compare", summary="Run B against run A: means, B - A, 95% intervals, changed rows")
def compare(a: str, b: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.evals.compare import compare_runs

    require_admin(who, "use evaluations")
    return dataclasses.asdict(compare_runs(svc.settings, a, b))
