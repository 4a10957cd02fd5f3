"""Documents: upload files or point at a folder, ingest with progress, manage collections."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from ragloom.core.errors import IngestError
from ragloom.core.settings import Settings
from ragloom.retrieval.formats import SUPPORTED_SUFFIXES
from ragloom.retrieval.store import validate_collection_name
from ragloom.retrieval.uploads import discard_unindexed
from ragloom.ui.state import collection_names, pick_collection, services, settings, shown_errors
from ragloom.ui.uploads import name_batch, save_batch, upload_dir

REPORT_KEY = "ragloom_ingest_report"
UPLOAD_BATCH_KEY = "ragloom_upload_batch"
FOLLOW_QUEUED_S = 120.0  # how long the page waits for a worker to take a queued job


def _ingest(s: Settings, name: str, paths: list[Path], sync: bool, uploaded: list[Path],
            refused: list[tuple[str, str]]) -> dict[str, Any]:
    """Run ingestion with a live progress bar; returns a summary the page keeps. Uploads that end
    up not indexed (refused, or the run failed) are deleted again."""
    try:
        return _run_ingest(s, name, paths, sync, refused)
    finally:
        discard_unindexed(uploaded, s, name)


def _run_ingest(s: Settings, name: str, paths: list[Path], sync: bool,
                refused: list[tuple[str, str]]) -> dict[str, Any]:
    from ragloom.retrieval.collections import Collection
    from ragloom.retrieval.ingest import Progress, ingest

    st.button("Cancel", key="docs-cancel", icon=":material/cancel:",
              help="Stops after the file being read; what was read stays searchable")
    bar = st.progress(0.0, text="Loading the embedding model…")
    col = Collection(s, name, services().embeddings(s))
    start = time.perf_counter()
    # Streamlit ends a run (Cancel, or any other click) by raising in its next st call. Raised
    # inside the ingest, that would skip writing the chunks already read and the BM25 refresh:
    # the ingest is asked to stop after this file instead, and the rerun goes on afterwards.
    interrupted: list[BaseException] = []

    def show(p: Progress) -> None:
        try:
            bar.progress(p.files_done / max(p.files_total, 1),
                         text=f"{p.files_done}/{p.files_total} files · {p.chunks_added} chunks · "
                         f"{Path(p.path).name}: {p.status}")
        except ScriptControlException as exc:
            interrupted.append(exc)

    # One parser process: forking a multi-threaded Streamlit server is unsafe, and embedding,
    # not parsing, is most of the time anyway.
    def wait() -> None:
        bar.progress(0.0, text=f"Waiting: another process is writing collection '{name}'…")

    report = ingest(paths, col, sync=sync, on_progress=show, workers=1, on_wait=wait,
                    should_stop=lambda: bool(interrupted))
    files, chunks = col.manifest.counts()
    summary = {"collection": name, "ingested": len(report.ingested),
            "unchanged": len(report.unchanged), "removed": len(report.removed),
            "failed": [{"file": p, "reason": r} for p, r in [*refused, *report.failed]],
            "skipped": [{"file": p, "reason": r} for p, r in report.skipped],
            "chunks_added": report.chunks_added, "seconds": time.perf_counter() - start,
            "files": files, "chunks": chunks,
            "cancelled": [Path(c).name for c in report.cancelled]}
    if interrupted:
        st.session_state[REPORT_KEY] = summary  # shown by the rerun that the click asked for
        raise interrupted[0]
    bar.progress(1.0, text="Done")
    return summary


def _ingest_here(s: Settings, name: str, files: list[Any] | None, folder: str, sync: bool) -> bool:
    """Save the uploads (and/or take the server folder) and ingest them in this process."""
    paths: list[Path] = []
    uploaded: list[Path] = []
    refused: list[tuple[str, str]] = []
    if folder.strip():  # checked first: a refused request saves no upload
        root = Path(folder.strip()).expanduser()
        if not root.is_dir():
            raise IngestError("no such folder on the server", subject=str(root),
                              fix="enter the full path of a folder this server can read")
        paths.append(root)
    if files:
        uploaded, refused = save_batch(files, upload_dir(s, name))
        paths = uploaded + paths
    if not paths:
        st.warning("; ".join(f"{n}: {r}" for n, r in refused)
                   or "Choose files to upload or a folder to ingest first.")
        return False
    st.session_state[REPORT_KEY] = _ingest(s, name, paths, sync, uploaded, refused)
    return True


def _queue_batch(s: Settings, name: str, files: list[Any] | None, folder: str, sync: bool) -> bool:
    if folder.strip():
        raise IngestError("a folder on this server is ingested here, not queued",
                          fix="untick 'Ingest on a worker', or upload the files")
    if not files:
        st.warning("Choose files to upload first.")
        return False
    st.session_state[REPORT_KEY] = _queue_uploads(s, name, files, sync)
    return True


def _queue_uploads(s: Settings, name: str, files: list[Any], sync: bool) -> dict[str, Any]:
    """Queue the uploads for a worker and follow the job with a progress bar."""
    from ragloom.api.jobs import IngestJobs
    from ragloom.retrieval.manifest import open_manifest

    named, refused = name_batch(files)
    jobs = IngestJobs(s, lambda _: None)
    start = time.perf_counter()
    bar = st.progress(0.0, text="Queued: waiting for a worker…")
    try:
        job_id = jobs.enqueue(name, [(n, f.getvalue) for f, n in named], "web", sync=sync,
                              refused=refused)
        while (job := jobs.get(job_id))["status"] in ("queued", "running"):  # type: ignore[index]
            waited = time.perf_counter() - start
            # An st call every round: a rerun or a closed tab stops the script here.
            if job["status"] == "running":
                phase = job.get("phase") or "ingesting"
                bar.progress(job["files_done"] / max(job["files_total"], 1),
                             text=f"{job['files_done']}/{job['files_total']} files · "
                             f"{job['chunks_added']} chunks · on {job.get('worker') or '?'}"
                             + ("" if phase == "ingesting" else f" · {phase}"))
            elif waited > FOLLOW_QUEUED_S:  # nobody took it: say so rather than spin
                raise IngestError(f"job {job_id} is still queued after {FOLLOW_QUEUED_S:.0f} s: "
                                  "no worker has taken it, or another writer holds the collection",
                                  subject=name, fix="start one with `ragloom worker`; the job "
                                  f"stays queued and `GET /jobs/{job_id}` follows it")
            else:
                bar.progress(0.0, text=f"Queued: waiting for a worker… {waited:.0f} s")
            time.sleep(0.5)
    finally:
        jobs.close()
    bar.progress(1.0, text="Done")
    if job["status"] == "failed":
        raise IngestError(job["error"] or "the queued ingest failed", subject=name,
                          fix=job["fix"] or "see the worker's log")
    manifest = open_manifest(s, name)
    files_now, chunks = manifest.counts()
    return {"collection": name, "ingested": len(job["ingested"]),
            "unchanged": len(job["unchanged"]), "removed": len(job["removed"]),
            "failed": job["failed"], "skipped": job["skipped"],
            "chunks_added": job["chunks_added"], "seconds": time.perf_counter() - start,
            "files": files_now, "chunks": chunks}


def _show_report(r: dict[str, Any]) -> None:
    line = (f"Collection **{r['collection']}**: {r['ingested']} ingested, {r['unchanged']} "
            f"unchanged, {r['removed']} removed, {len(r['failed'])} failed, "
            f"{len(r.get('skipped', []))} skipped · +{r['chunks_added']} "
            f"chunks in {r['seconds']:.1f}s · now {r['files']} document(s), {r['chunks']} chunks.")
    (st.warning if r["failed"] or r.get("cancelled") else st.success)(line)
    if r.get("cancelled"):
        st.warning(f"Cancelled: {len(r['cancelled'])} file(s) were not ingested "
                   f"({', '.join(r['cancelled'][:5])}{'…' if len(r['cancelled']) > 5 else ''}). "
                   "Ingest again to add them: what was read is already searchable.")
    if r["failed"]:
        st.dataframe(r["failed"], hide_index=True)
    if r.get("skipped"):
        st.caption("Skipped (not ingested):")
        st.dataframe(r["skipped"], hide_index=True)


def _add_tab(s: Settings) -> None:
    name = pick_collection(s, key="docs-collection", where=st, allow_new=True)
    # A new key after each ingest: the uploader comes back empty, not holding the last batch.
    batch = st.session_state.get(UPLOAD_BATCH_KEY, 0)
    files = st.file_uploader("Upload files", accept_multiple_files=True,
                             key="docs-upload" if batch == 0 else f"docs-upload-{batch}",
                             type=sorted(x.lstrip(".") for x in SUPPORTED_SUFFIXES),
                             help="PDF, DOCX, HTML, Markdown, text, CSV, JSON lines")
    folder = st.text_input("…or ingest a folder on the server", key="docs-folder",
                           placeholder="/path/to/documents")
    sync = st.checkbox("Sync the folder (remove files that disappeared from it)", key="docs-sync")
    queue = s.database is not None and st.checkbox(
        "Ingest on a worker (task queue)", key="docs-queue",
        help="The uploads go to the shared database and a `ragloom worker` ingests them; "
        "this page follows the job.")
    # Never disabled: a click that commits the name field must not be swallowed.
    if st.button("Ingest", type="primary", key="docs-ingest"):
        done = False
        with shown_errors("ingesting") as outcome:
            if not name:
                raise IngestError("no collection chosen",
                                  fix="pick a collection or type a name for a new one")
            validate_collection_name(name)  # before anything is saved under its name
            done = (_queue_batch(s, name, files, folder, sync) if queue
                    else _ingest_here(s, name, files, folder, sync))
        if "error" in outcome:
            st.session_state.pop(REPORT_KEY, None)
        elif done:
            st.session_state["docs-collection-select-next"] = True  # show it as chosen
            st.session_state[UPLOAD_BATCH_KEY] = batch + 1
            st.rerun()
    if REPORT_KEY in st.session_state:
        _show_report(st.session_state[REPORT_KEY])


def _documents_size(s: Settings, name: str) -> int:
    from ragloom.retrieval.manifest import manifest_entries

    return sum(e.size for e in manifest_entries(s, name))


def _collections_tab(s: Settings) -> None:
    from ragloom.retrieval.collections import delete_collection, list_collections

    rows = list_collections(s)
    if not rows:
        st.info("No collections yet: add documents in the first tab.")
        return
    table = [{"collection": r["name"], "documents": r["files"], "chunks": r["chunks"],
              "embedding model": r["embedding_model"], "dim": r["dimension"],
              "chunker": r["chunker"], "documents size (MB)": round(_documents_size(s, r["name"])
                                                                    / 2**20, 2)}
             for r in rows]
    st.dataframe(table, hide_index=True)
    name = st.selectbox("Manage collection", [r["name"] for r in rows], key="docs-manage")
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown("**Re-index** with another embedding model (from stored chunk text)")
        model = st.text_input("Embedding model", value=s.embedding, key="docs-reindex-model")
        if st.button("Re-index", key="docs-reindex"):
            with shown_errors("re-indexing"):
                _reindex(s, name, model.strip())
    with right, st.container(border=True):
        st.markdown("**Delete** the collection, its index and the files uploaded to it")
        sure = st.checkbox(f"Yes, delete '{name}' and everything in it", key="docs-delete-sure")
        if st.button("Delete", key="docs-delete", disabled=not sure, type="primary"):
            with shown_errors("deleting") as outcome:
                delete_collection(s, name)
                shutil.rmtree(upload_dir(s, name), ignore_errors=True)
            if "error" not in outcome:
                if st.session_state.get("ragloom_collection") == name:
                    st.session_state.pop("ragloom_collection")
                st.session_state.pop("docs-delete-sure", None)
                st.toast(f"Deleted collection '{name}'")
                st.rerun()


def _reindex(s: Settings, name: str, model: str) -> None:
    from ragloom.retrieval.reindex import reindex

    bar = st.progress(0.0, text="Loading the embedding model…")
    target = s.model_copy(update={"embedding": model})
    n = reindex(target, name, model, services().embeddings(target),
                on_progress=lambda d, t: bar.progress(d / max(t, 1), text=f"{d}/{t} chunks"))
    bar.progress(1.0, text="Done")
    st.success(f"Re-embedded {n} chunks of '{name}' with {model}. Set the embedding model to "
               f"{model} (Settings page or ragloom.toml) to query it.")


def _preview_tab(s: Settings) -> None:
    from ragloom.retrieval.collections import list_collections
    from ragloom.retrieval.manifest import manifest_entries
    from ragloom.retrieval.store import ChunkStore, open_client

    names = collection_names(s)
    if not names:
        st.info("No collections yet.")
        return
    name = st.selectbox("Collection", names, key="docs-preview-collection")
    entries = manifest_entries(s, name)
    if not entries:
        st.info("This collection has no documents recorded.")
        return
    entry = st.selectbox("Document", entries, key="docs-preview-doc",
                         format_func=lambda e: f"{Path(e.source).name} ({len(e.chunk_ids)} chunks)")
    st.caption(f"{entry.source} · {entry.loader} · {entry.size / 1024:.1f} KB · "
               f"sha256 {entry.content_hash[:12]}")
    # Reading chunks by id embeds nothing: open the store under the model it was built with,
    # so a collection re-indexed with another model still previews.
    built_with = next(r["embedding_model"] for r in list_collections(s) if r["name"] == name)
    store = ChunkStore(open_client(s), name, services().embeddings(s), built_with, create=False)
    total = len(entry.chunk_ids)
    shown = (st.slider("Chunks to show", 1, total, min(5, total), key="docs-preview-n")
             if total > 1 else total)
    for chunk in store.get_many(list(entry.chunk_ids[:shown])):
        page = f" · page {chunk.page}" if chunk.page else ""
        with st.container(border=True):
            st.caption(f"chunk {chunk.chunk_index}{page}")
            st.text(chunk.text)


def render() -> None:
    s = settings()
    st.title("Documents")
    add, manage, preview = st.tabs(["Add documents", "Collections", "Preview"])
    with add:
        _add_tab(s)
    with manage, shown_errors("listing collections"):
        _collections_tab(s)
    with preview, shown_errors("previewing"):
        _preview_tab(s)
