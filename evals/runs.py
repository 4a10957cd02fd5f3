"""Running a suite: the matrix of variants, one stored run per variant, resumable.

Python API (what the CLI, the Streamlit UI and the HTTP API call)::

    suite = load_suite("sample")
    ids = run_suite(suite, settings, variants=variants_from(prompts=["answer@1", "answer@2"]),
                    limit=3, progress=print)
    run = get_run(settings, ids[0])            # info, rows (answers, contexts, scores), summary
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragloom.agents.service import build_context, prompt_overrides
from ragloom.agents.state import ContextFactory
from ragloom.core.models.spec import ModelSpec
from ragloom.core.models.turns import answers_at_once
from ragloom.core.models.usage import total_usage
from ragloom.core.settings import Settings
from ragloom.evals.answering import (
    Answered,
    answer_row,
    apply_overrides,
    build_suite_collection,
)
from ragloom.evals.judge import Judge, JudgeInput
from ragloom.evals.judging import LazyJudge, judge_row
from ragloom.evals.metrics import DETERMINISTIC_METRICS, JUDGE_METRICS, Score, deterministic, na
from ragloom.evals.store import RunStore
from ragloom.evals.suites import Suite, SuiteRow
from ragloom.evals.summary import summarize

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    """One configuration to evaluate: prompt pins, a graph, settings overrides."""

    name: str = "default"
    prompts: dict[str, str] = field(default_factory=dict)
    graph: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def variants_from(prompts: list[str] | None = None, graphs: list[str] | None = None
                  ) -> list[Variant]:
    """The matrix: pins of the same prompt are alternatives, different prompts and graphs combine.

    ``["answer@1", "answer@2"]`` gives two variants; adding ``graphs=["simple", "corrective"]``
    gives four.
    """
    by_role: dict[str, list[str]] = {}
    for ref in prompts or []:
        role = next(iter(prompt_overrides([ref])))
        by_role.setdefault(role, []).append(ref)
    choices = [[(role, ref) for ref in refs] for role, refs in by_role.items()]
    out = []
    for combo in itertools.product(*choices):
        for graph in graphs or [None]:
            pins = dict(combo)
            name = " ".join([*pins.values(), *([f"graph={graph}"] if graph else [])]) or "default"
            out.append(Variant(name=name, prompts=pins, graph=graph))
    return out


@dataclass
class RunProgress:
    """Reported to the ``progress`` callback after each step of a run."""

    run_id: str
    variant: str
    phase: str  # "collection", "answering", "judging", "row", "done"
    done: int
    total: int
    row_id: str | None = None
    message: str = ""


@dataclass
class Runtime:
    """Dependencies a caller (or a test) may inject; None builds the real ones from settings."""

    embeddings: Embeddings | None = None
    context: ContextFactory | None = None
    judge: Callable[[], Judge] | None = None
    judge_id: str | None = None


@dataclass
class JudgeOptions:
    spec: str | None = None  # provider/model; None: suite.judge, then settings.judge
    timeout_s: float = 300.0
    attempts: int = 2
    temperature: float | None = None  # None: 0, or 0.7 when repeats > 1 (to sample)


def git_commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty else "")


def run_suite(suite: Suite, settings: Settings, variants: list[Variant] | None = None, *,
              limit: int | None = None, concurrency: int = 1, repeats: int = 1,
              resume: bool = False, progress: Callable[[RunProgress], None] | None = None,
              judge: JudgeOptions | None = None, runtime: Runtime | None = None,
              reuse: bool = False) -> list[str]:
    """Run every variant over the suite's rows; returns one run id per variant.

    Rows are stored as they finish. Ctrl-C marks the run ``interrupted`` (finished rows stay);
    ``resume=True`` continues the newest unfinished run of the same suite, variant and limit;
    ``reuse=True`` returns a finished run that asked the same rows in the same way instead
    (``_REUSE_KEYS``: code commit, dataset version, prompts, graph, models, settings, metrics).
    """
    runtime = runtime or Runtime()
    judge = judge or JudgeOptions()
    check_prompt_pins(suite, settings, variants)
    store = RunStore.for_settings(settings)
    rows = suite.rows(limit)
    ids = []
    with contextlib.ExitStack() as resources:
        lazy = _lazy_judge(suite, settings, judge, repeats, concurrency, runtime, resources)
        with asyncio.Runner() as loop:
            for variant in variants or [Variant()]:
                ids.append(_run_variant(suite, settings, variant, rows, store, lazy, loop,
                                        _Opts(limit, max(1, concurrency), repeats, resume, reuse),
                                        progress or (lambda p: None), runtime))
                if store.cancelled(ids[-1]):  # a cancel ends the whole launch, not one variant
                    break
    return ids


def check_prompt_pins(suite: Suite, settings: Settings, variants: list[Variant] | None) -> None:
    """Refuse, before any work, a pinned prompt that is missing, tampered or could never render."""
    from ragloom.prompts import prompt_store

    store = prompt_store(settings)
    for variant in variants or [Variant()]:
        for ref in {**suite.prompts, **variant.prompts}.values():
            store.checked(ref)


@dataclass
class _Opts:
    limit: int | None
    concurrency: int
    repeats: int
    resume: bool
    reuse: bool = False


def _lazy_judge(suite: Suite, settings: Settings, opts: JudgeOptions, repeats: int,
                concurrency: int, runtime: Runtime, resources: contextlib.ExitStack) -> LazyJudge:
    from ragloom.evals.judge_server import judge_id, open_judge

    spec = opts.spec or suite.judge or settings.judge
    temperature = opts.temperature if opts.temperature is not None else (
        0.7 if repeats > 1 else 0.0)
    if runtime.judge is not None:
        return LazyJudge(runtime.judge_id or "injected", runtime.judge)
    ModelSpec.parse(spec)  # a bad spec fails now, not after the answers
    return LazyJudge(judge_id(spec, temperature), lambda: open_judge(
        spec, settings, resources, timeout_s=opts.timeout_s, attempts=opts.attempts,
        concurrency=concurrency, temperature=temperature))


def dataset_version(rows: list[SuiteRow]) -> str:
    """A content hash of the rows a run asks: two runs compare fairly only on the same one."""
    text = json.dumps([r.model_dump(mode="json") for r in rows], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _config(suite: Suite, settings: Settings, variant: Variant, lazy: LazyJudge,
            opts: _Opts, rows: list[SuiteRow] | None = None) -> dict[str, Any]:
    rows = suite.rows(opts.limit) if rows is None else rows
    return {"commit": git_commit(), "suite_file": str(suite.base_dir),
            "dataset": dataset_version(rows),
            "variant": {"name": variant.name, "prompts": variant.prompts, "graph": variant.graph,
                        "settings": variant.settings},
            "graph": variant.graph or suite.graph or settings.agent.graph,
            "prompts": {**suite.prompts, **variant.prompts},
            "models": {"chat": settings.chat, "embedding": settings.embedding,
                       "judge": lazy.model_id},
            "collection": suite.collection.name, "where": suite.where, "metrics": suite.metrics,
            "thresholds": suite.thresholds, "limit": opts.limit, "repeats": opts.repeats,
            "settings": settings.model_dump(mode="json")}


def _find_resumable(store: RunStore, suite: Suite, variant: Variant, limit: int | None
                    ) -> str | None:
    for run in store.list_runs(suite.name, limit=200):
        if run["variant"] == variant.name and run["status"] != "done" and \
                run["config"].get("limit") == limit:
            return str(run["id"])
    return None


# What must be equal for a finished run to stand in for a new one (``run_suite(reuse=True)``).
_REUSE_KEYS = ("commit", "dataset", "graph", "prompts", "models", "collection", "where",
               "metrics", "limit", "repeats", "settings")


def _reuse_key(config: dict[str, Any]) -> str:
    return json.dumps({k: config.get(k) for k in _REUSE_KEYS}, sort_keys=True, default=str)


def _find_reusable(store: RunStore, suite: Suite, config: dict[str, Any], rows: int) -> str | None:
    if not config.get("commit"):  # code of unknown version: nothing to vouch for an old run
        return None
    key = _reuse_key(config)
    for run in store.list_runs(suite.name, limit=200):
        if run["status"] == "done" and run["row_count"] == rows and \
                _reuse_key(run["config"]) == key:
            return str(run["id"])
    return None


def _run_variant(suite: Suite, settings: Settings, variant: Variant, rows: list[SuiteRow],
                 store: RunStore, lazy: LazyJudge, loop: asyncio.Runner, opts: _Opts,
                 progress: Callable[[RunProgress], None], runtime: Runtime) -> str:
    vsettings = apply_overrides(apply_overrides(settings, suite.settings), variant.settings)
    config = _config(suite, vsettings, variant, lazy, opts, rows)
    if opts.reuse and (reused := _find_reusable(store, suite, config, len(rows))):
        progress(RunProgress(reused, variant.name, "done", len(rows), len(rows), None,
                             f"reused run {reused}: same rows, prompts, models and code"))
        return reused
    run_id = _find_resumable(store, suite, variant, opts.limit) if opts.resume else None
    if run_id is None:
        run_id = store.create_run(suite.name, variant.name, config)
    else:
        store.set_status(run_id, "running", revive=True)
        log.info("resuming run %s", run_id)
    done = store.done_row_ids(run_id)
    calls_before = lazy.calls
    todo = [(i, r) for i, r in enumerate(rows) if r.id not in done]

    def report(phase: str, row_id: str | None = None, message: str = "") -> None:
        progress(RunProgress(run_id, variant.name, phase, len(done), len(rows), row_id, message))

    try:
        report("collection", message=f"building collection {suite.collection.name}")
        build_suite_collection(suite, vsettings, runtime.embeddings)
        pins = {**suite.prompts, **variant.prompts}
        # The suite's filter was validated when the suite was loaded.
        ctx = (runtime.context or build_context)(vsettings, suite.collection.name, pins,
                                                 suite.where)
        graph = variant.graph or suite.graph
        threads = (answers_at_once(vsettings.chat, opts.concurrency) if runtime.context is None
                   else opts.concurrency)  # an injected context brings its own models
        if todo:
            _warm_up(ctx, runtime)
        for start in range(0, len(todo), opts.concurrency):
            if store.cancelled(run_id):  # from the web app, `ragloom eval cancel` or the API
                report("cancelled", message=f"cancelled after {len(done)} of {len(rows)} rows")
                return run_id
            batch = todo[start:start + opts.concurrency]
            report("answering", batch[0][1].id, f"answering {len(batch)} question(s)")
            answered = _answer_batch(batch, vsettings, ctx, graph, threads)
            report("judging", batch[0][1].id, f"judging {len(batch)} answer(s)")
            scored = loop.run(_score_batch(answered, suite.metrics, lazy, store, opts.repeats))
            for (position, row), item, scores in zip(batch, answered, scored, strict=True):
                item.body["scores"] = {m: s.to_json() for m, s in scores.items()}
                store.save_row(run_id, row.id, position, item.body)
                done.add(row.id)
                report("row", row.id)
    except KeyboardInterrupt:
        store.set_status(run_id, "interrupted")
        raise
    except BaseException:
        store.set_status(run_id, "failed")
        raise
    calls = lazy.calls - calls_before
    store.update_config(run_id, {"judge_calls": calls})
    store.set_status(run_id, "done")
    report("done", message=f"{len(done)} rows, {calls} judge call(s)")
    return run_id


def _warm_up(ctx: Any, runtime: Runtime) -> None:
    """One short call before the first row, so the first variant's timings do not carry the
    model's cold start (llama.cpp mapping its file, Ollama loading it); an injected context
    (tests, benchmarks) brings models that are already warm."""
    if runtime.context is not None:
        return
    try:
        ctx.chat_model.invoke([("user", "Reply with the word OK.")])
    except Exception as exc:  # a real failure shows on the first row, with its row's name
        log.info("warm-up call failed (%s); the first row will tell", exc)


def _answer_batch(batch: list[tuple[int, SuiteRow]], settings: Settings, ctx: Any,
                  graph: str | None, threads: int) -> list[Answered]:
    if threads <= 1 or len(batch) == 1:
        return [answer_row(row, settings, ctx, graph) for _, row in batch]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda item: answer_row(item[1], settings, ctx, graph), batch))


async def _score_batch(answered: list[Answered], metrics: list[str], lazy: LazyJudge,
                       store: RunStore, repeats: int) -> list[dict[str, Score]]:
    return list(await asyncio.gather(*(_score(a, metrics, lazy, store, repeats)
                                       for a in answered)))


async def _score(a: Answered, metrics: list[str], lazy: LazyJudge, store: RunStore,
                 repeats: int) -> dict[str, Score]:
    if a.observed is None:
        return {m: na(f"no answer: {a.error}") for m in metrics}
    obs = a.observed
    scores = {m: deterministic(m, obs, a.row.reference, a.row.gold_sources)
              for m in metrics if m in DETERMINISTIC_METRICS}
    if any(m in JUDGE_METRICS for m in metrics):
        item = JudgeInput(a.row.question, obs.answer, tuple(obs.contexts), a.row.reference)
        scores |= await judge_row(lazy, store, metrics, item, obs.refused, repeats)
    return {m: scores[m] for m in metrics}


# ----------------------------------------------------------------------------- reading runs
def list_runs(settings: Settings, suite: str | None = None, limit: int = 50
              ) -> list[dict[str, Any]]:
    """Newest first: id, suite, variant, created, finished, status, row_count, config."""
    return RunStore.for_settings(settings).list_runs(suite, limit)


def get_run(settings: Settings, run_id: str) -> dict[str, Any]:
    """A run's info, its rows (answers, contexts, scores, N/A reasons, timings, usage), a
    per-metric summary (mean, 95% bootstrap interval, scored and N/A counts) and the answers'
    tokens and estimated cost (the judge's calls are not in it)."""
    store = RunStore.for_settings(settings)
    info = store.run_info(run_id)
    rows = store.rows(info["id"])
    return {**info, "rows": rows, "summary": summarize(rows, info["config"]["metrics"]),
            "usage": total_usage([r.get("usage") or {} for r in rows])}
