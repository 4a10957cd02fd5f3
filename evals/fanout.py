"""An evaluation run fanned out: one task per row, answered and judged on any worker.

``start_runs`` (the launcher: CLI, API) creates each variant's run and builds its collection
once; ``run_row`` (a worker's task) answers, judges and stores one row. Storing a row is an
upsert keyed on (run, row), so a task retried after its worker died neither loses nor doubles
it; the task that stores a run's last row marks the run done. The queue itself (procrastinate on
the shared PostgreSQL) lives with the interfaces, in ``ragloom.queue``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ragloom.agents.service import build_context
from ragloom.agents.state import ContextFactory
from ragloom.core.settings import Settings
from ragloom.evals.answering import answer_row, apply_overrides, build_suite_collection
from ragloom.evals.runs import (
    JudgeOptions,
    Runtime,
    Variant,
    _config,
    _lazy_judge,
    _Opts,
    _score,
    check_prompt_pins,
)
from ragloom.evals.store import RunStore
from ragloom.evals.suites import Suite

log = logging.getLogger(__name__)


def variant_settings(suite: Suite, settings: Settings, variant: Variant) -> Settings:
    return apply_overrides(apply_overrides(settings, suite.settings), variant.settings)


def start_runs(suite: Suite, settings: Settings, variants: list[Variant] | None,
               limit: int | None = None) -> list[tuple[str, Variant, list[str]]]:
    """Create each variant's run (status ``queued``) and its collection: (run id, variant, row
    ids) for the launcher to enqueue, one task per row."""
    check_prompt_pins(suite, settings, variants)
    store = RunStore.for_settings(settings)
    rows = suite.rows(limit)
    row_ids = [r.id for r in rows]
    started = []
    with contextlib.ExitStack() as resources:  # the judge is only named here, never started
        lazy = _lazy_judge(suite, settings, JudgeOptions(), 1, 1, Runtime(), resources)
    for variant in variants or [Variant()]:
        vsettings = variant_settings(suite, settings, variant)
        build_suite_collection(suite, vsettings)  # once, here: workers only read it
        config = {**_config(suite, vsettings, variant, lazy, _Opts(limit, 1, 1, False), rows),
                  "queued": True, "rows": len(row_ids)}
        run_id = store.create_run(suite.name, variant.name, config)
        store.set_status(run_id, "queued")
        started.append((run_id, variant, row_ids))
    return started


def run_row(suite: Suite, settings: Settings, variant: Variant, run_id: str, row_id: str,
            limit: int | None = None, worker: str | None = None,
            context: ContextFactory = build_context) -> bool:
    """Answer, judge and store one row of ``run_id``; True when it was stored by this call.
    ``context``: a worker passes a cache, so that its rows share models and clients."""
    store = RunStore.for_settings(settings)
    if row_id in store.done_row_ids(run_id):  # a retry of a task that had finished its work
        return False
    if store.cancelled(run_id):  # its remaining tasks end at once, answering nothing
        return False
    rows = suite.rows(limit)
    position, row = next((i, r) for i, r in enumerate(rows) if r.id == row_id)
    vsettings = variant_settings(suite, settings, variant)
    store.set_status(run_id, "running")
    ctx = context(vsettings, suite.collection.name, {**suite.prompts, **variant.prompts},
                  suite.where)
    with contextlib.ExitStack() as resources, asyncio.Runner() as loop:
        lazy = _lazy_judge(suite, settings, JudgeOptions(), 1, 1, Runtime(), resources)
        answered = answer_row(row, vsettings, ctx, variant.graph or suite.graph)
        scores = loop.run(_score(answered, suite.metrics, lazy, store, 1))
    answered.body["scores"] = {m: s.to_json() for m, s in scores.items()}
    answered.body["worker"] = worker  # which worker answered it, for the report and debugging
    store.save_row(run_id, row.id, position, answered.body)
    if len(store.done_row_ids(run_id)) == len(rows):
        store.set_status(run_id, "done")
    return True
