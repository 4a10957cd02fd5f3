"""Refuse PDFs whose compressed streams would inflate past set limits, before PDFium opens them.

PDFium inflates a whole content stream into memory when it reads a page: a 1 MB PDF whose one
FlateDecode stream inflates to 1 GiB took text extraction to 2.1 GB. ``check_pdf`` inflates each
FlateDecode stream once into a counter (output is discarded, at most 1 MB at a time) and refuses
the file when one stream inflates past ``max_unpacked_mb`` or more than ``max_compression_ratio``:1.
The limits apply per stream because PDFium reads one page at a time. Image streams are not checked:
text extraction never decodes them.
"""

from __future__ import annotations

import mmap
import re
import zlib
from pathlib import Path

from ragloom.retrieval.containers import RATIO_FLOOR, ArchiveLimits, refuse

_MB = 1024 * 1024
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_DICT_BACK = 4096  # a stream's dictionary is the text between its "N 0 obj" and "stream"
_READ = 64 * 1024


def _inflated(data: mmap.mmap, start: int, cap: int) -> tuple[int, int]:
    """(bytes the zlib stream at ``start`` inflates to, capped just past ``cap``; compressed
    bytes it used). Damaged data just ends the count: PDFium reports damage itself."""
    inflater = zlib.decompressobj()
    pos = start
    size = 0
    pending = b""
    try:
        while not inflater.eof and size <= cap:
            if not pending:
                pending = data[pos : pos + _READ]
                pos += len(pending)
                if not pending:
                    break
            size += len(inflater.decompress(pending, _MB))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass
    used = pos - start - len(pending) - len(inflater.unused_data)
    return size, max(used, 1)


def _flate_streams(data: mmap.mmap) -> list[int]:
    """Offsets of the data of FlateDecode streams that are not images."""
    starts = []
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - _DICT_BACK) : match.start()]
        head = head[head.rfind(b"obj") + 3 :]
        if b"/FlateDecode" in head and b"/Image" not in head:
            starts.append(match.end())
    return starts


def check_pdf(path: Path, limits: ArchiveLimits) -> None:
    """Raise IngestError if a FlateDecode stream of the PDF at ``path`` exceeds ``limits``."""
    cap = int(limits.max_unpacked_mb * _MB)
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for start in _flate_streams(data):
            size, used = _inflated(data, start, cap)
            if size > cap:
                raise refuse(path, f"a compressed stream at byte {start} inflates to over "
                             f"{limits.max_unpacked_mb:g} MB", "max_unpacked_mb")
            if size > RATIO_FLOOR and size / used > limits.max_ratio:
                raise refuse(path, f"a stream at byte {start} is compressed {size / used:,.0f}:1 "
                             f"({size / _MB:,.0f} MB from {used / 1024:,.0f} KB), over the limit "
                             f"of {limits.max_ratio:g}:1", "max_compression_ratio")
