"""Shared set-up for the API unit tests: an app on fakes (scripted chat, bag-of-words embeddings)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ragloom.agents.state import RagContext
from ragloom.api import create_app
from ragloom.api.keys import key_store
from ragloom.core.settings import Settings
from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.lexical import LexicalIndex
from ragloom.retrieval.retriever import HybridRetriever
from tests.conftest import SAMPLE_CORPUS
from tests.fakes import BagOfWordsEmbeddings

REPLY = "Brew the Oolong at 85 degrees Celsius [1]."
EMBEDDINGS = BagOfWordsEmbeddings()


def always(reply: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=reply)]))


def fake_context(reply: str = REPLY):  # type: ignore[no-untyped-def]
    def build(settings: Settings, collection: str, prompts: dict[str, str],
              where: dict[str, Any] | None) -> RagContext:
        col = Collection(settings, collection, EMBEDDINGS, create=False)
        retriever = HybridRetriever(col.store, EMBEDDINGS, LexicalIndex.load(col.lexical_dir))
        return RagContext(chat_model=always(reply), retriever=retriever, collection=collection,
                          prompt_refs=prompts, where=where)
    return build


def fill(settings: Settings, name: str = "sample") -> None:
    ingest([SAMPLE_CORPUS], Collection(settings, name, EMBEDDINGS), workers=1)


def client(settings: Settings, *, auth: bool = True, reply: str = REPLY) -> TestClient:
    app = create_app(settings, auth=auth, context_factory=fake_context(reply),
                     embeddings_of=lambda s: EMBEDDINGS)
    return TestClient(app, raise_server_exceptions=False)


def key(settings: Settings, role: str = "user", **grants: str) -> dict[str, str]:
    """Headers carrying a fresh key with ``grants`` (use star='read' for '*')."""
    store = key_store(settings)  # the shared database when database_url is set
    grants = {("*" if k == "star" else k): v for k, v in grants.items()}
    plain, _ = store.create(f"test-{role}", role, grants)
    store.close()
    return {"Authorization": f"Bearer {plain}"}


def home_of(settings: Settings) -> Path:
    return settings.home


def wait_for_job(api: TestClient, job: str) -> dict[str, Any]:
    """Poll an ingest job until it is no longer queued or running."""
    for _ in range(200):
        state: dict[str, Any] = api.get(f"/jobs/{job}").json()
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish: {state}")
