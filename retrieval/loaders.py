"""Turn files into text sections, keeping page numbers where the format has them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.errors import IngestError
from retrieval.types import Section

Loader = Callable[[Path], list[Section]]


def load_text(path: Path) -> list[Section]:
    try:
        return [Section(text=path.read_text(encoding="utf-8"))]
    except UnicodeDecodeError as exc:
        raise IngestError("file is not valid UTF-8 text", subject=str(path),
                          fix="convert it to UTF-8 or remove it") from exc


def load_pdf(path: Path) -> list[Section]:
    from llama_index.readers.file import PDFReader

    try:
        docs = PDFReader(return_full_document=False).load_data(path)
    except Exception as exc:  # pypdf raises many types for damaged files
        raise IngestError(f"cannot read PDF: {exc}", subject=str(path),
                          fix="check that the file is a readable, unencrypted PDF") from exc
    sections = []
    for number, doc in enumerate(docs, start=1):
        label = doc.metadata.get("page_label")
        page = int(label) if str(label).isdigit() else number
        sections.append(Section(text=doc.text, page=page))
    return sections


LOADERS: dict[str, Loader] = {".txt": load_text, ".md": load_text, ".markdown": load_text,
                              ".pdf": load_pdf}


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def load_file(path: Path) -> list[Section]:
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError("unsupported file type", subject=str(path),
                          fix=f"supported: {', '.join(sorted(LOADERS))}")
    return loader(path)
