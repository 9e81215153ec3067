"""Email and phone normalisation against every vector in reference/data/hash_test_vectors.tsv."""

import csv
from pathlib import Path

import pytest

from leads.contact import e164_phone, google_email, microsoft_email, sha256_hex

VECTORS = Path(__file__).parent / "reference/hash_test_vectors.tsv"


def vectors(kind: str, *rules: str):
    with VECTORS.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    assert rows, f"no vectors in {VECTORS}"
    return [
        pytest.param(row["input"], row["normalized"], row["sha256_hex"], id=row["input"])
        for row in rows
        if row["kind"] == kind and row["rule"] in rules
    ]


def unquote(text: str) -> tuple[str, str | None]:
    """Split a vector input such as "'(425) 555-1234' cc=1" into value and country."""
    value, _, rest = text[1:].rpartition("'")
    country = {"cc=1": "US"}.get(rest.strip())
    return value, country


@pytest.mark.parametrize(("raw", "normalized", "digest"), vectors("email", "google_gmail_only"))
def test_google_email_vectors(raw, normalized, digest):
    assert google_email(unquote(raw)[0]) == normalized
    assert sha256_hex(normalized) == digest


@pytest.mark.parametrize(("raw", "normalized", "digest"), vectors("email", "microsoft"))
def test_microsoft_email_vectors(raw, normalized, digest):
    assert microsoft_email(unquote(raw)[0]) == normalized
    assert sha256_hex(normalized) == digest


@pytest.mark.parametrize(("raw", "normalized", "digest"), vectors("phone", "E.164 (both)"))
def test_phone_vectors(raw, normalized, digest):
    value, country = unquote(raw)
    assert e164_phone(value, country) == normalized
    assert sha256_hex(normalized) == digest


def test_all_vectors_are_used():
    total = (
        len(vectors("email", "google_gmail_only"))
        + len(vectors("email", "microsoft"))
        + len(vectors("phone", "E.164 (both)"))
    )
    assert total == 17


@pytest.mark.parametrize(
    ("phone", "country", "expected"),
    [
        ("08-123 456 78", "SE", "+46812345678"),
        ("020 7031 3000", "GB", "+442070313000"),
        ("(425) 555-1234", None, None),
        ("12", "US", None),
        ("call me", "US", None),
        ("+1 425 555 1234 ext. 9", None, "+14255551234"),
    ],
)
def test_phones_need_a_country_when_national(phone, country, expected):
    assert e164_phone(phone, country) == expected


@pytest.mark.parametrize(
    ("email", "google", "microsoft"),
    [
        ("no-at-sign", None, None),
        ("@example.com", None, None),
        ("+tag@gmail.com", None, None),
        ("a@localhost", "a@localhost", None),
        ("Ä.b+c@Example.COM", "ä.b+c@example.com", "ab@example.com"),
    ],
)
def test_unusable_emails_give_no_hash_input(email, google, microsoft):
    assert google_email(email) == google
    assert microsoft_email(email) == microsoft
