"""Data commands: ingest (incremental, sync, watch), collections, reindex."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ragloom.console import CollectionOption, EmbeddingOption, err, out, settings_of

collections_app = typer.Typer(help="Create, list, inspect and delete collections.",
                              no_args_is_help=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("files · {task.fields[chunks]} chunks · {task.fields[rate]} chunks/s"),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True)


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: CollectionOption = None,
    embedding: EmbeddingOption = None,
    sync: Annotated[bool, typer.Option(help="Also remove files that disappeared from the folders.")
                    ] = False,
    watch: Annotated[bool, typer.Option(help="Keep following the folders (Ctrl-C stops).")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks with --watch.")] = 2.0,
    queue: Annotated[bool, typer.Option(
        help="Send the files to the shared database and let a `ragloom worker` ingest them "
        "(needs database_url); waits for the job.")] = False,
) -> None:
    """Load, chunk, embed and store documents. Unchanged files are skipped, changed ones replaced."""
    from ragloom.core.models import get_embeddings
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import ingest as run_ingest

    settings = settings_of(ctx, embedding=embedding)
    name = collection or settings.collection
    if queue:
        if watch:
            err.print("error: --watch follows local folders; it cannot be combined with --queue")
            raise typer.Exit(2)
        _queued_ingest(settings, name, paths, sync)
        return
    col = Collection(settings, name, get_embeddings(settings.embedding, settings))

    def wait() -> None:
        err.print(f"waiting: another process is writing collection '{name}'")

    while True:
        start = time.perf_counter()
        with _progress() as bar:
            task = bar.add_task("ingesting", total=None, chunks=0, rate="–")

            def show(p, task=task, bar=bar, start=start):  # type: ignore[no-untyped-def]
                rate = p.chunks_added / max(time.perf_counter() - start, 1e-9)
                bar.update(task, completed=p.files_done, total=p.files_total, chunks=p.chunks_added,
                           rate=f"{rate:.0f}")

            report = run_ingest(paths, col, sync=sync or watch, on_progress=show,
                                workers=settings.retrieval.ingest_workers, on_wait=wait)
        elapsed = time.perf_counter() - start
        changed = report.ingested or report.removed or report.failed or not watch
        if changed:
            files, chunks = col.manifest.counts()
            out.print(f"collection '{name}': {len(report.ingested)} ingested, {len(report.unchanged)}"
                      f" unchanged, {len(report.removed)} removed, {len(report.failed)} failed, "
                      f"{len(report.skipped)} skipped; "
                      f"+{report.chunks_added} chunks in {elapsed:.1f}s; now {files} files, "
                      f"{chunks} chunks", highlight=False)
            if report.recovered:
                err.print(f"recovered {report.recovered} file(s) an interrupted run left half-done")
            for path, reason in report.skipped:
                err.print(f"skipped {path}: {reason}", highlight=False, markup=False)
            for path, reason in report.failed:
                err.print(f"failed {path}: {reason}", highlight=False, markup=False)
        if not watch:
            break
        time.sleep(interval)
    if report.failed:
        err.print(f"{len(report.failed)} file(s) failed; every other file was ingested.")
        raise typer.Exit(1)


def _queued_ingest(settings: Any, name: str, paths: list[Path], sync: bool) -> None:
    """Upload the files as a queued job (names flattened: ``sub/a.md`` is ``sub_a.md``) and
    follow it until a worker has finished it."""
    from ragloom.api.jobs import IngestJobs
    from ragloom.core.errors import IngestError
    from ragloom.retrieval.discovery import discover
    from ragloom.retrieval.store import validate_collection_name
    from ragloom.retrieval.uploads import safe_filename, split_duplicates

    validate_collection_name(name)
    failed: list[tuple[str, str]] = []
    files, named = [], []
    limit = settings.retrieval.max_file_mb * 2**20
    for path in discover([Path(p) for p in paths], failed, []):
        root = next((Path(p) for p in paths if Path(p).is_dir() and path.is_relative_to(p)), None)
        shown = path.relative_to(root).as_posix() if root else path.name
        try:
            if path.stat().st_size > limit:
                raise IngestError("over retrieval.max_file_mb", subject=shown)
            named.append(safe_filename(shown.replace("/", "_")))
            files.append(path)
        except (IngestError, OSError) as exc:
            failed.append((shown, str(exc)))
    keep, refused = split_duplicates(named)
    jobs = IngestJobs(settings, lambda _: None)
    try:
        job_id = jobs.enqueue(name, [(named[i], files[i].read_bytes) for i in keep], "cli",
                              sync=sync, refused=failed + refused)
        err.print(f"queued ingest job {job_id}: {len(keep)} file(s) for collection '{name}'; "
                  "waiting for a `ragloom worker`…")
        while (job := jobs.get(job_id))["status"] in ("queued", "running"):  # type: ignore[index]
            time.sleep(1)
    finally:
        jobs.close()
    out.print(f"collection '{name}': {len(job['ingested'])} ingested, {len(job['unchanged'])} "
              f"unchanged, {len(job['removed'])} removed, {len(job['failed'])} failed "
              f"(job {job_id} on {job.get('worker') or '?'}, +{job['chunks_added']} chunks)",
              highlight=False)
    for f in job["failed"]:
        err.print(f"failed {f['file']}: {f['reason']}", highlight=False, markup=False)
    if job["status"] == "failed":
        err.print(f"error: {job['error']}. Fix: {job['fix']}", highlight=False, markup=False)
    if job["status"] != "done":
        raise typer.Exit(1)


def reindex(
    ctx: typer.Context,
    collection: Annotated[str, typer.Argument(help="Collection to re-embed.")],
    embedding: Annotated[str, typer.Option(help="The new embedding model, provider/model.")],
) -> None:
    """Re-embed a collection with another embedding model, from its stored chunk text."""
    from ragloom.core.models import get_embeddings
    from ragloom.retrieval.reindex import reindex as run_reindex

    settings = settings_of(ctx, embedding=embedding)
    with _progress() as bar:
        task = bar.add_task("re-embedding", total=None, chunks=0, rate="–")
        n = run_reindex(settings, collection, embedding, get_embeddings(embedding, settings),
                        on_progress=lambda d, t: bar.update(task, completed=d, total=t, chunks=d))
    out.print(f"collection '{collection}': {n} chunks re-embedded with {embedding}")


@collections_app.command("list")
def collections_list(ctx: typer.Context) -> None:
    """Every collection with its files, chunks and embedding model."""
    from ragloom.retrieval.collections import list_collections

    rows = list_collections(settings_of(ctx))
    table = Table("collection", "files", "chunks", "embedding model", "dim", "chunker")
    for r in rows:
        table.add_row(r["name"], str(r["files"]), str(r["chunks"]), r["embedding_model"],
                      str(r["dimension"] or "?"), r["chunker"])
    out.print(table if rows else "no collections yet: ragloom ingest PATH --collection NAME")


@collections_app.command("create")
def collections_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Collection name (3–512 characters).")],
    embedding: EmbeddingOption = None,
    chunker: Annotated[str | None, typer.Option(help="sentence or structure.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Tokens per chunk.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Tokens shared by neighbours.")] = None,
) -> None:
    """Create an empty collection with its embedding model and chunking fixed."""
    from ragloom.core.models import get_embeddings
    from ragloom.retrieval.collections import Collection

    settings = settings_of(ctx, embedding=embedding)
    given = {"chunker": chunker, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
    retrieval = settings.retrieval.model_copy(update={k: v for k, v in given.items() if v})
    settings = settings.model_copy(update={"retrieval": retrieval})
    info = Collection(settings, name, get_embeddings(settings.embedding, settings)).info()
    out.print(f"collection '{info.name}': {info.embedding_model} ({info.dimension}-d), "
              f"{info.chunker} chunks", highlight=False)


@collections_app.command("show")
def collections_show(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Files of a collection with their chunk counts."""
    from ragloom.retrieval.collections import list_collections
    from ragloom.retrieval.manifest import manifest_entries

    settings = settings_of(ctx)
    row = next((r for r in list_collections(settings) if r["name"] == name), None)
    if row is None:
        err.print(f"error: no collection named '{name}'. Fix: see `ragloom collections list`")
        raise typer.Exit(2)
    out.print(f"{name}: {row['files']} files, {row['chunks']} chunks, {row['embedding_model']}",
              highlight=False)
    for entry in manifest_entries(settings, name):
        out.print(f"  {len(entry.chunk_ids):5d}  {entry.loader:8}  {entry.source}", highlight=False)


@collections_app.command("delete")
def collections_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a collection, its manifest and its lexical index."""
    from ragloom.retrieval.collections import delete_collection

    if not yes and not typer.confirm(f"Delete collection '{name}' and everything in it?"):
        raise typer.Exit(1)
    delete_collection(settings_of(ctx), name)
    out.print(f"deleted collection '{name}'")
