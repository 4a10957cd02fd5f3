"""Turn files into text sections, keeping page numbers and heading paths where a format has them.

``load_file(path)`` returns ``(kind, sections)``: the loader kind (see ``ragloom.retrieval.formats.KINDS``,
chosen by content as well as extension) and the file's sections:

- pdf: one section per page (pypdfium2), cleaned by ``ragloom.retrieval.cleaning``; ``page`` is 1-based.
- docx, html, markdown: one section per heading (levels 1-3), ``heading`` = "Intro > Scope";
  DOCX and HTML tables become lines of " | "-joined cells.
- text: one section. csv: ``ROWS_PER_SECTION`` rows per section, each rendered as "column: value"
  text. jsonl: one section per record ("key: value" lines), headed by its title, name or id when it
  has one, so a chunk never mixes two records.

Every failure is an ``IngestError`` naming the file, the reason and a fix; no library exception
escapes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ragloom.core.errors import IngestError
from ragloom.retrieval.cleaning import clean_pages
from ragloom.retrieval.containers import ArchiveLimits, check_zip
from ragloom.retrieval.formats import HEAD_BYTES, SUPPORTED_SUFFIXES, decode_text, detect, supported
from ragloom.retrieval.html_hidden import drop_hidden
from ragloom.retrieval.pdfstreams import check_pdf
from ragloom.retrieval.tabular import ROWS_PER_SECTION, read_csv, read_jsonl
from ragloom.retrieval.types import Section

__all__ = ["SUPPORTED_SUFFIXES", "ROWS_PER_SECTION", "load_file", "supported"]

log = logging.getLogger(__name__)

_MB = 1024 * 1024
_BLANK_RUNS = re.compile(r"\n{3,}")
_REEXPORT = "open it in its usual application and re-export it, or remove it from the folder"

Reader = Callable[[Path, int | None], list[Section]]


def _error(path: Path, what: str, fix: str) -> IngestError:
    return IngestError(what, subject=str(path), fix=fix)


# --- sections split at headings (DOCX, HTML, Markdown) -------------------------------------------


class _Outline:
    """Collects lines into sections, starting a new section at each heading of level 1-3."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []
        self._lines: list[str] = []
        self._has_body = False
        self.sections: list[Section] = []

    def heading(self, level: int, title: str) -> None:
        self._flush()
        self._path = [(lvl, name) for lvl, name in self._path if lvl < level] + [(level, title)]
        self._lines = [title]

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._has_body = self._has_body or bool(line.strip())

    def _flush(self) -> None:
        text = _BLANK_RUNS.sub("\n\n", "\n".join(self._lines)).strip()
        if self._has_body and text:
            heading = " > ".join(name for _, name in self._path) or None
            self.sections.append(Section(text=text, heading=heading))
        self._lines, self._has_body = [], False

    def finish(self) -> list[Section]:
        self._flush()
        return self.sections


# --- PDF -------------------------------------------------------------------------------------------


def _open_pdf(path: Path) -> Any:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            fix = "save a copy without the password (e.g. print to PDF) and ingest that"
            raise _error(path, "encrypted PDF: remove the password", fix) from exc
        reason = re.sub(r"^Failed to load document \((.*)\)\.?$", r"\1", str(exc))  # "PDFium: ..."
        fix = f"download it again or {_REEXPORT}"
        raise _error(path, f"damaged or truncated PDF ({reason})", fix) from exc


def _pdf_page_texts(path: Path, max_pages: int | None) -> list[str]:
    import pypdfium2 as pdfium

    pdf = _open_pdf(path)
    try:
        count = len(pdf)
        if max_pages is not None and count > max_pages:
            what = f"PDF has {count} pages, more than the limit of {max_pages}"
            raise _error(path, what, "raise retrieval.max_pages or split the PDF")
        texts, broken = [], []
        for index in range(count):
            try:
                page = pdf[index]
                textpage = page.get_textpage()
                texts.append(textpage.get_text_bounded())
                textpage.close()
                page.close()
            except pdfium.PdfiumError:
                broken.append(index + 1)
                texts.append("")
        if broken and len(broken) == count:
            raise _error(path, f"damaged PDF: none of its {count} pages can be read", _REEXPORT)
        if broken:
            log.warning("%s: skipped %d unreadable PDF page(s): %s", path, len(broken), broken[:20])
        return texts
    finally:
        pdf.close()


def read_pdf(path: Path, max_pages: int | None = None) -> list[Section]:
    texts = _pdf_page_texts(path, max_pages)
    if not texts:
        raise _error(path, "PDF has no pages", _REEXPORT)
    sections = [
        Section(text=text, page=number) for number, text in enumerate(clean_pages(texts), start=1) if text
    ]
    if not sections:
        raise _error(
            path,
            f"no text layer: scanned PDF needs OCR ({len(texts)} pages, no text)",
            "run OCR first (e.g. `ocrmypdf in.pdf out.pdf`) and ingest the result",
        )
    return sections


# --- DOCX ------------------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"Heading ([1-3])$")


def _docx_rows(table: Any) -> Iterator[str]:
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is reported once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            yield " | ".join(cells)


def read_docx(path: Path, max_pages: int | None = None) -> list[Section]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
    except PackageNotFoundError as exc:
        raise _error(path, f"not a readable Word document ({exc})", _REEXPORT) from exc
    outline = _Outline()
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in _docx_rows(block):
                outline.add(row)
            continue
        text = block.text.strip()
        match = _DOCX_HEADING.match(block.style.name if block.style is not None else "")
        if match and text:
            outline.heading(int(match.group(1)), text)
        elif text:
            outline.add(text)
    return outline.finish()


# --- HTML ------------------------------------------------------------------------------------------

_HTML_DROP = "script style nav noscript template svg iframe head".split()
# Blocks are set off by blank lines; line items only end their line.
_HTML_BLOCKS = (
    "p div ul ol dl table section article main header footer aside blockquote pre h4 h5 h6 figure "
    "figcaption form address hr"
).split()
_HTML_LINES = "li dt dd caption".split()
_HEADING_MARK = "\x00"
_WHITESPACE = re.compile(r"\s+")


def read_html(path: Path, max_pages: int | None = None) -> list[Section]:
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(path.read_bytes(), "html.parser")  # honours <meta charset>
    for tag in soup(_HTML_DROP):
        tag.decompose()
    if hidden := drop_hidden(soup):  # text the reader cannot see is where injections hide
        log.info("%s: %d hidden element(s) not ingested", path.name, hidden)
    for string in list(soup.find_all(string=True)):
        if type(string) is NavigableString and string.find_parent("pre") is None:
            string.replace_with(_WHITESPACE.sub(" ", string))
    for row in reversed(soup.find_all("tr")):  # inner (nested) rows first
        cells = [cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"], recursive=False)]
        row.replace_with(f"{' | '.join(cells)}\n")
    for tag in soup.find_all(["h1", "h2", "h3"]):
        tag.replace_with(f"\n{_HEADING_MARK}{tag.name[1]}{tag.get_text(' ', strip=True)}\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in soup.find_all(_HTML_LINES):
        tag.insert_after("\n")

    outline = _Outline()
    for line in soup.get_text().split("\n"):
        line = line.strip()
        if line.startswith(_HEADING_MARK) and line[1:2] in ("1", "2", "3"):
            if line[2:].strip():
                outline.heading(int(line[1]), line[2:].strip())
        else:
            outline.add(line)
    return outline.finish()


# --- text formats ----------------------------------------------------------------------------------


_MD_HEADING = re.compile(r"^ {0,3}(#{1,3})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def read_markdown(path: Path, max_pages: int | None = None) -> list[Section]:
    outline = _Outline()
    fence: str | None = None
    for line in decode_text(path, path.read_bytes()).splitlines():
        opener = _MD_FENCE.match(line)
        if opener and fence is None:
            fence = opener.group(1)
        elif opener and opener.group(1).startswith(fence or "\x00"):
            fence = None
        elif fence is None and (heading := _MD_HEADING.match(line)):
            outline.heading(len(heading.group(1)), heading.group(2).strip())
            continue
        outline.add(line.rstrip())
    return outline.finish()


def read_text(path: Path, max_pages: int | None = None) -> list[Section]:
    text = decode_text(path, path.read_bytes()).strip()
    return [Section(text=text)] if text else []


READERS: dict[str, Reader] = {
    "pdf": read_pdf,
    "docx": read_docx,
    "html": read_html,
    "markdown": read_markdown,
    "text": read_text,
    "csv": read_csv,
    "jsonl": read_jsonl,
}


# --- entry point -----------------------------------------------------------------------------------


def _check_size(path: Path, max_bytes: int | None) -> None:
    if not path.is_file():
        what = "file not found" if not path.exists() else "not a regular file"
        raise _error(path, what, "check the path")
    size = path.stat().st_size
    if size == 0:
        raise _error(path, "file is empty", "remove the empty file or write content into it")
    if max_bytes is not None and size > max_bytes:
        what = f"file is {size / _MB:.1f} MB, over the limit of {max_bytes / _MB:g} MB"
        raise _error(path, what, "raise retrieval.max_file_mb or split the file")


def load_file(
    path: Path, *, max_bytes: int | None = None, max_pages: int | None = None,
    archive: ArchiveLimits = ArchiveLimits(),  # noqa: B008  (frozen, so sharing it is safe)
) -> tuple[str, list[Section]]:
    """Load one file as ``(loader kind, sections)``; raises IngestError for anything unreadable."""
    path = Path(path)
    kind = "file"
    started = time.perf_counter()
    try:
        _check_size(path, max_bytes)
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        if head.startswith(b"PK\x03\x04"):  # before anything opens the ZIP, detection included
            check_zip(path, archive)
        kind = detect(path, head)
        if kind == "pdf":
            check_pdf(path, archive)
        sections = READERS[kind](path, max_pages)
    except IngestError:
        raise
    except Exception as exc:  # parsers raise many types for damaged files; none may escape
        raise _error(path, f"cannot read {kind}: {type(exc).__name__}: {exc}", _REEXPORT) from exc
    if not sections:
        raise _error(path, f"no text found in {kind} file", "check that the file has readable text")
    elapsed = time.perf_counter() - started
    log.debug("loaded %s as %s: %d sections in %.2fs", path, kind, len(sections), elapsed)
    return kind, sections
