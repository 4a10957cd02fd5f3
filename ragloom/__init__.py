"""ragloom: agentic RAG over your own documents, with claims checked against the sources.

    import ragloom

    ragloom.ingest(["handbook/"], collection="handbook")
    answer = ragloom.ask("How many days of leave do I get?", collection="handbook")
    print(answer.answer, answer.grounded, [c.source for c in answer.citations])

The names listed in ``__all__`` are the public API (docs/python.md); everything else under
``ragloom.*`` is internal. They are imported on first use, so ``import ragloom`` (and the CLI,
which lives in this package) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ask": "ragloom.library", "ask_stream": "ragloom.library", "ingest": "ragloom.library",
    "evaluate": "ragloom.library", "register_graph": "ragloom.library",
    "as_retriever": "ragloom.library", "sample_corpus": "ragloom.library",
    "StepEvent": "ragloom.library", "TokenEvent": "ragloom.library",
    "AnswerResetEvent": "ragloom.library", "AnswerEvent": "ragloom.library",
    "Event": "ragloom.library",
    "Settings": "ragloom.core.settings", "load_settings": "ragloom.core.settings",
    "Answer": "ragloom.agents.service", "Record": "ragloom.retrieval.ingest",
    "IngestReport": "ragloom.retrieval.ingest", "RagloomError": "ragloom.core.errors",
    "ConfigError": "ragloom.core.errors",
}
__all__ = [  # grouped as in _EXPORTS
    "ask", "ask_stream", "ingest", "evaluate", "register_graph", "as_retriever", "sample_corpus",
    "StepEvent", "TokenEvent", "AnswerResetEvent", "AnswerEvent", "Event",
    "Settings", "load_settings", "Answer", "Record", "IngestReport", "RagloomError", "ConfigError",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ragloom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # what type checkers and IDEs see
    from ragloom.agents.service import Answer
    from ragloom.core.errors import ConfigError, RagloomError
    from ragloom.core.settings import Settings, load_settings
    from ragloom.library import (
        AnswerEvent,
        AnswerResetEvent,
        Event,
        StepEvent,
        TokenEvent,
        as_retriever,
        ask,
        ask_stream,
        evaluate,
        ingest,
        register_graph,
        sample_corpus,
    )
    from ragloom.retrieval.ingest import IngestReport, Record
