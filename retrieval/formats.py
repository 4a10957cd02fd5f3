"""Decide what kind of document a file is, from its content as well as its name.

``detect(path, head)`` returns one of ``KINDS``. Strong content signatures (``%PDF``, a ZIP holding
``word/document.xml``, a leading ``<!doctype html``/``<html``) win over the extension, so an HTML
page saved as ``.txt`` is read as HTML. A file whose name promises a binary format it does not have
(a ``.pdf`` that is really HTML) and binary junk under a text extension are refused with an
``IngestError`` that says what the content looks like.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

from ragloom.core.errors import IngestError

KINDS = ("pdf", "docx", "html", "markdown", "text", "csv", "jsonl")

SUFFIX_KINDS: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(SUFFIX_KINDS)

# How many leading bytes ``detect`` needs to see.
HEAD_BYTES = 8192

_LABELS = {"pdf": "a PDF", "docx": "a Word .docx document"}

# Binary signatures we recognise only to name them in error messages.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document (.doc/.xls)"),
    (b"\x7fELF", "executable"),
    (b"MZ", "Windows executable"),
    (b"SQLite format 3\x00", "SQLite database"),
)

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def supported(path: Path) -> bool:
    """Whether folder discovery should pick up ``path`` (by extension only)."""
    return path.suffix.lower() in SUFFIX_KINDS


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return "damaged ZIP archive"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "Excel workbook"
    if "ppt/presentation.xml" in names:
        return "PowerPoint presentation"
    return "ZIP archive"


def _looks_like_html(head: bytes) -> bool:
    text = head[:1024].lstrip(codecs.BOM_UTF8).lstrip().lower()
    if text.startswith(b"<?xml"):  # XHTML: <?xml ...?> then the doctype or <html>
        text = text[text.find(b"?>") + 2 :].lstrip() if b"?>" in text else b""
    while text.startswith(b"<!--") and b"-->" in text:
        text = text[text.find(b"-->") + 3 :].lstrip()
    return text.startswith((b"<!doctype html", b"<html"))


def sniff(path: Path, head: bytes) -> str | None:
    """What the content is, judged from its bytes alone.

    Returns a kind (``pdf``, ``docx``, ``html``), a description of binary content we do not read
    (``"PNG image"``, ``"binary data"``), or None for text that has no strong signature.
    """
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    for magic, label in _MAGIC:
        if head.startswith(magic):
            return label
    if head.startswith(_UTF16_BOMS):
        return None  # UTF-16 text has NUL bytes by design
    if _looks_like_html(head):
        return "html"
    if b"\x00" in head:
        return "binary data"
    return None


def describe(content: str | None) -> str:
    """Human words for a ``sniff`` result, for error messages."""
    if content is None:
        return "plain text"
    return {"pdf": "PDF", "docx": "Word document", "html": "HTML"}.get(content, content)


def detect(path: Path, head: bytes) -> str:
    """The loader kind for ``path`` given its first ``HEAD_BYTES`` bytes; raises IngestError."""
    claimed = SUFFIX_KINDS.get(path.suffix.lower())
    content = sniff(path, head)
    if claimed in _LABELS:  # binary formats: the content must match the name
        if content == claimed:
            return claimed
        raise IngestError(
            f"not {_LABELS[claimed]} (content looks like {describe(content)})",
            subject=str(path),
            fix=f"rename the file to match its content or re-export it as a real {path.suffix} file",
        )
    if content in ("pdf", "docx", "html"):
        return content
    if content is not None:
        raise IngestError(
            f"binary content in a {path.suffix or 'suffix-less'} file (content looks like {content})",
            subject=str(path),
            fix="only PDF, DOCX and text formats can be ingested; remove the file or convert it",
        )
    if claimed is not None:
        return claimed
    if not path.suffix:
        return "text"
    raise IngestError(
        f"unsupported file type {path.suffix!r}",
        subject=str(path),
        fix=f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}",
    )


def decode_text(path: Path, data: bytes) -> str:
    """UTF-8 (or BOM-marked UTF-16) text; raises IngestError naming the first bad byte."""
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 4]
        raise IngestError(
            f"invalid {exc.encoding.upper()} text at byte offset {exc.start} ({bad!r})",
            subject=str(path),
            fix="convert the file to UTF-8 (e.g. `iconv -f latin1 -t utf-8`) or remove it",
        ) from exc
    if "\x00" in text:
        offset = data.find(b"\x00")
        raise IngestError(
            f"binary content: NUL byte at byte offset {offset}",
            subject=str(path),
            fix="only text can be read from this file type; remove or convert the file",
        )
    return text
