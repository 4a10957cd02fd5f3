"""Upload batches: each file is ingested or refused on its own, and a refused one leaves no file."""

from __future__ import annotations

from pathlib import Path

from ragloom.core.settings import Settings
from ragloom.retrieval.manifest import manifest_entries, open_manifest
from ragloom.retrieval.uploads import discard_unindexed, split_duplicates
from ragloom.ui.page_documents import REPORT_KEY
from ragloom.ui.state import NEW_COLLECTION
from ragloom.ui.uploads import save_batch
from tests.unit.api_helpers import client, fill, key, wait_for_job
from tests.unit.test_ui_support import app_test, fake_services

TEA = b"Green tea steeps for two minutes at seventy-five degrees, never with boiling water."
COFFEE = b"Coffee wants water just off the boil and four minutes in the French press."


class _Upload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_later_files_of_one_name_are_refused_and_the_first_is_kept(tmp_path: Path) -> None:
    keep, refused = split_duplicates(["a.txt", "b.txt", "a.txt", "a.txt"])
    assert keep == [0, 1] and [n for n, _ in refused] == ["a.txt", "a.txt"]
    assert refused[0][1].startswith("duplicate name in this upload") and "rename" in refused[0][1]
    saved, refused = save_batch([_Upload("x/a.txt", TEA), _Upload("a.txt", COFFEE),
                                 _Upload("../..", b"?")], tmp_path / "up")
    assert saved == [(tmp_path / "up" / "a.txt").resolve()] and saved[0].read_bytes() == TEA
    assert [n for n, _ in refused] == ["../..", "a.txt"] and "no usable characters" in refused[0][1]
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["a.txt"]  # no .part left


def test_only_uploads_the_manifest_records_are_kept(tmp_path: Path) -> None:
    kept, dropped = tmp_path / "kept.txt", tmp_path / "dropped.txt"
    kept.write_bytes(TEA)
    dropped.write_bytes(COFFEE)
    settings = Settings(home=tmp_path / "home")
    manifest = open_manifest(settings, "docs")
    manifest.begin([(str(kept.resolve()), ["c1"], [])])
    manifest.commit([(str(kept.resolve()), _entry(kept))])
    manifest.finish([str(kept.resolve())])
    manifest.close()
    assert discard_unindexed([kept, dropped], settings, "docs") == [dropped]
    assert kept.exists() and not dropped.exists()
    assert discard_unindexed([kept], settings, "missing") == [kept] and not kept.exists()


def _entry(path: Path):  # type: ignore[no-untyped-def]
    from ragloom.retrieval.manifest import FileEntry, now

    st = path.stat()
    return FileEntry(str(path.resolve()), "h" * 64, st.st_size, st.st_mtime_ns, "text", ("c1",), now())


def test_web_app_batch_with_a_duplicate_name_and_a_broken_file(settings) -> None:
    at = app_test(settings, fake_services(), page="documents")
    at.selectbox(key="docs-collection").set_value(NEW_COLLECTION).run()
    at.text_input(key="docs-collection-new").set_value("batch").run()
    at.file_uploader(key="docs-upload").set_value([
        ("notes.txt", TEA, "text/plain"), ("other/notes.txt", COFFEE, "text/plain"),
        ("broken.pdf", b"not a pdf at all", "application/pdf")])
    at.run()
    at.button(key="docs-ingest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    report = at.session_state[REPORT_KEY]
    assert report["ingested"] == 1 and report["chunks"] > 0
    reasons = {Path(f["file"]).name: f["reason"] for f in report["failed"]}
    assert set(reasons) == {"notes.txt", "broken.pdf"}
    assert reasons["notes.txt"].startswith("duplicate name in this upload")
    folder = settings.home / "uploads" / "batch"
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]  # the refused PDF is not kept
    assert (folder / "notes.txt").read_bytes() == TEA
    sources = [e.source for e in manifest_entries(settings, "batch")]
    assert sources == [str((folder / "notes.txt").resolve())]



def test_api_upload_with_a_duplicate_name_refuses_only_that_file(settings) -> None:
    fill(settings)
    with client(settings) as api:
        api.headers.update(key(settings, "admin"))
        files = [("files", ("notes.txt", TEA, "text/plain")),
                 ("files", ("dir/notes.txt", COFFEE, "text/plain")),
                 ("files", ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf"))]
        r = api.post("/collections/batch/documents", files=files)
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["files"] == ["notes.txt", "broken.pdf"]
        assert body["refused"][0]["file"] == "notes.txt"
        assert body["refused"][0]["reason"].startswith("duplicate name in this upload")
        state = wait_for_job(api, body["job"])
    assert state["status"] == "done_with_errors" and state["ingested"] == ["notes.txt"]
    assert [f["file"] for f in state["failed"]] == ["notes.txt", "broken.pdf"]
    folder = settings.home / "uploads" / "batch"
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_bytes() == TEA
