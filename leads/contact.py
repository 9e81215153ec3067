"""Normalise email addresses and phone numbers, and hash them per platform rule.

Pure functions: reference/export-formats.md §1.7 (Microsoft) and §4.2 (Google) give the
rules, which differ, so each platform has its own email normaliser.
"""

import hashlib
import re
import unicodedata

import phonenumbers

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


MAX_WORDS = 20  # words of a name and company kept for search
MAX_WORD = 100


def search_words(*texts: str | None) -> list[str]:
    """Return the words staff can find a lead by: lowercase, without accents, deduplicated.

    "José Álvarez-Núñez" gives "jose", "alvarez", "nunez": a search for "jose" or "alv"
    finds it whatever the accents and case typed.
    """
    words = []
    for text in texts:
        plain = unicodedata.normalize("NFKD", text or "")
        plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
        words += [word[:MAX_WORD] for word in re.split(r"[\W_]+", plain) if word]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _split(email: str) -> tuple[str, str] | None:
    local, at, domain = re.sub(r"\s+", "", email).lower().rpartition("@")
    return (local, domain) if at and local and domain else None


def google_email(email: str) -> str | None:
    """Normalise an email Google's way: dots and +suffix go only for Gmail addresses."""
    parts = _split(email)
    if parts is None:
        return None
    local, domain = parts
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


def microsoft_email(email: str) -> str | None:
    """Normalise an email Microsoft's way: +suffix, dots and accents go for every domain."""
    parts = _split(email)
    if parts is None:
        return None
    local, domain = parts
    local = local.split("+", 1)[0].replace(".", "")
    decomposed = unicodedata.normalize("NFKD", f"{local}@{domain}")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    local, _, domain = plain.rpartition("@")
    if not local or "." not in domain or plain.startswith(".") or plain.endswith("."):
        return None
    return plain


def e164_phone(phone: str, country: str | None) -> str | None:
    """Return the phone number in E.164, reading national numbers in the given country."""
    text = phone.strip()
    if text.startswith("00"):
        text = "+" + text[2:]  # the international prefix of most countries
    try:
        number = phonenumbers.parse(text, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_hashes(email: str | None) -> dict[str, str | None]:
    """Return the email's SHA-256 for Google and for Microsoft."""
    google = google_email(email) if email else None
    microsoft = microsoft_email(email) if email else None
    return {
        "email_sha256_google": sha256_hex(google) if google else None,
        "email_sha256_microsoft": sha256_hex(microsoft) if microsoft else None,
    }
