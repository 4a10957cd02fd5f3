"""Write the sample corpus PDF (a tiny, valid PDF with one page of text per section).

Run once when the sample text changes: python scripts/make_sample_pdf.py
"""

from __future__ import annotations

import sys
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


if __name__ == "__main__":
    sys.path.insert(0, str(OUT.parents[2]))
    from tests.pdf_builder import build_pdf

    OUT.write_bytes(build_pdf(PAGES))
    print(f"wrote {OUT}")
