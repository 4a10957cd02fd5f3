"""Ingestion throughput: ragloom's ``retrieval.ingest`` against LlamaIndex's default ingestion path.

Two corpora from ``../shared/data`` (read in place, never copied into the repository):

- SEC 10-Q filings: the 20 PDFs of ``docugami_sec10q/docs`` (1,062 pages).
- SciFact: ``scifact/corpus.jsonl`` (5,183 abstracts, one JSON object per line).

Both systems use the same embedding model, ragloom's ``local/minilm-l6-v2`` (all-MiniLM-L6-v2, int8
ONNX, 384-d), the same sentence splitter settings (256 tokens, overlap 32) and an embedded Chroma
collection with cosine distance, written to a fresh temporary folder.

- ragloom: ``Collection(settings, name, emb)`` then ``retrieval.ingest.ingest([path], collection)``
  with its defaults (PDFs parsed by pypdfium2 in forked worker processes; the JSONL loader renders
  each record as "key: value" lines, 50 records per section).
- LlamaIndex: ``SimpleDirectoryReader(input_files=...).load_data()`` (its default PDF reader,
  pypdf, one Document per page), then ``VectorStoreIndex.from_documents`` into a ``ChromaVectorStore``
  when ``llama-index-vector-stores-chroma`` is installed. When it is not, the nodes come from
  ``IngestionPipeline(transformations=[SentenceSplitter(...), embed_model]).run(documents=docs)``
  and are written with ``collection.add`` in batches the way ``ChromaVectorStore.add`` writes them
  (text, flat metadata plus ``_node_content``); the output says which path ran. The embedding model
  is wrapped as a ``BaseEmbedding`` with LlamaIndex's default ``embed_batch_size`` (10). For SciFact
  the corpus is read into one ``Document`` per record (``"title. text"``), because
  ``SimpleDirectoryReader`` would read the whole JSONL file as one text.

Every (system, corpus) case runs in a fresh subprocess. The timed span ("seconds") starts after
imports, the embedding model load and the splitter construction (the same warm state for both) and
covers opening the store, loading, chunking, embedding and storing; "proc s" is the whole
subprocess (Python start-up, imports, model load) as the parent saw it. Peak memory is the
subprocess's own ``ru_maxrss`` ("main") and the largest of its own child processes ("workers",
ragloom's parser pool). Then the ragloom CLI is timed end to end on the already-ingested SEC folder
(nothing changed: every file is skipped), 3 runs, median; above 2 s it is profiled.

Run from the repository root::

    .venv/bin/python benchmarks/ingest.py                  # full corpora: ~60 min on 2 busy cores
    .venv/bin/python benchmarks/ingest.py --quick          # first 3 PDFs, first 500 SciFact docs (~6-9 min)
    .venv/bin/python benchmarks/ingest.py --json /tmp/ingest.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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
CLI_RUNS = 3
CLI_TARGET_S = 2.0
RATIO_TARGET = 2.0
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


def _load_embeddings(home: Path) -> tuple[Any, TimedEmbeddings]:
    """Settings for ``home`` and the MiniLM model, loaded and run once (outside the timed span)."""
    from core.models import get_embeddings
    from core.settings import load_settings

    settings = load_settings(home=home)
    emb = get_embeddings(EMBEDDING, settings)
    emb.embed_documents(["warm-up"])  # the ONNX session's first run allocates its arenas
    return settings, TimedEmbeddings(emb)


def run_ragloom(corpus: str, work: Path, quick: bool) -> dict[str, Any]:
    import llama_index.core.node_parser  # noqa: F401  (ragloom imports it lazily: keep imports untimed)

    from retrieval.collections import Collection
    from retrieval.ingest import ingest

    home = work / f"ragloom-{corpus}"
    settings, emb = _load_embeddings(home)
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
            "home": str(home), "path": "retrieval.ingest.ingest"}


def _llamaindex_embedding(emb: Any) -> Any:
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.embeddings import BaseEmbedding

    class MiniLMEmbedding(BaseEmbedding):
        """ragloom's MiniLM for LlamaIndex; embed_batch_size stays LlamaIndex's default (10)."""

        _emb: Any = PrivateAttr()

        def __init__(self, embeddings: Any, **kwargs: Any):
            super().__init__(model_name=EMBEDDING, **kwargs)
            self._emb = embeddings

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._emb.embed_documents(texts)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._emb.embed_documents([text])[0]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._emb.embed_query(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return MiniLMEmbedding(emb)


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


def run_llamaindex(corpus: str, work: Path, quick: bool) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaConfig
    from llama_index.core import Document, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter

    from retrieval.store import ChromaEmbeddingAdapter

    _, emb = _load_embeddings(work / f"llamaindex-{corpus}")
    embed_model = _llamaindex_embedding(emb)
    use_index = _has_chroma_vector_store()
    files = sec_files(quick) if corpus == "sec" else [scifact_file(work, quick)]

    start = time.perf_counter()
    splitter = SentenceSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    client = chromadb.PersistentClient(path=str(work / f"llamaindex-{corpus}" / "chroma"),
                                       settings=ChromaConfig(anonymized_telemetry=False))
    collection = client.get_or_create_collection(
        COLLECTIONS[corpus], metadata={"hnsw:space": "cosine"},
        embedding_function=ChromaEmbeddingAdapter(emb.inner, EMBEDDING))  # never Chroma's default one
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


def child(case: str, work: Path, quick: bool, out: Path) -> None:
    system, corpus = case.split(":")
    result = (run_ragloom if system == "ragloom" else run_llamaindex)(corpus, work, quick)
    result.update(_peaks())
    out.write_text(json.dumps(result), encoding="utf-8")


# ------------------------------------------------------------------------------------ parent: cases
def run_case(case: str, work: Path, quick: bool) -> dict[str, Any]:
    out = work / f"result-{case.replace(':', '-')}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", case, "--work", str(work)]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, *(["--quick"] if quick else [])], cwd=REPO, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not out.exists():
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"case {case} failed with exit code {proc.returncode}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result.update(case=case, proc_seconds=wall, load_before=round(load, 2))
    return result


def _cli_args(home: Path, targets: list[Path]) -> list[str]:
    return ["--home", str(home), "ingest", *map(str, targets), "--collection", COLLECTIONS["sec"]]


def _bytecode_env(work: Path) -> dict[str, str]:
    """An environment where Python caches bytecode (in the scratch folder, not in the venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def time_cli(home: Path, targets: list[Path], env: dict[str, str] | None = None,
             warm_up: bool = False) -> dict[str, Any]:
    """The CLI end to end on an already-ingested folder (every file unchanged), median of runs."""
    cmd = [str(Path(sys.executable).parent / "ragloom"), *_cli_args(home, targets)]
    runs, last = [], ""
    for attempt in range(CLI_RUNS + int(warm_up)):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - start
        last = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise SystemExit(f"CLI failed ({proc.returncode}): {last}")
        if attempt >= int(warm_up):
            runs.append(elapsed)
    return {"command": " ".join(f'"{c}"' if " " in c else c for c in cmd), "runs_s": runs,
            "median_s": statistics.median(runs), "output": last}


def profile_cli(home: Path, targets: list[Path], work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Where a no-change CLI run spends its time: slowest top-level imports and the cProfile top."""
    import pstats

    args = _cli_args(home, targets)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ragloom", *args], cwd=REPO,
                          capture_output=True, text=True, env=env)
    imports = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        # "import time: self | cumulative | name", nesting shown by two spaces per level
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            if name.startswith(" ") and not name.startswith("  "):
                imports.append((round(int(parts[1]) / 1e6, 3), name.strip()))
    stats_file = work / "cli.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "ragloom", *args],
                   cwd=REPO, capture_output=True, text=True, env=env)
    stats = pstats.Stats(str(stats_file))
    rows = []
    for (file, line, func), (_, ncalls, _, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "<frozen" in file or file == "~" or "runpy" in file or "/typer/" in file:
            continue
        rows.append((round(cumtime, 3), ncalls, f"{_short(file)}:{line}({func})"))
    rows.sort(reverse=True)
    return {"top_imports_s": sorted(imports, reverse=True)[:12], "top_cumulative_s": rows[:30]}


def _short(file: str) -> str:
    for marker in ("site-packages/", str(REPO) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# ----------------------------------------------------------------------------------------- report
def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


def summarise(results: dict[str, dict[str, Any]], pages: dict[str, int], docs: int
              ) -> list[dict[str, Any]]:
    """One row per case; pages are those the system actually ingested (files it skipped excluded)."""
    rows = []
    for case in CASES:
        r = results[case]
        system, corpus = case.split(":")
        if corpus == "scifact":
            units = docs if r["files"] else 0
        elif system == "ragloom":
            units = sum(pages.get(s, 0) for s in r["ingested_sources"])
        else:
            units = r["documents"]  # LlamaIndex's PDF reader makes one Document per page
        rows.append({"system": system, "corpus": corpus, "files": r["files"], "skipped": len(r["failed"]),
                     "units": units, "unit": "pages" if corpus == "sec" else "docs",
                     "chunks": r["chunks"], "stored": r["stored"], "seconds": r["seconds"],
                     "embed_seconds": r["embed_seconds"],
                     "units_per_s": _rate(units, r["seconds"]),
                     "chunks_per_s": _rate(r["chunks"], r["seconds"]),
                     "peak_mib_main": r["peak_mib_main"], "peak_mib_workers": r["peak_mib_workers"],
                     "proc_seconds": r["proc_seconds"], "load_before": r["load_before"]})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'system':10} {'corpus':8} {'files':>5} {'skip':>4} {'pages/docs':>10} {'chunks':>7} "
            f"{'seconds':>8} {'embed s':>8} {'pages|docs/s':>12} {'chunks/s':>9} {'peak MiB':>9} "
            f"{'workers':>8} {'proc s':>7} {'load':>5}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['system']:10} {r['corpus']:8} {r['files']:>5} {r['skipped']:>4} {r['units']:>10,} "
              f"{r['chunks']:>7,} {r['seconds']:>8.1f} {r['embed_seconds']:>8.1f} "
              f"{r['units_per_s']:>12.2f} {r['chunks_per_s']:>9.2f} {r['peak_mib_main']:>9.0f} "
              f"{r['peak_mib_workers']:>8.0f} {r['proc_seconds']:>7.1f} {r['load_before']:>5.2f}")


def ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    by = {(r["system"], r["corpus"]): r for r in rows}
    out = {}
    for corpus in ("sec", "scifact"):
        ours, theirs = by[("ragloom", corpus)], by[("llamaindex", corpus)]
        out[corpus] = {"chunks_per_s": ours["chunks_per_s"] / theirs["chunks_per_s"],
                       "units_per_s": ours["units_per_s"] / theirs["units_per_s"],
                       "seconds": theirs["seconds"] / ours["seconds"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"first {QUICK_PDFS} PDFs and the first {QUICK_DOCS} SciFact docs")
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (homes, stores)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: one subprocess
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))

    if args.case:
        child(args.case, args.work, args.quick,
              args.work / f"result-{args.case.replace(':', '-')}.json")
        return

    for path in (SEC_DOCS, SCIFACT):
        if not path.exists():
            raise SystemExit(f"data not found: {path} (see ../shared/data/README.md)")
    work = Path(tempfile.mkdtemp(prefix="ragloom-bench-ingest-"))
    try:
        files = sec_files(args.quick)
        pages = page_counts(files)
        docs = len(read_scifact(scifact_file(work, args.quick)))
        mode = "quick" if args.quick else "full"
        print(f"ingest benchmark ({mode}): SEC 10-Q {len(files)} PDFs / {sum(pages.values()):,} pages; "
              f"SciFact {docs:,} docs; {EMBEDDING}; chunk {CHUNK_SIZE}/{CHUNK_OVERLAP}; "
              f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; scratch {work}")
        results = {}
        for case in CASES:
            print(f"  running {case} ...", flush=True)
            results[case] = run_case(case, work, args.quick)
            r = results[case]
            print(f"    {r['chunks']:,} chunks in {r['seconds']:.1f}s (stored {r['stored']:,}; "
                  f"process {r['proc_seconds']:.1f}s)", flush=True)
            for path, why in r["failed"]:
                print(f"    skipped {path}: {why}")

        rows = summarise(results, pages, docs)
        print()
        print("seconds: open store + load + chunk + embed + store (ragloom: + its BM25 rebuild), after "
              "imports and model load;")
        print("embed s: of those, time inside the embedding model's calls; proc s: the whole subprocess;")
        print("peak MiB: the case's process (ru_maxrss); workers: its largest child process "
              "(ragloom's forked parsers)")
        print("pages/docs: what each system actually ingested (skip: files it failed on or skipped)")
        print_table(rows)
        rat = ratios(rows)
        print()
        for corpus, unit in (("sec", "pages/s"), ("scifact", "docs/s")):
            r = rat[corpus]
            verdict = "meets" if r["chunks_per_s"] >= RATIO_TARGET else "BELOW"
            print(f"ragloom / LlamaIndex, {corpus:8}: chunks/s x{r['chunks_per_s']:.2f} ({verdict} the "
                  f"x{RATIO_TARGET:g} target), {unit} x{r['units_per_s']:.2f}, wall time x{r['seconds']:.2f}")
        print()
        print(f"LlamaIndex path: {results['llamaindex:sec']['path']}")
        print("LlamaIndex SEC: SimpleDirectoryReader default PDF reader (pypdf), "
              f"{results['llamaindex:sec']['documents']:,} page Documents, "
              f"{len(results['llamaindex:sec']['failed'])} file(s) skipped; SciFact: one Document per "
              "record ('title. text') built here, since SimpleDirectoryReader reads a .jsonl as one text")
        print("ragloom SciFact: retrieval.loaders.read_jsonl renders each record as 'key: value' lines "
              "('_id: ...', 'title: ...', 'text: ...') and groups 50 records per section before chunking")

        sec_home = Path(results["ragloom:sec"]["home"])
        targets = sec_targets(args.quick)
        cli = time_cli(sec_home, targets)
        pyc_env = _bytecode_env(work)
        cli_pyc = time_cli(sec_home, targets, env=pyc_env, warm_up=True)
        bytecode = "off (PYTHONDONTWRITEBYTECODE is set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") \
            else "on"
        print()
        print(f"no-change re-run, CLI end to end (wall clock incl. Python start-up; median of {CLI_RUNS}; "
              f"target < {CLI_TARGET_S:g}s):")
        print(f"  {cli['command']}")
        print(f"  -> {cli['output']}")
        print(f"  as this environment runs it (bytecode caching {bytecode}): {cli['median_s']:.2f}s "
              f"(runs {', '.join(f'{s:.2f}' for s in cli['runs_s'])})")
        print(f"  with bytecode cached (PYTHONPYCACHEPREFIX in the scratch folder, one untimed run first): "
              f"{cli_pyc['median_s']:.2f}s (runs {', '.join(f'{s:.2f}' for s in cli_pyc['runs_s'])})")
        profile = None
        if max(cli["median_s"], cli_pyc["median_s"]) > CLI_TARGET_S:
            profile = profile_cli(sec_home, targets, work, pyc_env)
            print("  profile (bytecode cached), slowest top-level imports, cumulative s (-X importtime):")
            for seconds, name in profile["top_imports_s"]:
                print(f"    {seconds:6.2f}  {name}")
            print("  cProfile, top cumulative s (calls, function):")
            for cum, calls, func in profile["top_cumulative_s"]:
                print(f"    {cum:6.2f} {calls:>7}  {func}")

        if args.json:
            payload = {"mode": mode, "pages": pages, "docs": docs, "embedding": EMBEDDING,
                       "chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP,
                       "cpus": os.cpu_count(), "python": platform.python_version(),
                       "rows": rows, "ratios": rat, "cases": results, "cli_rerun": cli,
                       "cli_rerun_bytecode_cached": cli_pyc,
                       "cli_profile": profile, "load_after": os.getloadavg()}
            args.json.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
            print(f"\nsaved {args.json}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
