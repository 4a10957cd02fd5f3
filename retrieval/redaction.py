"""Optional ingest-time PII redaction (setting ``ragloom.retrieval.redact_pii``).

Each kind is found by pattern and, where the identifier has one, confirmed by its checksum, so
that ordinary numbers are left alone:

- ``iban``: ISO 13616, 15-34 characters, check digits by ISO 7064 mod-97 (must leave 1).
- ``card``: 13-19 digits (spaces or dashes allowed), Luhn checksum.
- ``us_ssn``: ``AAA-GG-SSSS`` with the SSA's rules (area not 000, 666 or 9xx; group not 00;
  serial not 0000). SSNs have no checksum.
- ``es_dni``: Spanish DNI/NIE, 8 digits (NIE: X/Y/Z + 7) and a control letter (number mod 23).
- ``email``: addresses with a dotted domain.
- ``phone``: 9-15 digits in the usual groupings, optionally ``+CC`` and ``(area)``; ISO dates
  and times are not phones.

Each match becomes ``[REDACTED:KIND]``; the counts per kind are returned (and recorded by ingestion
in the chunk metadata and the ingest report).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

from ragloom.retrieval.types import Chunk, Section

PLACEHOLDER = "[REDACTED:{}]"
_PLACEHOLDER = re.compile(r"\[REDACTED:([a-z_]+)\]")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" \
        and serial != "0000"


def dni_ok(value: str) -> bool:
    value = value.upper().replace("-", "")
    body, letter = value[:-1], value[-1]
    body = body.replace("X", "0", 1).replace("Y", "1", 1).replace("Z", "2", 1) \
        if body[0] in "XYZ" else body
    return body.isdigit() and _DNI_LETTERS[int(body) % 23] == letter


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _phone_ok(match: str) -> bool:
    digits = _digits(match)
    if re.fullmatch(r"\d{3}-\d{2}-\d{4}", match):
        return False  # SSN-shaped (and refused by the SSN rules): not a phone either
    if not 9 <= len(digits) <= 15:
        return False
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}[:.]\d{2}.*)?", match.strip()):
        return False  # an ISO date
    return match.lstrip().startswith(("+", "(")) or len(re.findall(r"\d+", match)) >= 3 \
        or len(digits) >= 10


# (kind, pattern, check on the matched text) — applied in this order.
_RULES: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]]] = [
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b"),
     lambda m: iban_ok(m.group(0))),
    ("card", re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"),
     lambda m: luhn_ok(_digits(m.group(0)))),
    ("us_ssn", re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])"),
     lambda m: ssn_ok(m.group(1), m.group(2), m.group(3))),
    ("es_dni", re.compile(r"\b(?:\d{8}|[XYZxyz]\d{7})-?[A-Za-z]\b"), lambda m: dni_ok(m.group(0))),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
     lambda m: True),
    ("phone", re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}"
                         r"(?:[ .-]\d{2,5}){1,4}(?![\w-])"), lambda m: _phone_ok(m.group(0))),
]


def redact(text: str) -> tuple[str, Counter[str]]:
    """The text with every confirmed identifier replaced, and how many of each kind."""
    found: Counter[str] = Counter()
    for kind, pattern, ok in _RULES:
        def swap(m: re.Match[str], kind: str = kind, ok=ok) -> str:  # type: ignore[no-untyped-def]
            if not ok(m):
                return m.group(0)
            found[kind] += 1
            return PLACEHOLDER.format(kind)

        text = pattern.sub(swap, text)
    return text, found


def placeholders(text: str) -> Counter[str]:
    """Redactions visible in a (chunk) text, by kind."""
    return Counter(_PLACEHOLDER.findall(text))


def redact_sections(sections: list[Section]) -> tuple[list[Section], Counter[str]]:
    """Redact loaded sections before chunking (an identifier is never split across chunks)."""
    total: Counter[str] = Counter()
    out = []
    for section in sections:
        text, found = redact(section.text)
        total.update(found)
        out.append(section.model_copy(update={"text": text}) if found else section)
    return out, total


def mark_chunks(chunks: list[Chunk]) -> None:
    """Record in each chunk's metadata how many identifiers of each kind were redacted in it."""
    for chunk in chunks:
        for kind, n in placeholders(chunk.text).items():
            chunk.metadata[f"redacted_{kind}"] = n
