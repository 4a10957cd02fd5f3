"""Embedded embedding models that run in-process with no server and no download at run time."""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings


class OnnxSentenceEmbeddings(Embeddings):
    """A sentence-transformers model exported to ONNX: mean-pooled, L2-normalised vectors."""

    def __init__(self, model_path: Path, tokenizer_path: Path, *, max_length: int = 256,
                 batch_size: int = 8, threads: int | None = None):
        self._paths = (model_path, tokenizer_path)
        self._max_length, self._threads = max_length, threads
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the tokenizer's padding state is not thread-safe

    @functools.cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        """Loaded on first use: a run that embeds nothing (an unchanged re-ingest) never pays."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        if self._threads:
            options.intra_op_num_threads = self._threads
        return ort.InferenceSession(str(self._paths[0]), options,
                                    providers=["CPUExecutionProvider"])

    @functools.cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self._paths[1]))
        tokenizer.enable_truncation(max_length=self._max_length)
        tokenizer.enable_padding()  # pad to the longest text in each batch only
        return tokenizer

    @functools.cached_property
    def _inputs(self) -> set[str]:
        return {i.name for i in self._session.get_inputs()}

    @property
    def dimension(self) -> int:
        return int(self._session.get_outputs()[0].shape[-1])

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            idx = order[start : start + self._batch_size]
            out[idx] = self._embed_batch([texts[i] or " " for i in idx])
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


class WordLlamaEmbeddings(Embeddings):
    """WordLlama static embeddings: very fast, semantically weaker than MiniLM."""

    def __init__(self, config: str = "l2_supercat", dim: int = 256):
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        import wordllama
        from wordllama import WordLlama

        root.handlers[:], root.level = handlers, level  # its import calls logging.basicConfig(INFO)

        # The wheel ships its tokenizer where load() does not look; point it at the package.
        self._model = WordLlama.load(
            config=config, dim=dim, cache_dir=Path(wordllama.__file__).parent,
            disable_download=True,
        )
        self.dimension = dim

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._model.embed(texts, norm=True), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()
