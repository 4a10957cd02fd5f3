"""Open a cited document where the citation points: a PDF page rendered with the passage
highlighted, or a text document's words around the chunk with the chunk marked.

Only files the collection's manifest lists are opened (a trace or a request names a source; it
must never become a way to read any file on the server). A queued upload is read from the shared
database. PDF pages are drawn by pdfium (pypdfium2, already the PDF loader's engine), the passage
found by pdfium's own text search, line by line, so that the boxes are where the words are.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ragloom.core.errors import RagloomError
from ragloom.core.settings import Settings
from ragloom.retrieval.uploads import UPLOAD_SCHEME, UploadStore, path_inside, safe_filename

RENDER_SCALE = 1.6  # ~115 dpi: readable, and a page stays well under 1 MB as PNG
_CONTEXT_CHARS = 1200  # of a text document shown on each side of the chunk
_MIN_FRAGMENT = 12  # shorter lines match too much of a page to be a highlight


@dataclass(frozen=True)
class PageImage:
    png: bytes
    page: int
    pages: int
    highlighted: int  # boxes drawn; 0: the passage was not found on this page


@dataclass(frozen=True)
class TextView:
    before: str
    passage: str
    after: str
    found: bool


@contextmanager
def opened_source(settings: Settings, collection: str, source: str) -> Iterator[Path]:
    """A readable path for ``source`` of ``collection``, if the collection's manifest lists it."""
    from ragloom.retrieval.manifest import open_manifest

    manifest = open_manifest(settings, collection, create=False)
    if manifest is None or manifest.get(source) is None:
        raise RagloomError(f"'{_shown(source)}' is not a document of collection '{collection}'",
                           fix="open documents from a citation or the collection's list")
    if not source.startswith(UPLOAD_SCHEME):
        path = Path(source)
        if not path.is_file():
            raise RagloomError(f"'{_shown(source)}' is no longer on the server",
                               fix="ingest it again (or `ragloom ingest --sync`)")
        yield path
        return
    name = source.removeprefix(UPLOAD_SCHEME)
    local = settings.home / "uploads" / safe_filename(collection)
    if (local / name).is_file():
        yield path_inside(local, name)
        return
    if not settings.database:
        raise RagloomError(f"the upload '{name}' is not stored here", fix="upload it again")
    with tempfile.TemporaryDirectory() as tmp:
        written = UploadStore.shared(settings).write_to(collection, [name], Path(tmp))
        if not written:
            raise RagloomError(f"the upload '{name}' is no longer stored", fix="upload it again")
        yield written[0]


def _shown(source: str) -> str:
    return source.removeprefix(UPLOAD_SCHEME).rsplit("/", 1)[-1]


def _fragments(passage: str) -> list[str]:
    """The passage's lines (and long lines' sentences), as pdfium's search can match them."""
    found = []
    for line in passage.splitlines():
        for part in re.split(r"(?<=[.!?])\s+", line.strip()):
            part = " ".join(part.split())
            if len(part) >= _MIN_FRAGMENT:
                found.append(part)
    return found


def render_pdf_page(path: Path, page: int, passage: str, scale: float = RENDER_SCALE
                    ) -> PageImage:
    """Page ``page`` (1-based) of the PDF as PNG, with every line of ``passage`` found on it
    under a translucent yellow box."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        if not 1 <= page <= len(pdf):
            raise RagloomError(f"{path.name} has no page {page} (it has {len(pdf)})",
                               fix="the document changed since it was ingested: ingest it again")
        pg = pdf[page - 1]
        height = pg.get_height()
        image = pg.render(scale=scale).to_pil().convert("RGBA")
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        text = pg.get_textpage()
        boxes = 0
        for fragment in _fragments(passage):
            search = text.search(fragment, match_case=False, match_whole_word=False)
            while (hit := search.get_next()) is not None:
                start, count = hit
                for left, bottom, right, top in _line_boxes(text, start, count):
                    draw.rectangle([left * scale - 2, (height - top) * scale - 2,
                                    right * scale + 2, (height - bottom) * scale + 2],
                                   fill=(255, 214, 0, 90), outline=(230, 160, 0, 200))
                    boxes += 1
        out = io.BytesIO()
        Image.alpha_composite(image, overlay).convert("RGB").save(out, "PNG", optimize=True)
        return PageImage(out.getvalue(), page, len(pdf), boxes)
    finally:
        pdf.close()


def _line_boxes(text: object, start: int, count: int) -> list[tuple[float, float, float, float]]:
    """One box per text line of the match (a match that wraps gets two)."""
    lines: list[list[float]] = []
    for i in range(start, start + count):
        left, bottom, right, top = text.get_charbox(i)  # type: ignore[attr-defined]
        if right <= left or top <= bottom:  # spaces and line breaks have flat boxes
            continue
        overlap = min(top, lines[-1][3]) - max(bottom, lines[-1][1]) if lines else 0.0
        if lines and overlap > (top - bottom) * 0.5:  # the same text line
            box = lines[-1]
            box[0], box[2], box[3] = min(box[0], left), max(box[2], right), max(box[3], top)
            box[1] = min(box[1], bottom)
        else:
            lines.append([left, bottom, right, top])
    return [(b[0], b[1], b[2], b[3]) for b in lines]


def text_view(path: Path, chunk: str) -> TextView:
    """The document's text around ``chunk`` (as the loader read it)."""
    from ragloom.retrieval.loaders import load_file

    sections = load_file(path)[1]
    whole = "\n\n".join(s.text for s in sections)
    at = whole.find(chunk)
    if at < 0:  # chunking may have normalised spaces: look for its first words
        head = " ".join(chunk.split()[:8])
        at = " ".join(whole.split()).find(head) if head else -1
        flat = " ".join(whole.split())
        if at < 0:
            return TextView("", chunk, "", False)
        whole, chunk = flat, flat[at:at + len(" ".join(chunk.split()))]
    end = at + len(chunk)
    return TextView(whole[max(0, at - _CONTEXT_CHARS):at], chunk,
                    whole[end:end + _CONTEXT_CHARS], True)
