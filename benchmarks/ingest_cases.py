"""One benchmark case of ``benchmarks/ingest.py``, run in its own subprocess: the inputs, and
ragloom's or LlamaIndex's ingestion of one corpus, timed, with the time spent embedding."""

from __future__ import annotations

import contextlib
import io
import json
import resource
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SEC_DOCS = DATA / "docugami_sec10q" / "docs"
SCIFACT = DATA / "scifact" / "corpus.jsonl"
EMBEDDING = "local/minilm-l6-v2"
CHUNK_SIZE, CHUNK_OVERLAP = 256, 32
QUICK_PDFS, QUICK_DOCS = 3, 500
INSERT_BATCH = 2048  # VectorStoreIndex's default insert_batch_size
CHROMA_VECTOR_STORE_MAX_CHUNK = 41665  # ChromaVectorStore.add's batch limit
CASES = ("ragloom:sec", "llamaindex:sec", "ragloom:scifact", "llamaindex:scifact")
COLLECTIONS = {"sec": "bench-sec", "scifact": "bench-scifact"}


# ------------------------------------------------------------------------------------------ inputs
def sec_files(quick: bool) -> list[Path]:
    files = sorted(SEC_DOCS.glob("*.pdf"))
    return files[:QUICK_PDFS] if quick else files


def sec_targets(quick: bool) -> list[Path]:
    """What ragloom and its CLI are given: the folder, or the first PDFs one by one with --quick."""
    return sec_files(quick) if quick else [SEC_DOCS]


def scifact_file(work: Path, quick: bool) -> Path:
    """The corpus file, or with --quick a copy of its first records in the scratch folder."""
    if not quick:
        return SCIFACT
    path = work / "scifact-quick" / "corpus.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with SCIFACT.open(encoding="utf-8") as src:
            path.write_text("".join(line for _, line in zip(range(QUICK_DOCS), src, strict=False)),
                            encoding="utf-8")
    return path


def read_scifact(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def page_counts(files: list[Path]) -> dict[str, int]:
    """Pages of each PDF (pypdfium2), keyed by resolved path."""
    import pypdfium2 as pdfium

    counts = {}
    for path in files:
        pdf = pdfium.PdfDocument(path)
        counts[str(path.resolve())] = len(pdf)
        pdf.close()
    return counts


# -------------------------------------------------------------------------------- child: measuring
def _peaks() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_mib_main": round(own, 1), "peak_mib_workers": round(kids, 1)}


class TimedEmbeddings:
    """Passes calls through to the embedding model and adds up the seconds spent in it."""

    def __init__(self, inner: Any):
        self.inner, self.seconds, self.texts = inner, 0.0, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        start = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - start
            self.texts += len(texts)

    def embed_query(self, text: str) -> list[float]:
        start = time.perf_counter()
        try:
            return self.inner.embed_query(text)
        finally:
            self.seconds += time.perf_counter() - start


def _load_embeddings(home: Path, embedding: str) -> tuple[Any, TimedEmbeddings]:
    """Settings for ``home`` and the embedding model, loaded and run once (outside the timed span)."""
    from ragloom.core.models import get_embeddings
    from ragloom.core.settings import load_settings

    settings = load_settings(home=home, embedding=embedding)
    emb = get_embeddings(embedding, settings)
    emb.embed_documents(["warm-up"])  # the ONNX session's first run allocates its arenas
    return settings, TimedEmbeddings(emb)


def run_ragloom(corpus: str, work: Path, quick: bool, embedding: str) -> dict[str, Any]:
    import llama_index.core.node_parser  # noqa: F401  (ragloom imports it lazily: keep imports untimed)

    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import ingest

    home = work / f"ragloom-{corpus}"
    settings, emb = _load_embeddings(home, embedding)
    paths = sec_targets(quick) if corpus == "sec" else [scifact_file(work, quick)]

    start = time.perf_counter()
    col = Collection(settings, COLLECTIONS[corpus], emb)
    report = ingest(paths, col)
    seconds = time.perf_counter() - start

    files, chunks = col.manifest.counts()
    return {"seconds": seconds, "embed_seconds": emb.seconds, "embedded_texts": emb.texts,
            "files": len(report.ingested), "chunks": report.chunks_added, "stored": col.store.count(),
            "manifest_files": files, "manifest_chunks": chunks, "failed": report.failed,
            "ingested_sources": report.ingested,
            "home": str(home), "path": "ragloom.retrieval.ingest.ingest"}


def _llamaindex_embedding(emb: Any, embedding: str) -> Any:
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.embeddings import BaseEmbedding

    class RagloomEmbedding(BaseEmbedding):
        """ragloom's embedding model for LlamaIndex; embed_batch_size stays LlamaIndex's default (10)."""

        _emb: Any = PrivateAttr()

        def __init__(self, embeddings: Any, **kwargs: Any):
            super().__init__(model_name=embedding, **kwargs)
            self._emb = embeddings

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._emb.embed_documents(texts)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._emb.embed_documents([text])[0]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._emb.embed_query(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return RagloomEmbedding(emb)


def _has_chroma_vector_store() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("llama_index.vector_stores.chroma") is not None
    except ModuleNotFoundError:
        return False


def _add_like_chroma_vector_store(collection: Any, nodes: list[Any], max_batch: int) -> None:
    """What ``ChromaVectorStore.add`` sends to Chroma, in the index's insert batches."""
    from llama_index.core.schema import MetadataMode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    batch = min(INSERT_BATCH, CHROMA_VECTOR_STORE_MAX_CHUNK, max_batch)
    for start in range(0, len(nodes), batch):
        part = nodes[start : start + batch]
        metadatas = []
        for node in part:
            meta = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
            metadatas.append({k: ("" if v is None else v) for k, v in meta.items()})
        collection.add(ids=[n.node_id for n in part], embeddings=[n.get_embedding() for n in part],
                       metadatas=metadatas,
                       documents=[n.get_content(metadata_mode=MetadataMode.NONE) for n in part])


def run_llamaindex(corpus: str, work: Path, quick: bool, embedding: str) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaConfig
    from llama_index.core import Document, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter

    from ragloom.retrieval.store import ChromaEmbeddingAdapter

    _, emb = _load_embeddings(work / f"llamaindex-{corpus}", embedding)
    embed_model = _llamaindex_embedding(emb, embedding)
    use_index = _has_chroma_vector_store()
    files = sec_files(quick) if corpus == "sec" else [scifact_file(work, quick)]

    start = time.perf_counter()
    splitter = SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    client = chromadb.PersistentClient(path=str(work / f"llamaindex-{corpus}" / "chroma"),
                                       settings=ChromaConfig(anonymized_telemetry=False))
    collection = client.get_or_create_collection(
        COLLECTIONS[corpus], metadata={"hnsw:space": "cosine"},
        embedding_function=ChromaEmbeddingAdapter(emb.inner, embedding))  # never Chroma's default one
    skipped: list[tuple[str, str]] = []
    if corpus == "sec":
        said = io.StringIO()
        with contextlib.redirect_stdout(said):  # it reports files it skips with print()
            docs = SimpleDirectoryReader(input_files=[str(f) for f in files]).load_data()
        loaded = {str(Path(d.metadata["file_path"]).resolve()) for d in docs}
        notes = said.getvalue().splitlines()
        for f in files:
            if str(f.resolve()) not in loaded:
                why = next((n for n in notes if f.name in n), "no documents")
                skipped.append((str(f), why))
    else:
        docs = [Document(text=f"{r.get('title', '')}. {r.get('text', '')}", id_=str(r["_id"]))
                for r in read_scifact(files[0])]
    if use_index:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed_model,
                                        transformations=[splitter])
        chunks = collection.count()
        path = "VectorStoreIndex.from_documents + ChromaVectorStore"
    else:
        nodes = IngestionPipeline(transformations=[splitter, embed_model]).run(documents=docs)
        _add_like_chroma_vector_store(collection, nodes, client.get_max_batch_size())
        chunks = len(nodes)
        path = ("IngestionPipeline([SentenceSplitter, embed_model]).run + collection.add in batches "
                "(llama-index-vector-stores-chroma not installed)")
    seconds = time.perf_counter() - start

    return {"seconds": seconds, "embed_seconds": emb.seconds, "embedded_texts": emb.texts,
            "files": len(files) - len(skipped), "chunks": chunks, "stored": collection.count(),
            "documents": len(docs), "failed": skipped, "path": path}


def child(case: str, work: Path, quick: bool, embedding: str, out: Path) -> None:
    system, corpus = case.split(":")
    result = (run_ragloom if system == "ragloom" else run_llamaindex)(corpus, work, quick, embedding)
    result.update(_peaks())
    out.write_text(json.dumps(result), encoding="utf-8")
