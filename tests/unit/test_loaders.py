from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import pytest

from ragloom.core.errors import IngestError
from ragloom.retrieval.formats import detect
from ragloom.retrieval.loaders import ROWS_PER_SECTION, SUPPORTED_SUFFIXES, load_file, supported
from tests.pdf_builder import build_pdf

SAMPLE_CORPUS = Path(__file__).resolve().parents[2] / "ragloom" / "sample_corpus"


# --- fixture builders --------------------------------------------------------------------------------


REPORT_PAGES = [
    [
        "ACME Corp | Annual Report 2024",
        "Revenue grew in every region this year.",
        "Our infor-",
        "mation systems are well-known for uptime.",
        "Page 1 of 3",
    ],
    ["ACME Corp | Annual Report 2024", "Costs fell because of cheaper shipping.", "Page 2 of 3"],
    ["ACME Corp | Annual Report 2024", "Outlook: we expect steady demand.", "Page 3 of 3"],
]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def encrypted_pdf(tmp_path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(build_pdf(REPORT_PAGES))))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return write(tmp_path / "locked.pdf", buffer.getvalue())


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Preface before any heading.")
    document.add_heading("Intro", level=1)
    document.add_paragraph("Welcome to the guide.")
    document.add_heading("Scope", level=2)
    document.add_paragraph("It covers green and black tea.")
    table = document.add_table(rows=2, cols=3)
    for row, cells in zip(table.rows, [["Tea", "Temp", "Minutes"], ["Green", "75", "2"]], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("Details", level=3)
    document.add_paragraph("Steep twice.")
    document.add_heading("Appendix", level=1)
    document.add_paragraph("Contact us.")
    document.save(str(path))
    return path


def expect_error(path: Path, *fragments: str, **limits: int) -> IngestError:
    with pytest.raises(IngestError) as info:
        load_file(path, **limits)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert str(path) in message and "Fix:" in message
    return info.value


# --- PDF -----------------------------------------------------------------------------------------------


def test_pdf_pages_are_numbered_and_cleaned(tmp_path: Path) -> None:
    kind, sections = load_file(write(tmp_path / "report.pdf", build_pdf(REPORT_PAGES)))
    assert kind == "pdf"
    assert [s.page for s in sections] == [1, 2, 3]
    assert sections[0].text == (
        "Revenue grew in every region this year.\nOur information systems are well-known for uptime."
    )
    assert sections[2].text == "Outlook: we expect steady demand."
    assert not any("ACME" in s.text or "Page" in s.text for s in sections)


def test_pdf_skips_empty_pages_but_keeps_numbers(tmp_path: Path) -> None:
    pages = [["First page text."], [], ["Third page text."]]
    _, sections = load_file(write(tmp_path / "gap.pdf", build_pdf(pages)))
    assert [(s.page, s.text) for s in sections] == [(1, "First page text."), (3, "Third page text.")]


def test_pdf_with_no_text_layer_needs_ocr(tmp_path: Path) -> None:
    expect_error(write(tmp_path / "scan.pdf", build_pdf([[], []])), "no text layer: scanned PDF needs OCR")


def test_pdf_over_the_page_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "report.pdf", build_pdf(REPORT_PAGES))
    expect_error(path, "3 pages", "limit of 2", "retrieval.max_pages", max_pages=2)
    assert load_file(path, max_pages=3)[0] == "pdf"


def test_truncated_pdf(tmp_path: Path) -> None:
    data = build_pdf(REPORT_PAGES)
    expect_error(write(tmp_path / "cut.pdf", data[: len(data) // 2]), "damaged or truncated PDF")


def test_encrypted_pdf(tmp_path: Path) -> None:
    expect_error(encrypted_pdf(tmp_path), "encrypted PDF: remove the password")


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        ("<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        ("just some words", "plain text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00rest", "PNG image"),
    ],
)
def test_file_named_pdf_that_is_not_a_pdf(tmp_path: Path, content: str | bytes, looks_like: str) -> None:
    expect_error(write(tmp_path / "fake.pdf", content), f"not a PDF (content looks like {looks_like})")


def test_sample_corpus_pdf_has_two_pages() -> None:
    kind, sections = load_file(SAMPLE_CORPUS / "tea-guide.pdf")
    assert kind == "pdf"
    assert [s.page for s in sections] == [1, 2]
    assert "Brackenford Oolong" in sections[0].text and "Storage" in sections[1].text


# --- DOCX ----------------------------------------------------------------------------------------------


def test_docx_heading_paths_and_tables(tmp_path: Path) -> None:
    kind, sections = load_file(write_docx(tmp_path / "guide.docx"))
    assert kind == "docx"
    assert [s.heading for s in sections] == [
        None,
        "Intro",
        "Intro > Scope",
        "Intro > Scope > Details",
        "Appendix",
    ]
    assert sections[0].text == "Preface before any heading."
    assert sections[2].text == "Scope\nIt covers green and black tea.\nTea | Temp | Minutes\nGreen | 75 | 2"
    assert all(s.page is None for s in sections)


def test_docx_named_file_that_is_another_zip(tmp_path: Path) -> None:
    path = tmp_path / "book.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    expect_error(path, "not a Word .docx document (content looks like Excel workbook)")


def test_broken_docx_is_wrapped_not_raised_raw(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "this is not xml")
    error = expect_error(path, "docx")
    assert error.__cause__ is not None


# --- HTML, Markdown, text -----------------------------------------------------------------------------

HTML = """<!doctype html>
<html><head><title>T</title><style>p { color: red }</style></head>
<body><nav>Home | About</nav><script>var secret = 1;</script>
<p>Intro   text
  across lines with <b>bold</b> words.</p>
<h1>Guide</h1><p>Welcome.</p>
<h2>Brewing</h2><p>Use <a href="#">fresh</a> water.</p>
<table><tr><th>Tea</th><th>Temp</th></tr><tr><td>Green</td><td>75</td></tr></table>
<h3>Oolong</h3><ul><li>Rinse</li><li>Steep</li></ul>
<h2>Storage</h2><p>Keep dry.<br>Keep dark.</p>
</body></html>"""


def test_html_sections_follow_headings(tmp_path: Path) -> None:
    kind, sections = load_file(write(tmp_path / "page.html", HTML))
    assert kind == "html"
    assert [s.heading for s in sections] == [
        None,
        "Guide",
        "Guide > Brewing",
        "Guide > Brewing > Oolong",
        "Guide > Storage",
    ]
    assert sections[0].text == "Intro text across lines with bold words."
    assert sections[2].text == "Brewing\n\nUse fresh water.\n\nTea | Temp\nGreen | 75"
    assert sections[3].text == "Oolong\n\nRinse\nSteep"
    assert sections[4].text == "Storage\n\nKeep dry.\nKeep dark."
    joined = "\n".join(s.text for s in sections)
    assert "secret" not in joined and "color" not in joined and "About" not in joined


def test_html_named_txt_is_read_as_html(tmp_path: Path) -> None:
    kind, sections = load_file(write(tmp_path / "saved.txt", HTML))
    assert kind == "html"
    assert sections[1].heading == "Guide"


MARKDOWN = """Preamble line.

# Guide
Welcome.

## Brewing ##
Use fresh water.

```python
# not a heading
print("tea")
```

### Oolong
Rinse first.

#### Detail
Still in Oolong.

## Storage
Keep dry.
"""


def test_markdown_sections_follow_headings(tmp_path: Path) -> None:
    kind, sections = load_file(write(tmp_path / "guide.md", MARKDOWN))
    assert kind == "markdown"
    assert [s.heading for s in sections] == [
        None,
        "Guide",
        "Guide > Brewing",
        "Guide > Brewing > Oolong",
        "Guide > Storage",
    ]
    assert "# not a heading" in sections[2].text
    assert sections[3].text == "Oolong\nRinse first.\n\n#### Detail\nStill in Oolong."


def test_sample_corpus_markdown_and_text() -> None:
    kind, sections = load_file(SAMPLE_CORPUS / "company-handbook.md")
    assert kind == "markdown"
    assert sections[0].heading == "Loomhaven Tea Cooperative: member handbook > Who we are"
    kind, sections = load_file(SAMPLE_CORPUS / "shipping-faq.txt")
    assert kind == "text" and len(sections) == 1 and "Shipping is free" in sections[0].text


def test_text_and_utf16_text(tmp_path: Path) -> None:
    assert load_file(write(tmp_path / "a.txt", "  héllo\nworld  \n"))[1][0].text == "héllo\nworld"
    utf16 = write(tmp_path / "b.txt", "tea time".encode("utf-16"))
    assert load_file(utf16)[1][0].text == "tea time"


def test_invalid_utf8_names_the_byte_offset(tmp_path: Path) -> None:
    expect_error(
        write(tmp_path / "latin.txt", "café".encode("latin-1") + b" more"),
        "invalid UTF-8",
        "byte offset 3",
        "convert the file to UTF-8",
    )


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("junk.txt", b"abc\x00\x01\x02\xff" * 10, "binary content"),
        ("late-nul.md", b"a" * 9000 + b"\x00tail", "NUL byte at byte offset 9000"),
        ("image.md", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "content looks like PNG image"),
    ],
)
def test_binary_junk_under_a_text_extension(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    expect_error(write(tmp_path / name, content), fragment)


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.docx", "empty.csv", "empty.jsonl"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    expect_error(write(tmp_path / name, b""), "file is empty")


def test_whitespace_only_file_has_no_text(tmp_path: Path) -> None:
    expect_error(write(tmp_path / "blank.txt", "  \n\n  "), "no text found in text file")


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * (3 * 1024 * 1024))
    expect_error(path, "file is 3.0 MB", "limit of 2 MB", "retrieval.max_file_mb", max_bytes=2 * 1024 * 1024)


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.txt", "file not found")
    expect_error(write(tmp_path / "sheet.xls", "a,b"), "unsupported file type '.xls'", ".docx")
    assert load_file(write(tmp_path / "README", "plain words"))[0] == "text"


# --- CSV, JSON lines ------------------------------------------------------------------------------------


def test_csv_rows_render_as_column_value_lines(tmp_path: Path) -> None:
    rows = ["name;city;note"] + [f'Ann {i};Paris;"likes tea; green"' for i in range(120)] + ["Bob;;"]
    kind, sections = load_file(write(tmp_path / "people.csv", "\n".join(rows) + "\n"))
    assert kind == "csv"
    assert len(sections) == 3 and ROWS_PER_SECTION == 50
    assert sections[0].text.split("\n")[0] == "name: Ann 0; city: Paris; note: likes tea; green"
    assert len(sections[0].text.split("\n")) == 50
    assert sections[2].text.split("\n")[-1] == "name: Bob"


def test_csv_extra_cells_and_comma_dialect(tmp_path: Path) -> None:
    text = 'tea,price\n"Green, loose",4.20,extra\n'
    _, sections = load_file(write(tmp_path / "teas.csv", text))
    assert sections[0].text == "tea: Green, loose; price: 4.20; column 3: extra"


def test_csv_without_data_rows(tmp_path: Path) -> None:
    expect_error(write(tmp_path / "header.csv", "a,b,c\n"), "CSV has no data rows")


def test_jsonl_records_render_as_key_value_text(tmp_path: Path) -> None:
    lines = [
        json.dumps({"q": "Shipping?", "meta": {"lang": "en", "tags": ["faq", "ship"]}, "n": None}),
        "",
        json.dumps({"q": "Returns?", "ok": True}),
    ]
    kind, sections = load_file(write(tmp_path / "faq.jsonl", "\n".join(lines)))
    assert kind == "jsonl"
    assert [(s.heading, s.text) for s in sections] == [
        ("line 1", "q: Shipping?\nmeta.lang: en\nmeta.tags: faq, ship"), ("line 3", "q: Returns?\nok: true")]


def test_jsonl_record_is_headed_by_its_title_or_id(tmp_path: Path) -> None:
    lines = [json.dumps({"_id": 42, "title": "  Tea   storage ", "text": "Keep it dry."}),
             json.dumps({"id": "faq-7", "text": "Ships in 2 days."}), json.dumps({"flag": True, "title": ""})]
    _, sections = load_file(write(tmp_path / "docs.jsonl", "\n".join(lines)))
    assert [s.heading for s in sections] == ["Tea storage", "faq-7", "line 3"]


def test_jsonl_bad_lines_are_skipped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = [json.dumps({"a": i}) for i in range(3)] + ["{broken", "not json"]
    with caplog.at_level(logging.WARNING, logger="ragloom.retrieval.loaders"):
        _, sections = load_file(write(tmp_path / "mixed.jsonl", "\n".join(lines)))
    assert [s.text for s in sections] == ["a: 0", "a: 1", "a: 2"]
    assert "skipped 2 bad JSON line(s) of 5; first at line 4" in caplog.text


def test_jsonl_all_lines_bad_reports_the_line(tmp_path: Path) -> None:
    expect_error(
        write(tmp_path / "bad.jsonl", "\n{oops\n[1,\n"), "no valid JSON lines: line 2", "and 1 more bad lines"
    )


# --- detection and discovery ----------------------------------------------------------------------------


def test_supported_suffixes_and_detection(tmp_path: Path) -> None:
    assert {".pdf", ".docx", ".html", ".md", ".txt", ".csv", ".jsonl"} <= SUPPORTED_SUFFIXES
    assert supported(Path("x/Report.PDF")) and not supported(Path("x/sheet.xlsx"))
    xhtml = b'<?xml version="1.0"?>\n<!-- saved -->\n<html xmlns="http://www.w3.org/1999/xhtml">'
    assert detect(tmp_path / "page.md", xhtml) == "html"
    docx_path = write_docx(tmp_path / "renamed.txt")
    assert detect(docx_path, docx_path.read_bytes()[:8192]) == "docx"
    assert load_file(docx_path)[0] == "docx"
    assert detect(tmp_path / "data.tsv", b"a\tb\n1\t2\n") == "csv"
