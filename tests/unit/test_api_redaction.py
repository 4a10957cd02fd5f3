"""PII redaction at ingest: checksums, patterns, what is left alone, and the ingest hook."""

from __future__ import annotations

import pytest

from ragloom.retrieval.collections import Collection
from ragloom.retrieval.ingest import ingest
from ragloom.retrieval.redaction import dni_ok, iban_ok, luhn_ok, redact, ssn_ok
from tests.fakes import BagOfWordsEmbeddings


@pytest.mark.parametrize("number, ok", [
    ("4111111111111111", True), ("4111111111111112", False), ("5555555555554444", True),
    ("378282246310005", True), ("378282246310006", False), ("79927398713", True),
])
def test_luhn(number: str, ok: bool) -> None:
    assert luhn_ok(number) is ok


@pytest.mark.parametrize("iban, ok", [
    ("GB82 WEST 1234 5698 7654 32", True), ("DE89370400440532013000", True),
    ("FR1420041010050500013M02606", True), ("GB82WEST12345698765433", False),
    ("DE89370400440532013001", False), ("XX00", False),
])
def test_iban_mod97(iban: str, ok: bool) -> None:
    assert iban_ok(iban) is ok


def test_ssn_rules_and_dni_letter() -> None:
    assert ssn_ok("123", "45", "6789")
    assert not any([ssn_ok("000", "12", "3456"), ssn_ok("666", "12", "3456"),
                    ssn_ok("912", "12", "3456"), ssn_ok("123", "00", "3456"),
                    ssn_ok("123", "45", "0000")])
    assert dni_ok("12345678Z") and not dni_ok("12345678A")
    assert dni_ok("X1234567L") and not dni_ok("X1234567T")


def test_redact_finds_each_kind_and_counts_it() -> None:
    text = ("Mail jane.doe@example.co.uk or call +1 (415) 555-0132 or 020 7946 0958. "
            "Card 4111 1111 1111 1111. IBAN GB82 WEST 1234 5698 7654 32. SSN 123-45-6789. "
            "DNI 12345678Z.")
    clean, found = redact(text)
    assert dict(found) == {"email": 1, "phone": 2, "card": 1, "iban": 1, "us_ssn": 1,
                           "es_dni": 1}
    for secret in ("jane.doe", "555-0132", "7946", "4111", "WEST", "6789", "12345678Z"):
        assert secret not in clean
    assert "[REDACTED:card]" in clean and clean.startswith("Mail [REDACTED:email] or call")


def test_ordinary_numbers_and_failed_checksums_are_left_alone() -> None:
    text = ("On 2024-01-15 we sold 1,234 units at 12.50 each (order 12345, invoice 2023-0042). "
            "Card 4111 1111 1111 1112; IBAN GB82WEST12345698765433; SSN 666-12-3456; "
            "DNI 12345678A; version 1.2.3; call at 10:30.")
    clean, found = redact(text)
    assert clean == text and not found


def test_ingest_redacts_records_counts_in_chunks_and_report(settings, tmp_path) -> None:
    doc = tmp_path / "people.md"
    doc.write_text("# Contacts\n\nReach Ana at ana@example.org or +34 912 345 678; her DNI is "
                   "12345678Z and she pays with 5555 5555 5555 4444. The office opens at nine.\n")
    settings.retrieval.redact_pii = True
    col = Collection(settings, "pii", BagOfWordsEmbeddings())
    report = ingest([doc], col, workers=1)
    assert report.redacted == {"email": 1, "phone": 1, "es_dni": 1, "card": 1}
    (_, text, meta), = list(col.store.records())
    assert "ana@example.org" not in text and "5555" not in text and "office opens" in text
    assert meta["redacted_email"] == 1 and meta["redacted_card"] == 1


def test_redaction_is_off_by_default(settings, tmp_path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Write to ana@example.org about the kettle, which boils water quickly enough.\n")
    col = Collection(settings, "plain", BagOfWordsEmbeddings())
    assert ingest([doc], col, workers=1).redacted == {}
    assert "ana@example.org" in next(col.store.records())[1]
