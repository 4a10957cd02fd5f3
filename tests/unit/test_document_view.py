"""The document viewer: a PDF page rendered with the cited passage under yellow boxes (pdfium's
own text search), a text document around its chunk, only files the collection's manifest lists,
and the Ask page's citation opening its page (AppTest)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from ragloom.core.errors import RagloomError
from ragloom.retrieval.documents import opened_source, render_pdf_page, text_view
from tests.pdf_builder import build_pdf
from tests.unit.test_ui_support import app_test, fake_services, sample_collection, texts

LINES = ["Harbour log", "The north lamp is cleaned every 14 days by the keeper.",
         "Visitors may climb the tower on Sundays."]


def _yellow(png: bytes) -> list[tuple[int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    return [(x, y) for y in range(0, h, 2) for x in range(0, w, 2)
            if (p := image.getpixel((x, y)))[0] > 240 and p[1] > 200 and p[2] < 200]


def test_a_pdf_page_is_drawn_with_the_passage_highlighted(tmp_path: Path) -> None:
    pdf = tmp_path / "log.pdf"
    pdf.write_bytes(build_pdf([["Cover page"], LINES]))
    shown = render_pdf_page(pdf, 2, "The north lamp is cleaned every 14 days by the keeper.")
    assert shown.page == 2 and shown.pages == 2 and shown.highlighted == 1
    marked = _yellow(shown.png)
    assert marked, "no highlight drawn"
    ys = [y for _, y in marked]
    # build_pdf writes line 2 of the page at y = 720 - 16 (PDF points, from the bottom).
    scale, line_y = 1.6, (792 - 704) * 1.6
    assert min(ys) > line_y - 12 * scale and max(ys) < line_y + 6 * scale
    assert not _yellow(render_pdf_page(pdf, 2, "Not a sentence of this page at all.").png)
    with pytest.raises(RagloomError, match="has no page 3"):
        render_pdf_page(pdf, 3, "x")


def test_only_documents_of_the_collection_are_opened(settings, tmp_path: Path) -> None:
    sample_collection(settings)
    from ragloom.retrieval.manifest import manifest_entries

    source = next(e.source for e in manifest_entries(settings, "sample")
                  if e.source.endswith("company-handbook.md"))
    with opened_source(settings, "sample", source) as path:
        view = text_view(path, "Members are paid")
    assert view.found and view.passage == "Members are paid" and view.before
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    for other in (str(secret), "/etc/passwd", "upload://../../secret.txt"):
        with pytest.raises(RagloomError, match="is not a document of collection"), \
                opened_source(settings, "sample", other):
            pass
    with pytest.raises(RagloomError, match="is not a document of collection 'nope'"), \
            opened_source(settings, "nope", source):
        pass


def test_a_citation_opens_its_pdf_page_on_the_ask_page(settings) -> None:
    sample_collection(settings)
    at = app_test(settings, fake_services("Brew it at 85 degrees Celsius [1]."))
    at.sidebar.selectbox(key="ask-graph").set_value("simple").run()
    at.chat_input(key="ask-input").set_value("What temperature should I brew the Oolong at?").run()
    assert not at.exception, at.exception
    toggle = at.toggle(key="open-0-1")
    assert toggle.label == "Open page 1"
    toggle.set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (image,) = at.get("image")
    caption = image.proto.imgs[0].caption
    assert "tea-guide.pdf · page 1 of 2 · the cited passage is highlighted" in caption
    assert "Open page 1" in [t.label for t in at.toggle] and "85" in texts(at)
