"""Split a posted form into lead fields, click parameters and extra data (pure)."""

import hashlib
import json
from dataclasses import dataclass, field

from capture.params import captured_params, find_param

LEAD_FIELDS = frozenset(
    {"name", "email", "phone", "company", "message", "country", "landing_url", "referrer",
     "ad_user_data", "ad_personalization"}
)  # fmt: skip
NEXT_FIELD = "_next"
SUBMISSION_ID_FIELD = "submission_id"


@dataclass
class Submission:
    """One post to /leads, sorted by what each field is for."""

    fields: dict[str, object] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)
    next_url: str | None = None
    submission_id: str | None = None
    honeypot: bool = False

    def fingerprint(self) -> str:
        """Return a digest of the content, the same for the same post sent twice."""
        content = {"fields": self.fields, "params": self.params, "extra": self.extra}
        text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_submission(pairs: list[tuple[str, object]], honeypot_field: str) -> Submission:
    """Sort posted name/value pairs; unknown fields are kept as extra data, never dropped."""
    submission = Submission(params=captured_params(pairs))
    for raw_name, value in pairs:
        name = str(raw_name)
        key = name.strip().lower()
        if key == honeypot_field.lower():
            submission.honeypot = submission.honeypot or bool(str(value).strip())
        elif key == NEXT_FIELD:
            submission.next_url = str(value).strip()
        elif key == SUBMISSION_ID_FIELD:
            submission.submission_id = str(value).strip() or None
        elif key in LEAD_FIELDS:
            submission.fields[key] = value
        elif find_param(name) is None:
            _keep(submission.extra, name, value)
    return submission


def _keep(extra: dict, name: str, value: object) -> None:
    """Keep a repeated field (checkboxes) as a list of its values."""
    if name not in extra:
        extra[name] = value
    elif isinstance(extra[name], list):
        extra[name].append(value)
    else:
        extra[name] = [extra[name], value]
