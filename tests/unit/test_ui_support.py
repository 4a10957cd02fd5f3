"""Shared pieces of the UI tests: fake model services and an AppTest of the real app.py.

The fakes go through the UI's one injection seam (``ragloom.ui.state.Services`` in session state): a
scripted chat model and bag-of-words embeddings over a real embedded Chroma in a tmp home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from ragloom.agents.state import RagContext
from ragloom.core.settings import Settings
from ragloom.prompts import PromptStore
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from ragloom.ui.state import SERVICES_KEY, SETTINGS_KEY, Services
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import BagOfWordsEmbeddings, scripted_chat

APP = Path(__file__).resolve().parents[2] / "app.py"


def fake_services(*replies: str) -> Services:
    """Services whose chat model answers ``replies`` in order, over bag-of-words embeddings."""
    embeddings = BagOfWordsEmbeddings()
    chat = scripted_chat(*replies)
    calls: list[dict[str, Any]] = []

    def context(settings: Settings, collection: str, prompts: dict[str, str],
                where: dict[str, Any] | None) -> RagContext:
        calls.append({"collection": collection, "prompts": dict(prompts)})
        col = Collection(settings, collection, embeddings, create=False)
        retriever = HybridRetriever(col.store, embeddings, LexicalIndex.load(col.lexical_dir))
        return RagContext(chat_model=chat, retriever=retriever,
                          prompts=PromptStore(settings.user_prompts_dir), prompt_refs=prompts,
                          collection=collection, chat_provider="fake", where=where)

    return Services(embeddings=lambda s: embeddings, context=context, extra={"calls": calls})


def sample_collection(settings: Settings, name: str = "sample") -> Collection:
    col = Collection(settings, name, BagOfWordsEmbeddings())
    ingest([SAMPLE_CORPUS], col, workers=1)
    return col


def app_test(settings: Settings, services: Services, page: str | None = None) -> AppTest:
    """The real app.py (its default page, Ask) or one page module (``page="documents"`` runs
    ``ragloom.ui.page_documents.render``), with the given settings and fake services."""
    if page is None:
        at = AppTest.from_file(str(APP), default_timeout=60)
    else:
        at = AppTest.from_string(f"from ragloom.ui import page_{page}\npage_{page}.render()\n",
                                 default_timeout=60)
    at.session_state[SETTINGS_KEY] = settings
    at.session_state[SERVICES_KEY] = services
    return at.run()


def texts(at: AppTest) -> str:
    """Every piece of text the page shows (markdown, captions, alerts), for assertions."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)
