"""Decompression bombs: ZIP-based documents are size-checked before any reader opens them."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from ragloom.core.errors import IngestError
from ragloom.core.settings import RetrievalSettings
from ragloom.retrieval.containers import ArchiveLimits, check_zip
from ragloom.retrieval.loaders import load_file
from ragloom.retrieval.pdfstreams import check_pdf
from tests.pdf_builder import build_pdf
from tests.unit.test_loaders import write_docx

ROOT = Path(__file__).resolve().parents[2]
_BODY = b'<w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body></w:document>'


def write_bomb(tmp_path: Path, inflated_mb: int, name: str = "bomb.docx") -> Path:
    """A valid DOCX whose word/document.xml is padded with ``inflated_mb`` MB of spaces."""
    template = zipfile.ZipFile(write_docx(tmp_path / "template.docx"))
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in template.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info.filename, template.read(info.filename))
                continue
            xml = template.read(info.filename)
            head = xml[: xml.index(b"<w:body>")]
            with out.open(info.filename, "w", force_zip64=True) as member:
                member.write(head)
                block = b" " * (1 << 20)
                for _ in range(inflated_mb):
                    member.write(block)
                member.write(_BODY)
    return path


def test_a_bomb_is_refused_by_ratio_before_python_docx_reads_it(tmp_path: Path) -> None:
    path = write_bomb(tmp_path, 20)
    assert path.stat().st_size < 200_000
    with pytest.raises(IngestError) as info:
        load_file(path)
    message = str(info.value)
    assert "decompression bomb" in message and "word/document.xml is compressed" in message
    assert str(path) in message and "RAGLOOM_RETRIEVAL__MAX_COMPRESSION_RATIO" in message


def test_each_limit_refuses_with_its_own_setting(tmp_path: Path) -> None:
    path = write_bomb(tmp_path, 3)
    expected = r"unpacks to [\d.]+ MB \(word/document.xml: 3.0 MB\), over the limit of 2 MB"
    with pytest.raises(IngestError, match=expected + ".*MAX_UNPACKED_MB"):
        check_zip(path, ArchiveLimits(max_unpacked_mb=2))
    with pytest.raises(IngestError, match=r"\d+ archive members, over the limit of 3.*MEMBERS"):
        check_zip(path, ArchiveLimits(max_members=3))
    check_zip(path, ArchiveLimits(max_ratio=10_000))  # trusted: every limit raised, it passes
    assert load_file(path, archive=ArchiveLimits(max_ratio=10_000))[1][0].text == "Hello"


def test_many_members_are_refused_from_the_end_record(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("word/document.xml", b"<x/>")
        for i in range(60):
            out.writestr(f"junk/{i}", b"")
    with pytest.raises(IngestError, match="61 archive members"):
        load_file(path, archive=ArchiveLimits(max_members=50))


def test_an_ordinary_docx_passes_and_defaults_match_the_settings(tmp_path: Path) -> None:
    check_zip(write_docx(tmp_path / "ok.docx"), ArchiveLimits())
    assert ArchiveLimits.of(RetrievalSettings()) == ArchiveLimits()


def test_a_member_larger_than_its_header_says_is_cut_off_not_inflated(tmp_path: Path) -> None:
    path = write_bomb(tmp_path, 8)
    data = bytearray(path.read_bytes())
    # Rewrite the central directory entry of word/document.xml to claim 4 KB uncompressed
    # (ZIP64: the real sizes sit in its extra field, so patch that too).
    at = data.index(b"PK\x01\x02")
    while True:
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, at + 28)
        name = bytes(data[at + 46 : at + 46 + name_len])
        if name == b"word/document.xml":
            break
        at += 46 + name_len + extra_len + comment_len
    extra = at + 46 + name_len
    if struct.unpack_from("<L", data, at + 24)[0] == 0xFFFFFFFF:
        struct.pack_into("<Q", data, extra + 4, 4096)  # ZIP64 extra: uncompressed size first
    else:
        struct.pack_into("<L", data, at + 24, 4096)
    path.write_bytes(bytes(data))
    assert zipfile.ZipFile(path).getinfo("word/document.xml").file_size == 4096
    with pytest.raises(IngestError, match="cannot read docx|not a readable Word document"):
        load_file(path)


def write_pdf_bomb(path: Path, inflated_mb: int) -> Path:
    """A one-page PDF whose FlateDecode content stream is padded with ``inflated_mb`` MB of spaces."""
    inflater = zlib.compressobj(9)
    parts = [inflater.compress(b"BT /F1 12 Tf 72 720 Td (Hello bomb) Tj ET\n")]
    parts += [inflater.compress(b" " * (1 << 20)) for _ in range(inflated_mb)]
    stream = b"".join(parts) + inflater.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
               + b"\nendstream", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path


def test_a_pdf_stream_bomb_is_refused_and_ordinary_pdfs_pass(tmp_path: Path) -> None:
    path = write_pdf_bomb(tmp_path / "bomb.pdf", 20)
    with pytest.raises(IngestError, match=r"compressed [\d,]+:1 .*MAX_COMPRESSION_RATIO"):
        load_file(path)
    with pytest.raises(IngestError, match="inflates to over 8 MB.*MAX_UNPACKED_MB"):
        check_pdf(path, ArchiveLimits(max_unpacked_mb=8, max_ratio=10_000))
    trusted = ArchiveLimits(max_ratio=10_000)
    assert load_file(path, archive=trusted)[1][0].text == "Hello bomb"
    check_pdf(write_pdf_bomb(tmp_path / "small.pdf", 0), ArchiveLimits())
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(build_pdf([["One page of ordinary text."]]))
    assert load_file(plain)[1][0].text == "One page of ordinary text."


_MEASURE = """
import json, resource, sys
from pathlib import Path
from ragloom.retrieval.loaders import load_file
import docx, pypdfium2  # imported before the baseline: the readers' own size is not the bomb's
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_file(Path(sys.argv[1]))
    error = None
except Exception as exc:
    error = str(exc)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"error": error, "grew_kb": peak - base}))
"""


@pytest.mark.parametrize("kind", ["docx", "pdf"])
def test_a_real_size_bomb_keeps_memory_bounded(tmp_path: Path, kind: str) -> None:
    """1 GiB inflated from ~1 MB: refused, and peak memory grows by well under 100 MB (without
    the checks: 2.3 GB for the DOCX, 2.1 GB for the PDF)."""
    path = (write_bomb(tmp_path, 1024) if kind == "docx"
            else write_pdf_bomb(tmp_path / "bomb.pdf", 1024))
    assert path.stat().st_size < 3 * 2**20
    run = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], cwd=ROOT, text=True,
                         capture_output=True, timeout=120, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["error"] and "decompression bomb" in result["error"]
    assert result["grew_kb"] < 100 * 1024, result
