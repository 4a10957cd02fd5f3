"""LangChain's own standard test suites (langchain-tests) on ragloom's adapters, with the real
embedded MiniLM model and a real embedded Chroma: the retriever (``ragloom.as_retriever``) and the
embedding class every collection uses. Plus the LCEL chain of docs/python.md with the embedded
chat model, and the LlamaIndex retriever inside a ``RetrieverQueryEngine``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

import ragloom
from ragloom.core.artifacts import ensure
from ragloom.core.artifacts.catalog import LOCAL_EMBEDDING
from ragloom.core.models.local_embeddings import OnnxSentenceEmbeddings
from ragloom.integrations.langchain import RagloomRetriever

pytestmark = pytest.mark.integration
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def sample(tmp_path_factory: pytest.TempPathFactory) -> ragloom.Settings:
    """The sample corpus ingested once into a fresh home with the default (MiniLM) embeddings."""
    settings = ragloom.load_settings(home=tmp_path_factory.mktemp("lc") / "home")
    assert ragloom.ingest([ragloom.sample_corpus()], collection="sample", settings=settings).ok
    STATE["settings"] = settings
    return settings


def _minilm() -> dict[str, Path]:
    onnx, tokenizer = (ensure(a, ragloom.load_settings().model_cache)
                       for a in LOCAL_EMBEDDING["minilm-l6-v2"])
    return {"model_path": onnx, "tokenizer_path": tokenizer}


class TestRagloomRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[RagloomRetriever]:
        return RagloomRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"collection": "sample", "settings": STATE["settings"]}

    @property
    def retriever_query_example(self) -> str:
        return "What temperature should I brew the Oolong at?"


class _MiniLM:
    """The embedding class every default collection uses, with the catalog's model files."""

    @property
    def embeddings_class(self) -> type[OnnxSentenceEmbeddings]:
        return OnnxSentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _minilm()


class TestMiniLMEmbeddingsUnit(_MiniLM, EmbeddingsUnitTests):
    pass


class TestMiniLMEmbeddingsIntegration(_MiniLM, EmbeddingsIntegrationTests):
    pass


def test_documents_carry_what_a_chain_needs_to_cite(sample) -> None:
    docs = ragloom.as_retriever("sample", k=2, settings=sample).invoke(
        "How long does shipping to Canada take?")
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["source"].endswith("shipping-faq.txt") and "7 to 10" in top.page_content
    assert {"chunk_id", "chunk_index", "score", "collection"} <= set(top.metadata)
    assert top.metadata["collection"] == "sample" and top.id == top.metadata["chunk_id"]
    filtered = ragloom.as_retriever("sample", k=4, settings=sample,
                                    where={"file_type": "pdf"}).invoke("Oolong")
    assert filtered and all(d.metadata["source"].endswith("tea-guide.pdf") for d in filtered)
    with pytest.raises(ragloom.RagloomError, match="operator"):
        ragloom.as_retriever("sample", settings=sample, where={"page": {"$near": 2}}).invoke("x")


def test_an_lcel_chain_with_the_embedded_chat_model(sample) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    from ragloom.core.models import get_chat_model

    prompt = ChatPromptTemplate.from_messages([
        ("system", "Answer from the context only, in one short sentence.\n\n{context}"),
        ("human", "{question}")])
    chain = ({"context": ragloom.as_retriever("sample", k=2, settings=sample)
              | (lambda docs: "\n\n".join(d.page_content for d in docs)),
              "question": lambda q: q} | prompt | get_chat_model(sample.chat, sample))
    assert "85" in chain.invoke("What temperature should I brew the Oolong at?").content


def test_the_llama_index_retriever_inside_a_query_engine(sample) -> None:
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.schema import NodeWithScore

    from ragloom.integrations.llama_index import RagloomRetriever as LlamaRetriever

    retriever = LlamaRetriever("sample", k=2, settings=sample)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(max_tokens=8))
    response = engine.query("How long does shipping to Canada take?")
    assert isinstance(response.source_nodes[0], NodeWithScore)
    top = response.source_nodes[0]
    assert top.node.metadata["source"].endswith("shipping-faq.txt") and 0 < top.score <= 1
    assert "7 to 10" in top.node.get_content() and str(response)  # MockLLM wrote something
