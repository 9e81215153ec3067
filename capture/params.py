"""The one registry of click-ID and attribution parameters, and their validation.

Capture, intake and export all read this module; the capture script gets the same
registry injected when it is served, so the browser and the server agree on every rule.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_VALUE_LENGTH = 500
EMPTY_VALUES = frozenset({"", "null", "undefined"})

MSCLKID_PATTERN = r"^[0-9A-Fa-f]{32}$"
# Google click IDs are URL-safe base64; a gclid may start with "-". The patterns are
# matched with ASCII semantics in Python, as in JavaScript.
GOOGLE_CLICK_ID_PATTERN = r"^[\w-]{1,255}$"


@dataclass(frozen=True)
class Param:
    """A query parameter the capture script keeps and intake stores."""

    name: str
    platform: str | None = None
    pattern: str | None = None

    @property
    def is_click_id(self) -> bool:
        """Tell whether the ad platforms accept this parameter as an upload key."""
        return self.pattern is not None


def _context(*names: str, platform: str | None = None) -> tuple[Param, ...]:
    return tuple(Param(name, platform) for name in names)


PARAMS: tuple[Param, ...] = (
    Param("msclkid", "microsoft", MSCLKID_PATTERN),
    Param("gclid", "google", GOOGLE_CLICK_ID_PATTERN),
    Param("gbraid", "google", GOOGLE_CLICK_ID_PATTERN),
    Param("wbraid", "google", GOOGLE_CLICK_ID_PATTERN),
    *_context("gclsrc", "dclid", "gad_source", "gad_campaignid", platform="google"),
    *_context("fbclid", "ttclid", "twclid", "li_fat_id", "ScCid", "rdt_cid", "epik"),
    *_context("qclid", "yclid", "irclickid"),
    *_context("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
    *_context("utm_id"),
)

PARAMS_BY_KEY: dict[str, Param] = {param.name.lower(): param for param in PARAMS}
CLICK_ID_PARAMS: tuple[Param, ...] = tuple(p for p in PARAMS if p.is_click_id)


def find_param(name: str) -> Param | None:
    """Return the registry entry for a parameter name, matched case-insensitively."""
    return PARAMS_BY_KEY.get(name.strip().lower())


def clean_value(value: object) -> str | None:
    """Return the trimmed value, or None when it is empty, `null` or `undefined`."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in EMPTY_VALUES else text


def is_valid(param: Param, value: str) -> bool:
    """Tell whether a cleaned value passes the parameter's rule."""
    if len(value) > MAX_VALUE_LENGTH:
        return False
    return param.pattern is None or re.fullmatch(param.pattern, value, re.ASCII) is not None


def captured_params(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Return the registry parameters among name/value pairs, keyed by canonical name.

    Later pairs win over earlier ones, as in the capture script. Values are kept
    exactly as sent (only trimmed); validity is checked separately with is_valid.
    """
    found = {}
    for name, raw in pairs:
        param = find_param(name)
        value = clean_value(raw)
        if param is not None and value is not None:
            found[param.name] = value
    return found
