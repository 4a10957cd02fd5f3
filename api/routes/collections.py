"""Collections (create, list, show, delete) and document uploads ingested as background jobs."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ragloom.api.deps import Caller, Service, ServiceState, require
from ragloom.api.errors import ApiError
from ragloom.api.limits import inside, safe_filename
from ragloom.core.private import private_dir, private_file
from ragloom.retrieval.store import validate_collection_name
from ragloom.retrieval.uploads import split_duplicates

router = APIRouter(tags=["collections"])
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$"


class NewCollection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME, description="3-512 letters, digits, '.', '_' or '-'.")


def _exists(svc: Service, name: str) -> bool:
    from ragloom.retrieval.store import collection_exists, open_client

    return collection_exists(open_client(svc.settings), name)


def _must_exist(svc: Service, name: str) -> None:
    validate_collection_name(name)
    if not _exists(svc, name):
        raise ApiError(404, f"collection '{name}' does not exist",
                       "create it with POST /collections, or see GET /collections")


@router.get("/collections", summary="Collections this key may read")
def list_collections(svc: Service, who: Caller) -> list[dict[str, Any]]:
    from ragloom.retrieval.collections import list_collections as all_collections

    return [c for c in all_collections(svc.settings) if who.can(c["name"], "read")]


@router.post("/collections", status_code=201, summary="Create an empty collection")
def create_collection(body: NewCollection, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.retrieval.collections import Collection

    require(who, body.name, "write")
    if _exists(svc, body.name):
        raise ApiError(409, f"collection '{body.name}' already exists",
                       "upload documents to it, or pick another name")
    info = Collection(svc.settings, body.name, svc.embeddings_of(svc.settings)).info()
    svc.audit.record(who, "collection.create", collection=body.name)
    return info.__dict__


@router.get("/collections/{name}", summary="Files, chunks and embedding model of a collection")
def show_collection(name: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.retrieval.collections import Collection

    require(who, name, "read")
    _must_exist(svc, name)
    return Collection(svc.settings, name, svc.embeddings_of(svc.settings), create=False
                      ).info().__dict__


@router.delete("/collections/{name}", summary="Delete a collection, its index and its uploads")
def delete_collection(name: str, svc: Service, who: Caller) -> dict[str, Any]:
    from ragloom.retrieval.collections import delete_collection as delete

    require(who, name, "admin")
    _must_exist(svc, name)
    delete(svc.settings, name)
    if hasattr(svc.context_factory, "forget"):
        svc.context_factory.forget(name)
    shutil.rmtree(svc.uploads_dir / name, ignore_errors=True)
    svc.audit.record(who, "collection.delete", collection=name)
    return {"deleted": name}


@router.post("/collections/{name}/documents", status_code=202,
             summary="Upload files and ingest them in the background (poll GET /jobs/{id})")
def upload_documents(name: str, svc: Service, who: Caller,
                     files: Annotated[list[UploadFile], File(description="Documents to ingest.")],
                     sync: Annotated[bool, Query(
                         description="Also remove earlier uploads not in this request.")] = False,
                     queue: Annotated[bool, Query(
                         description="Ingest on a `ragloom worker` (needs database_url): the "
                         "files wait in the shared database, so any worker can take the job."
                         )] = False,
                     ) -> dict[str, Any]:
    require(who, name, "write")
    validate_collection_name(name)
    if len(files) > svc.settings.api.max_upload_files:
        raise ApiError(413, f"{len(files)} files in one upload, over the limit of "
                       f"{svc.settings.api.max_upload_files}", "upload in several requests")
    if queue and not svc.settings.database:
        raise ApiError(422, "queued ingests need the shared database (database_url)",
                       "set RAGLOOM_DATABASE_URL on the API and the workers, or upload without "
                       "queue=true")
    names = [safe_filename(f.filename) for f in files]
    keep, refused = split_duplicates(names)  # each later file of one name is refused on its own
    if queue:
        job = svc.jobs.enqueue(name, [(names[i], files[i].file.read) for i in keep], who.id,
                               sync=sync, refused=refused)
    else:
        job = _ingest_here(svc, name, files, names, keep, refused, who.id, sync)
    stored = [names[i] for i in keep]
    svc.audit.record(who, "documents.upload", collection=name, target=job, files=stored,
                     queued=queue)
    return {"job": job, "collection": name, "files": stored,
            "refused": [{"file": n, "reason": r} for n, r in refused], "status_url": f"/jobs/{job}"}


def _ingest_here(svc: ServiceState, name: str, files: list[UploadFile], names: list[str],
                 keep: list[int], refused: list[tuple[str, str]], owner: str, sync: bool) -> str:
    """Save the uploads under HOME/uploads/NAME and ingest them in a thread of this process."""
    folder = svc.uploads_dir / name
    private_dir(folder)  # uploaded documents: for this user only
    saved = []
    for upload, clean in ((files[i], names[i]) for i in keep):
        path = inside(folder, clean)
        tmp = path.with_name(f".{clean}.part")
        with private_file(tmp).open("wb") as sink:  # 0600 before a byte is written
            shutil.copyfileobj(upload.file, sink, length=1 << 20)
        tmp.replace(path)  # a half-written upload is never ingested
        saved.append(path)
    return svc.jobs.submit(name, [folder] if sync else saved, owner, sync=sync, uploaded=saved,
                           refused=refused)


@router.get("/jobs/{job_id}", summary="Progress and per-file errors of an ingest job")
def job_status(job_id: str, svc: Service, who: Caller) -> dict[str, Any]:
    job = svc.jobs.get(job_id)
    if job is None or not who.can(job["collection"], "read"):
        raise ApiError(404, f"no ingest job '{job_id}'", "use the id returned by the upload")
    return job
