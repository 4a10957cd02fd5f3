"""Documents page: upload + ingest with progress and per-file errors, collections, preview, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragloom.core.errors import IngestError
from ragloom.retrieval.collections import list_collections
from ragloom.retrieval.manifest import manifest_entries
from ragloom.retrieval.uploads import safe_filename
from ragloom.ui.page_documents import REPORT_KEY
from ragloom.ui.state import NEW_COLLECTION
from ragloom.ui.uploads import save_uploads
from tests.conftest import SAMPLE_CORPUS
from tests.unit.test_ui_support import app_test, fake_services, sample_collection, texts


class _Upload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"), (".hidden.pdf", "hidden.pdf"),
    ("Résumé 2024 (final).pdf", "Resume 2024 _final_.pdf"), ("/abs/path/a.md", "a.md"),
])
def test_upload_names_are_sanitised(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


def test_long_names_keep_their_extension_and_empty_names_are_refused(tmp_path: Path) -> None:
    assert safe_filename("x" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_filename("x" * 300 + ".pdf")) == 160
    with pytest.raises(IngestError, match="no usable characters"):
        safe_filename("../..")
    saved = save_uploads([_Upload("../../escape.txt", b"hi")], tmp_path / "up")
    assert saved == [(tmp_path / "up" / "escape.txt").resolve()] and saved[0].read_bytes() == b"hi"
    assert not (tmp_path / "escape.txt").exists()


def test_upload_and_ingest_into_a_new_collection_with_a_per_file_error_table(settings) -> None:
    at = app_test(settings, fake_services(), page="documents")
    at.selectbox(key="docs-collection").set_value(NEW_COLLECTION).run()
    at.button(key="docs-ingest").click().run()
    assert "no collection chosen" in at.error[0].value
    at.text_input(key="docs-collection-new").set_value("x").run()
    at.file_uploader(key="docs-upload").set_value([("a.txt", b"some text", "text/plain")])
    at.run()
    at.button(key="docs-ingest").click().run()
    assert at.error[0].value.startswith("ingesting failed:") and "'x'" in at.error[0].value
    assert not (settings.home / "uploads").exists()  # nothing saved under a refused name
    at.text_input(key="docs-collection-new").set_value("my-docs").run()
    good = (SAMPLE_CORPUS / "shipping-faq.txt").read_bytes()
    at.file_uploader(key="docs-upload").set_value([("../shipping faq.txt", good, "text/plain"),
                                                ("broken.pdf", b"not a pdf at all", "application/pdf")])
    at.run()
    at.button(key="docs-ingest").click().run()
    assert not at.exception, at.exception
    report = at.session_state[REPORT_KEY]
    assert report["collection"] == "my-docs" and report["ingested"] == 1 and report["chunks"] > 0
    assert [Path(f["file"]).name for f in report["failed"]] == ["broken.pdf"]
    assert "1 ingested" in texts(at) and at.dataframe[0].value["file"].str.endswith("broken.pdf").all()
    assert at.selectbox(key="docs-collection").value == "my-docs"  # the new one is now chosen
    assert at.file_uploader(key="docs-upload-1").value in (None, [])  # the uploader is cleared
    saved = settings.home / "uploads" / "my-docs" / "shipping faq.txt"
    assert saved.read_bytes() == good
    assert [r["name"] for r in list_collections(settings)] == ["my-docs"]


def test_folder_ingest_and_a_missing_folder_is_a_readable_error(settings, tmp_path) -> None:
    sample_collection(settings, "sample")
    at = app_test(settings, fake_services(), page="documents")
    at.selectbox(key="docs-collection").set_value("sample").run()
    at.text_input(key="docs-folder").set_value(str(tmp_path / "nowhere")).run()
    at.button(key="docs-ingest").click().run()
    assert not at.exception and "no such folder on the server" in at.error[0].value
    at.text_input(key="docs-folder").set_value(str(SAMPLE_CORPUS)).run()
    at.button(key="docs-ingest").click().run()
    assert at.session_state[REPORT_KEY]["unchanged"] == 3


def test_collections_table_preview_and_delete(settings) -> None:
    sample_collection(settings, "sample")
    sample_collection(settings, "other")
    at = app_test(settings, fake_services(), page="documents")
    table = at.dataframe[0].value
    assert list(table["collection"]) == ["other", "sample"] and (table["documents"] == 3).all()
    assert (table["embedding model"] == "local/fake-bow").all()
    # Preview: the chunks of one document, with their page.
    at.selectbox(key="docs-preview-collection").set_value("sample").run()
    docs = at.selectbox(key="docs-preview-doc")
    assert [o.split(" (")[0] for o in docs.options] == ["company-handbook.md", "shipping-faq.txt",
                                                         "tea-guide.pdf"]
    tea = next(e for e in manifest_entries(settings, "sample")
               if e.source.endswith("tea-guide.pdf"))
    docs.set_value(tea).run()
    assert any("Oolong" in t.value for t in at.text)
    assert any("page 1" in c.value for c in at.caption)
    # Delete needs the confirmation box.
    at.selectbox(key="docs-manage").set_value("other").run()
    assert at.button(key="docs-delete").disabled
    uploaded = settings.home / "uploads" / "other" / "a.txt"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_text("uploaded earlier")
    at.checkbox(key="docs-delete-sure").check().run()
    at.button(key="docs-delete").click().run()
    assert not at.exception
    assert [r["name"] for r in list_collections(settings)] == ["sample"]
    assert not uploaded.parent.exists()


def test_reindex_with_another_embedding_model_shows_progress_and_records_it(settings) -> None:
    col = sample_collection(settings, "sample")
    chunks = col.store.count()
    at = app_test(settings, fake_services(), page="documents")
    at.text_input(key="docs-reindex-model").set_value("local/fake-bow-v2")
    at.button(key="docs-reindex").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"Re-embedded {chunks} chunks of 'sample' with local/fake-bow-v2" in at.success[0].value
    row = next(r for r in list_collections(settings) if r["name"] == "sample")
    assert row["embedding_model"] == "local/fake-bow-v2" and row["chunks"] == chunks


_CANCEL_ON_FIRST_FILE = """
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from ragloom.ui import page_documents

class _Bar:  # what a click during the ingest does: the next st call raises
    def progress(self, value, text=""):
        if value > 0 and not st.session_state.get("clicked"):
            st.session_state["clicked"] = True
            raise StopException()

if st.session_state.get("patch"):
    page_documents.st.progress = lambda *a, **k: _Bar()
page_documents.render()
"""


def test_cancel_during_an_ingest_keeps_what_was_read_and_names_the_rest(settings, tmp_path,
                                                                         monkeypatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ragloom.ui.state import SERVICES_KEY, SETTINGS_KEY

    monkeypatch.setattr(st, "progress", st.progress)  # the script patches it; put it back
    folder = tmp_path / "notes"
    folder.mkdir()
    for i, word in enumerate(["aardvark", "bison", "cheetah"]):
        (folder / f"{i}.txt").write_text(f"The {word} lives far away from here.\n")
    sample_collection(settings, "sample")
    at = AppTest.from_string(_CANCEL_ON_FIRST_FILE, default_timeout=60)
    at.session_state[SETTINGS_KEY] = settings
    at.session_state[SERVICES_KEY] = fake_services()
    at.run()
    at.selectbox(key="docs-collection").set_value("sample").run()
    at.text_input(key="docs-folder").set_value(str(folder)).run()
    at.session_state["patch"] = True
    at.button(key="docs-ingest").click().run()
    report = at.session_state[REPORT_KEY]
    assert report["ingested"] == 1 and report["cancelled"] == ["1.txt", "2.txt"]
    assert report["files"] == 4  # the sample's three and the one read before the cancel
    at.run()  # the rerun the click asked for shows the report
    assert "Cancelled: 2 file(s) were not ingested (1.txt, 2.txt)" in texts(at)
