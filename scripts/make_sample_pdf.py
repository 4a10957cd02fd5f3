"""Write the sample corpus PDF (a tiny, valid PDF with one page of text per section).

Run once when the sample text changes: python scripts/make_sample_pdf.py
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "ragloom" / "sample_corpus" / "tea-guide.pdf"

PAGES = [
    [
        "Loomhaven Brewing Guide",
        "",
        "Green tea: brew at 75 degrees Celsius for 2 minutes, 3 grams per 250 ml.",
        "Black tea: brew at 95 degrees Celsius for 4 minutes, 3 grams per 250 ml.",
        "Our Brackenford Oolong tastes best at 85 degrees Celsius for 3 minutes.",
        "Leaves of the Oolong can be steeped up to five times.",
    ],
    [
        "Storage",
        "",
        "Keep tea in its sealed tin, away from light, heat and strong smells.",
        "Green tea keeps its flavour for 12 months after the packing date.",
        "Black tea and Oolong keep their flavour for 24 months.",
        "The packing date is printed on the bottom of every tin.",
    ],
]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build(pages: list[list[str]]) -> bytes:
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [3 + 2 * i for i in range(n_pages)]
    font_id = 3 + 2 * n_pages
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 12 Tf", "16 TL", "72 720 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = "\n".join(ops).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_ids[i] + 1} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


if __name__ == "__main__":
    OUT.write_bytes(build(PAGES))
    print(f"wrote {OUT}")
