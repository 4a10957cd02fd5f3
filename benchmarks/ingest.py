"""Ingestion throughput: ragloom's ``ragloom.retrieval.ingest`` against LlamaIndex's default ingestion path.

Two corpora from ``../shared/data`` (read in place, never copied into the repository):

- SEC 10-Q filings: the 20 PDFs of ``docugami_sec10q/docs`` (1,062 pages).
- SciFact: ``scifact/corpus.jsonl`` (5,183 abstracts, one JSON object per line).

Both systems use the same embedding model, ragloom's ``local/minilm-l6-v2`` (all-MiniLM-L6-v2, int8
ONNX, 384-d), the same sentence splitter settings (256 tokens, overlap 32) and an embedded Chroma
collection with cosine distance, written to a fresh temporary folder.

- ragloom: ``Collection(settings, name, emb)`` then ``ragloom.retrieval.ingest.ingest([path], collection)``
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
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the benchmarks.* siblings; ragloom comes from `make install`

from benchmarks.ingest_cases import (  # noqa: E402
    CASES,
    CHUNK_OVERLAP,
    CHUNK_SIZE,
    COLLECTIONS,
    EMBEDDING,
    QUICK_DOCS,
    QUICK_PDFS,
    SCIFACT,
    SEC_DOCS,
    child,
    page_counts,
    read_scifact,
    scifact_file,
    sec_files,
    sec_targets,
)
from benchmarks.ingest_rerun import CLI_RUNS, bytecode_env, profile_cli, time_cli  # noqa: E402

CLI_TARGET_S = 2.0
RATIO_TARGET = 2.0


# ------------------------------------------------------------------------------------ parent: cases
def run_case(case: str, work: Path, quick: bool, embedding: str) -> dict[str, Any]:
    out = work / f"result-{case.replace(':', '-')}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--case", case, "--work", str(work),
           "--embedding", embedding]
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
    parser.add_argument("--embedding", default=EMBEDDING,
                        help="the embedding model both systems use (default: %(default)s; "
                             "local/wordllama-l2-supercat makes the pipelines, not the model, the cost)")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: one subprocess
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))

    if args.case:
        child(args.case, args.work, args.quick, args.embedding,
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
              f"SciFact {docs:,} docs; {args.embedding}; chunk {CHUNK_SIZE}/{CHUNK_OVERLAP}; "
              f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; scratch {work}")
        results = {}
        for case in CASES:
            print(f"  running {case} ...", flush=True)
            results[case] = run_case(case, work, args.quick, args.embedding)
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
        print("ragloom SciFact: retrieval.tabular.read_jsonl renders each record as 'key: value' lines "
              "('_id: ...', 'title: ...', 'text: ...'), one section per record, its title as heading")

        sec_home = Path(results["ragloom:sec"]["home"])
        targets = sec_targets(args.quick)
        cli = time_cli(sec_home, targets, COLLECTIONS["sec"], args.embedding)
        pyc_env = bytecode_env(work)
        cli_pyc = time_cli(sec_home, targets, COLLECTIONS["sec"], args.embedding, env=pyc_env,
                           warm_up=True)
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
            profile = profile_cli(sec_home, targets, COLLECTIONS["sec"], args.embedding, work, pyc_env)
            print("  profile (bytecode cached), slowest top-level imports, cumulative s (-X importtime):")
            for seconds, name in profile["top_imports_s"]:
                print(f"    {seconds:6.2f}  {name}")
            print("  cProfile, top cumulative s (calls, function):")
            for cum, calls, func in profile["top_cumulative_s"]:
                print(f"    {cum:6.2f} {calls:>7}  {func}")

        if args.json:
            payload = {"mode": mode, "pages": pages, "docs": docs, "embedding": args.embedding,
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
