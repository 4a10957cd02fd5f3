"""Evaluation runs in a background thread, so the page stays live and survives page switches.

A run can take many minutes (each embedded judge call is 10–30 s). The thread only calls the
evals API and writes plain progress fields; the page reads them and redraws every second.
Jobs are kept per process (not per session) because they share the one embedded model.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_JOBS: dict[str, EvalJob] = {}


@dataclass
class VariantProgress:
    run_id: str
    phase: str
    done: int
    total: int
    message: str = ""


@dataclass
class EvalJob:
    id: str
    suite: str
    chat: str
    started: float = field(default_factory=time.time)
    progress: dict[str, VariantProgress] = field(default_factory=dict)  # variant -> progress
    run_ids: list[str] = field(default_factory=list)
    error: str | None = None
    finished: float | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished is None

    def on_progress(self, p: Any) -> None:  # evals.runs.RunProgress
        self.progress[p.variant] = VariantProgress(p.run_id, p.phase, p.done, p.total, p.message)


def start(suite: Any, settings: Settings, variants: list[Any] | None, **options: Any) -> EvalJob:
    """Start ``ragloom.evals.runs.run_suite`` in a thread; ``options`` are its keyword arguments."""
    from ragloom.evals.runs import run_suite

    job = EvalJob(id=uuid.uuid4().hex[:8], suite=suite.name, chat=settings.chat)

    def work() -> None:
        from ragloom.ui.state import chat_turn

        try:
            with chat_turn(settings):  # the embedded model answers one caller at a time
                job.run_ids = run_suite(suite, settings, variants, progress=job.on_progress,
                                        **options)
        except RagloomError as exc:
            job.error = str(exc)
        except Exception as exc:  # the page shows it; the log keeps the traceback
            log.exception("evaluation %s failed", job.id)
            job.error = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            if not job.run_ids:
                job.run_ids = sorted({p.run_id for p in job.progress.values()})
            job.finished = time.time()

    job.thread = threading.Thread(target=work, name=f"ragloom-eval-{job.id}", daemon=True)
    with _LOCK:
        _JOBS[job.id] = job
    job.thread.start()
    return job


def get(job_id: str) -> EvalJob | None:
    with _LOCK:
        return _JOBS.get(job_id)


def running_local() -> EvalJob | None:
    """A running job that uses the embedded chat model (it cannot answer two callers at once)."""
    with _LOCK:
        return next((j for j in _JOBS.values() if j.running and j.chat.startswith("local/")),
                    None)
