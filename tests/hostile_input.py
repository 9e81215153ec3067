"""Hypothesis strategies for hostile input: bodies, content types, encodings, headers.

Field names come from the real registry (capture/params.py) and LeadSchema, mixed with
garbage; values mix the ones each rule turns on with any Unicode, surrogates and NUL included.
"""

import json
from typing import NamedTuple
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from capture.params import CLICK_ID_PARAMS, PARAMS
from leads.schemas import LeadSchema

SHOP = "https://shop.example"
MSCLKID = "f894f652ea334e739002f7167ab8f8e3"
MAX_BODY = 4096  # small, so that random bodies reach 413 too
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class Post(NamedTuple):
    """One request: its body, its Content-Type (None: no header) and other headers."""

    body: bytes
    content_type: str | None
    headers: dict


PARAM_NAMES = [p.name for p in PARAMS]
CLICK_ID_NAMES = [p.name for p in CLICK_ID_PARAMS]
FIELD_NAMES = sorted({*LeadSchema().fields, *PARAM_NAMES, "_next", "_gotcha", "submission_id"})
TRICKY_VALUES = [
    "", " ", "null", "undefined", "a@example.com", "+1 425 555 0100", "(425) 555-1234",
    MSCLKID, "-Cj0KCQjw_AbC-123", "granted", "DENIED", "us", "SE", f"{SHOP}/thanks",
    "javascript:alert(1)", "//evil.example/", "\x00", "a\x00b", "\u202egnp.exe", "\ud800",
    "\ufeff", "İ" * 240 + "@example.com", "x" * 600, "1e999",
]  # fmt: skip
CONTENT_TYPES = [
    None, "", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-7",
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=other",
    "application/json", "application/json; charset=latin-1", "application/json; charset=utf-16",
    "application/vnd.api+json", "text/plain; charset=utf-7", "application/xml", "*/*", ";;;=",
    "multipart/mixed; boundary=fuzz", "application/x-www-form-urlencoded\x00json",
]  # fmt: skip
ENCODINGS = ["utf-8", "utf-16", "utf-32", "latin-1", "utf-7", "cp1252"]

any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=40)
names = st.one_of(
    st.sampled_from(FIELD_NAMES), st.sampled_from(FIELD_NAMES).map(str.upper), any_text
)
texts = st.one_of(st.sampled_from(TRICKY_VALUES), any_text)
contacts = st.fixed_dictionaries(
    {},
    optional={
        "email": st.one_of(st.just("jane@example.com"), st.emails(), texts),
        "phone": st.one_of(st.just("+14255550100"), texts),
    },
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        texts,
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
# Unclosed: the parser recurses before it reaches the end.
deep_json = st.integers(min_value=30, max_value=4000).map(lambda n: "[" * n)
raw_json = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, '"\\ud800"'])


@st.composite
def field_pairs(draw, values=texts) -> list[tuple[str, object]]:
    """Draw form fields: a whole lead among odd fields, or any names with or without contact."""
    if draw(st.booleans()):
        odd = st.one_of(any_text, st.sampled_from(PARAM_NAMES))
        pairs = draw(st.lists(st.tuples(odd, values), max_size=5))
        contact = draw(st.sampled_from([{"email": "jane@example.com"}, {"phone": "+14255550100"},
                                        {"email": "Jane.Doe+x@Example.COM", "phone": "425 555 0100"}]))  # fmt: skip
    else:
        pairs = draw(st.lists(st.tuples(names, values), max_size=6))
        contact = draw(contacts)
    return draw(st.permutations(pairs + list(contact.items())))


@st.composite
def click_reports(draw) -> list[tuple[str, str]]:
    """Draw what the capture script reports: click IDs, mostly valid, and a landing URL."""
    report = []
    for name in draw(st.lists(st.sampled_from(CLICK_ID_NAMES), min_size=1, max_size=3)):
        valid = MSCLKID if name == "msclkid" else "-Cj0KCQjw_AbC-123"
        value = draw(st.one_of(st.just(valid), st.just(valid), texts))
        report.append((draw(st.sampled_from([name, name.upper()])), value))
    if draw(st.booleans()):
        report.append(("landing_url", draw(st.one_of(st.just(f"{SHOP}/offer?a=1"), texts))))
    return report


def utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate makes invalid UTF-8


def urlencoded(pairs) -> bytes:
    """Encode fields as a form does, percent-escaping every byte."""
    return b"&".join(
        quote_from_bytes(utf8(str(n))).encode() + b"=" + quote_from_bytes(utf8(str(v))).encode()
        for n, v in pairs
    )


def multipart(pairs, boundary: str, closed: bool) -> bytes:
    """Encode fields as multipart/form-data, optionally without the closing boundary."""
    parts = [
        b"--" + utf8(boundary) + b'\r\nContent-Disposition: form-data; name="'
        + utf8(str(n)) + b'"\r\n\r\n' + utf8(str(v)) + b"\r\n"
        for n, v in pairs
    ]  # fmt: skip
    return b"".join(parts) + (b"--" + utf8(boundary) + b"--\r\n" if closed else b"")


@st.composite
def bodies(draw) -> tuple[bytes, str | None]:
    """Draw a body and the content type it was made for."""
    kinds = ["form", "multipart", "json", "clicks", "json-value", "bytes", "text"]
    kind = draw(st.sampled_from(kinds))
    if kind == "form":
        return urlencoded(draw(field_pairs())), "application/x-www-form-urlencoded"
    if kind == "clicks":
        report = draw(click_reports())
        if draw(st.booleans()):
            return urlencoded(report), "application/x-www-form-urlencoded"
        return json.dumps(dict(report)).encode(), "application/json"
    if kind == "multipart":
        boundary = draw(st.sampled_from(["fuzz", "", "--", "a" * 80, "\x00"]))
        body = multipart(draw(field_pairs()), boundary, draw(st.booleans()))
        return body, f"multipart/form-data; boundary={boundary}"
    if kind == "json":
        document = dict(draw(field_pairs(values=json_values)))
        encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32"]))
        text = json.dumps(document, ensure_ascii=draw(st.booleans()))
        return text.encode(encoding, "surrogatepass"), "application/json"
    if kind == "json-value":
        text = draw(st.one_of(json_values.map(json.dumps), deep_json, raw_json))
        return text.encode("utf-8", "surrogatepass"), "application/json"
    if kind == "bytes":
        return draw(st.one_of(st.binary(max_size=200), st.just(b"x" * (MAX_BODY + 1)))), None
    text = draw(any_text)
    return text.encode(draw(st.sampled_from(ENCODINGS)), "replace"), "text/plain"


header_text = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=30),
    st.integers(min_value=1, max_value=10_000).map(lambda n: "k" * n),
)
ORIGINS = [SHOP, SHOP + "/", "https://SHOP.example"]
HOSTILE_ORIGINS = ["null", "https://evil.example", "http://a\x00b"]
header_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9-]{0,300}\Z")
known_headers = st.fixed_dictionaries(
    {},
    optional={
        "Origin": st.one_of(
            *[st.sampled_from(ORIGINS)] * 3, st.sampled_from(HOSTILE_ORIGINS), header_text
        ),
        "Idempotency-Key": header_text,
        "Accept": st.one_of(st.sampled_from(["application/json", "text/html", "*/*"]), header_text),
        "Referer": st.one_of(st.just(SHOP + "/offer"), header_text),
        "User-Agent": header_text,
        "X-Forwarded-For": header_text,
        "Accept-Language": header_text,
    },
)
headers = st.builds(
    lambda odd, known: {**odd, **known},
    st.dictionaries(header_names, header_text, max_size=3),
    known_headers,
)


@st.composite
def posts(draw) -> Post:
    """Draw a POST: a body, a content type that may not match it, and random headers."""
    body, made_for = draw(bodies())
    matched = draw(st.sampled_from([True, True, True, False]))
    content_type = made_for if matched else draw(st.sampled_from(CONTENT_TYPES))
    return Post(body, content_type, draw(headers))
