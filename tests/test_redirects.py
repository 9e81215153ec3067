"""Where a form post may redirect: only to allowed origins, never elsewhere."""

import pytest

from leads.redirects import safe_next_url

ALLOWED = ("https://shop.example", "http://localhost:8080")


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("https://shop.example/thanks", "https://shop.example/thanks"),
        ("https://SHOP.example/thanks?x=1#top", "https://SHOP.example/thanks?x=1#top"),
        ("https://shop.example:443/thanks", "https://shop.example:443/thanks"),
        ("http://localhost:8080/ok", "http://localhost:8080/ok"),
        ("http://shop.example/thanks", None),
        ("https://shop.example:8443/thanks", None),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("/thanks", None),
        ("javascript:alert(1)", None),
        ("JavaScript:alert(1)//https://shop.example", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("https:%2F%2Fevil.example", None),
        ("%2F%2Fevil.example", None),
        ("https%3A%2F%2Fevil.example", None),
        ("https://shop.example@evil.example/", None),
        ("https://shop.example%40evil.example/", None),
        ("https://evil.example\\@shop.example/", None),
        ("https:\\\\evil.example", None),
        ("/\\evil.example", None),
        ("https://shop.example.evil.example/", None),
        (" https://evil.example", None),
        ("https://shop.example/\nLocation: https://evil.example", None),
        ("https://shop.example:99999/", None),
        ("ftp://shop.example/", None),
        ("", None),
        (None, None),
    ],
)
def test_next_url_must_be_on_an_allowed_origin(next_url, expected):
    assert safe_next_url(next_url, ALLOWED, None) == expected


@pytest.mark.parametrize(
    ("next_url", "post_origin", "expected"),
    [
        ("https://a.example/t", "https://a.example", "https://a.example/t"),
        ("https://a.example/t", "https://a.example/form?x=1", "https://a.example/t"),
        ("https://b.example/t", "https://a.example", None),
        ("https://a.example/t", None, None),
        ("https://a.example/t", "null", None),
    ],
)
def test_without_allowed_origins_only_the_posting_origin_is_allowed(
    next_url, post_origin, expected
):
    assert safe_next_url(next_url, (), post_origin) == expected
