"""Build the capture script as served: registry injected, minified, gzipped."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from capture.params import CLICK_ID_PARAMS, PARAMS

SOURCE = Path(__file__).resolve().parent.parent / "static" / "js" / "capture.js"
GZIP_BUDGET = 2048


@dataclass(frozen=True)
class BuiltScript:
    """The capture script in every form the service and the benchmark need."""

    source: str
    minified: bytes
    gzipped: bytes
    etag: str
    mtime: float


def _regex_literal(pattern: str) -> str:
    return "/" + pattern.replace("/", r"\/") + "/"


def inject_registry(source: str) -> str:
    """Replace the registry placeholders with every name, and each click ID's platform and rule."""
    names = " ".join(param.name for param in PARAMS)
    # Patterns as regular expression literals, which the script uses without RegExp().
    click_ids = ",".join(
        f"{json.dumps(param.name)}:[{json.dumps(param.platform)},{_regex_literal(param.pattern)}]"
        for param in CLICK_ID_PARAMS
    )
    return source.replace("__CLOSELOOP_NAMES__", json.dumps(names)).replace(
        "__CLOSELOOP_CLICK_IDS__", "{" + click_ids + "}"
    )


def build_script(path: Path = SOURCE) -> BuiltScript:
    """Read, inject, minify and compress the capture script."""
    # Imported here, on the first request for the script: the minifier's grammar tables
    # cost every process (each `flask` command, each worker) 60 ms to import.
    from calmjs.parse import es5
    from calmjs.parse.unparsers.es5 import minify_print
    from zopfli.gzip import compress as gzip_compress

    source = inject_registry(path.read_text(encoding="utf-8"))
    # calmjs.parse renames local names safely; a whitespace-only minifier misses the budget.
    minified = minify_print(es5(source), obfuscate=True, shadow_funcname=True, drop_semi=True)
    data = minified.encode("utf-8")
    return BuiltScript(
        source=source,
        minified=data,
        gzipped=gzip_compress(data),
        etag=hashlib.sha256(data).hexdigest()[:32],
        mtime=path.stat().st_mtime,
    )
