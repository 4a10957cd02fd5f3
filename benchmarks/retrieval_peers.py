"""The peer retrievers of ``benchmarks/retrieval.py``: LangChain's EnsembleRetriever (BM25 + the
shared Chroma collection) and LlamaIndex's in-memory VectorStoreIndex, over the same chunks and vectors.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------------
# LangChain


HAVE_RANK_BM25 = importlib.util.find_spec("rank_bm25") is not None
HAVE_LC_CHROMA = importlib.util.find_spec("langchain_chroma") is not None


def langchain_variant() -> str:
    bm25 = "BM25Retriever(rank_bm25)" if HAVE_RANK_BM25 else "bm25s stand-in for BM25Retriever"
    dense = "langchain_chroma.Chroma" if HAVE_LC_CHROMA else "BaseRetriever over chroma"
    return f"{bm25} + {dense}"


def make_langchain(raw_col: Any, emb: Any, texts: list[str], metas: list[dict], ids: list[str]):  # type: ignore[no-untyped-def]
    """(ensemble, set_k): LangChain's EnsembleRetriever over BM25 and the shared Chroma collection."""
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    if HAVE_RANK_BM25:
        from langchain_community.retrievers import BM25Retriever

        bm25: Any = BM25Retriever.from_texts(texts, metadatas=metas, ids=ids)
    else:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)

        class BM25StandIn(BaseRetriever):
            """BM25Retriever's behaviour (whitespace tokens, BM25Okapi k1=1.5 b=0.75) on bm25s."""

            model_config = {"arbitrary_types_allowed": True}
            index: Any
            docs: list[Document]
            k: int = 4

            def _get_relevant_documents(self, query: str, *,
                                        run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
                tokens = [t for t in query.split() if t in self.index.vocab_dict]
                if not tokens:
                    return []
                found, _ = self.index.retrieve([tokens], k=min(self.k, len(self.docs)),
                                               show_progress=False, n_threads=1)
                return [self.docs[int(i)] for i in found[0]]

        index = bm25s.BM25(k1=1.5, b=0.75, method="robertson")
        index.index([t.split() for t in texts], show_progress=False)
        docs = [Document(page_content=t, metadata=m, id=i) for t, m, i in zip(texts, metas, ids, strict=True)]
        bm25 = BM25StandIn(index=index, docs=docs)

    if HAVE_LC_CHROMA:
        from langchain_chroma import Chroma

        store = Chroma(client=raw_col._client, collection_name=raw_col.name, embedding_function=emb)
        dense: Any = store.as_retriever(search_kwargs={"k": 4})

        def set_dense_k(k: int) -> None:
            dense.search_kwargs["k"] = k
    else:
        class ChromaDense(BaseRetriever):
            """Dense top-k from the shared Chroma collection (langchain_chroma is not installed)."""

            model_config = {"arbitrary_types_allowed": True}
            collection: Any
            embeddings: Any
            k: int = 4

            def _get_relevant_documents(self, query: str, *,
                                        run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
                res = self.collection.query(query_embeddings=[self.embeddings.embed_query(query)],
                                            n_results=self.k, include=["documents", "metadatas"])
                return [Document(page_content=t or "", metadata=m or {}, id=i)
                        for i, t, m in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                           strict=True)]

        dense = ChromaDense(collection=raw_col, embeddings=emb)

        def set_dense_k(k: int) -> None:
            dense.k = k

    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])

    def set_k(k: int) -> None:
        bm25.k = k
        set_dense_k(k)

    return ensemble, set_k


# --------------------------------------------------------------------------------------------------
# LlamaIndex


def llama_embedding(emb: Any):  # type: ignore[no-untyped-def]
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class MiniLM(BaseEmbedding):
        _emb: Any = PrivateAttr()

        def __init__(self, inner: Any, **kw: Any):
            super().__init__(model_name="local/minilm-l6-v2", **kw)
            self._emb = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return list(self._emb.embed_query(query))

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return list(self._emb.embed_documents([text])[0])

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(v) for v in self._emb.embed_documents(texts)]

    return MiniLM(emb)


def llama_nodes(ids: list[str], texts: list[str], metas: list[dict], vecs: np.ndarray,
                start: int = 0, stop: int | None = None) -> list[Any]:
    from llama_index.core.schema import TextNode

    stop = len(ids) if stop is None else stop
    return [TextNode(id_=ids[i], text=texts[i], metadata=metas[i], embedding=vecs[i].tolist())
            for i in range(start, stop)]


def make_llama(emb: Any, ids: list[str], texts: list[str], metas: list[dict], vecs: np.ndarray,
               budget_s: float | None = None, batch: int = 10_000) -> tuple[Any, float, int]:
    """(index or None when the build ran past ``budget_s``, build seconds, nodes inserted)."""
    from llama_index.core import VectorStoreIndex

    start = time.perf_counter()
    if budget_s is None:
        index = VectorStoreIndex(llama_nodes(ids, texts, metas, vecs), embed_model=llama_embedding(emb))
        return index, time.perf_counter() - start, len(ids)
    index = VectorStoreIndex([], embed_model=llama_embedding(emb))
    done = 0
    while done < len(ids):
        stop = min(done + batch, len(ids))
        index.insert_nodes(llama_nodes(ids, texts, metas, vecs, done, stop))
        done = stop
        if done < len(ids) and time.perf_counter() - start > budget_s:
            return None, time.perf_counter() - start, done
    return index, time.perf_counter() - start, done
