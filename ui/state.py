"""What every page shares: settings loaded once per session, the model seam, readable errors.

Pages never build models themselves: they ask :class:`Services` for embeddings and a RAG context.
Tests put fake services (scripted chat, bag-of-words embeddings) into ``st.session_state`` under
``SERVICES_KEY``; the app itself uses the real factories. That is the whole injection seam.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st
from pydantic import ValidationError

from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from ragloom.agents.state import ContextFactory, RagContext

log = logging.getLogger(__name__)

SETTINGS_KEY = "ragloom_settings"
SERVICES_KEY = "ragloom_services"
NEW_COLLECTION = "+ New collection"


def _real_embeddings(settings: Settings) -> Embeddings:
    from ragloom.core.models import get_embeddings

    return get_embeddings(settings.embedding, settings)


def _real_context(settings: Settings, collection: str, prompts: dict[str, str] | None = None,
                  where: dict[str, Any] | None = None) -> RagContext:
    from ragloom.agents.service import build_context  # heavy: only when a question is asked

    return build_context(settings, collection, prompts, where)


@dataclass
class Services:
    """Factories the pages call for models; swapped for fakes in unit tests."""

    embeddings: Callable[[Settings], Embeddings] = _real_embeddings
    context: ContextFactory = _real_context
    extra: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    if SERVICES_KEY not in st.session_state:
        st.session_state[SERVICES_KEY] = Services()
    return st.session_state[SERVICES_KEY]  # type: ignore[no-any-return]


def settings() -> Settings:
    """The session's settings: loaded once (defaults < ragloom.toml < RAGLOOM_* env), then kept.

    The Settings page may replace them for this session; other sessions are not affected.
    """
    if SETTINGS_KEY not in st.session_state:
        try:
            st.session_state[SETTINGS_KEY] = load_settings()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            st.error(f"ragloom.toml or a RAGLOOM_* variable is invalid: {where}: {first['msg']}. "
                     "Fix: correct the value and reload the page.")
            st.stop()
    return st.session_state[SETTINGS_KEY]  # type: ignore[no-any-return]


def set_settings(new: Settings) -> None:
    st.session_state[SETTINGS_KEY] = new


@contextlib.contextmanager
def shown_errors(action: str) -> Iterator[dict[str, str]]:
    """Turn any failure inside into one readable message on the page, never a traceback.

    Yields a dict that holds the message under "error" afterwards, for pages that keep it.
    """
    outcome: dict[str, str] = {}
    try:
        yield outcome
    except RagloomError as exc:
        outcome["error"] = f"{action} failed: {exc}"
    except ValidationError as exc:
        first = exc.errors()[0]
        outcome["error"] = f"{action} failed: {'.'.join(map(str, first['loc']))}: {first['msg']}"
    except Exception as exc:  # a bug must not show a traceback; the log keeps it
        log.exception("%s failed", action)
        outcome["error"] = (f"{action} failed: unexpected {type(exc).__name__}: {exc}. "
                            "Fix: see the server log for details, and report it if it persists.")
    if "error" in outcome:
        st.error(outcome["error"])


def chat_turn(s: Settings, waiting: Callable[[], None] | None = None
              ) -> contextlib.AbstractContextManager[None]:
    """Every browser session of this server shares the one embedded model: one answer at a time
    (``core.models.turns``); the page shows ``waiting`` while another session's runs."""
    from ragloom.core.models.turns import answer_turn

    return answer_turn(s.chat, waiting)


def collection_names(s: Settings) -> list[str]:
    from ragloom.retrieval.collections import list_collections

    try:
        return [row["name"] for row in list_collections(s)]
    except Exception as exc:  # the store may be down; pages still render
        log.warning("cannot list collections: %s", exc)
        return []


def pick_suite(key: str) -> Any:
    """A shipped evaluation suite picked by name ("sample" first when there is one), loaded."""
    from ragloom.evals.suites import list_suites, load_suite

    suites = list_suites()
    name = st.selectbox("Suite", suites, key=key,
                        index=suites.index("sample") if "sample" in suites else 0)
    return load_suite(name)


def pick_collection(s: Settings, *, key: str, where: Any = st.sidebar,
                    allow_new: bool = False) -> str | None:
    """A collection picker whose choice survives page switches (kept in session state)."""
    names = collection_names(s)
    current = st.session_state.get("ragloom_collection") or s.collection
    if st.session_state.pop(f"{key}-select-next", False) and current in names:
        st.session_state[key] = current  # e.g. the collection just created by an ingest
    if allow_new:
        options = [*names, NEW_COLLECTION]
        index = options.index(current) if current in options else len(options) - 1
        choice = where.selectbox("Collection", options, index=index, key=key)
        if choice == NEW_COLLECTION:
            choice = where.text_input("New collection name", value="", key=f"{key}-new",
                                      placeholder="3–512 characters, e.g. my-docs").strip() or None
    else:
        if not names:
            return None
        index = names.index(current) if current in names else 0
        choice = where.selectbox("Collection", names, index=index, key=key)
    if choice:
        st.session_state["ragloom_collection"] = choice
    return choice
