"""Find secrets in log files: the scanner behind the whole-run check
(tests/integration/test_zz_no_secrets_in_logs.py), itself tested on samples that hold each kind
(tests/unit/test_log_scan.py), so the check cannot pass by finding nothing it could find.

What counts: any of the given literals (the suite's passwords, the JWT secret), anything shaped
like a JWT (every token the API issues is one, access and refresh alike), a bearer credential
and an ``Authorization`` header or field with a value. The mask ``[REDACTED]`` is not a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

SHAPES = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    "a bearer credential": re.compile(r"Bearer\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+"),
    "an Authorization value": re.compile(
        r"(?i)\bauthorization[\"']?\s*[:=]\s*[\"']?(?!\[REDACTED\])[^\s\"',}\]]"
    ),
}
CONTEXT_CHARS = 60


def find_secrets(text: str, literals: Iterable[str] = ()) -> list[str]:
    """Each secret ``text`` holds, as what it is and where (a little context around it)."""
    found = []
    for literal in literals:
        start = text.find(literal)
        if start >= 0:
            found.append(f"a test secret {_around(text, start, len(literal))}")
    for what, shape in SHAPES.items():
        for match in shape.finditer(text):
            found.append(f"{what} {_around(text, match.start(), len(match.group()))}")
    return found


def _around(text: str, start: int, length: int) -> str:
    before = text[max(0, start - CONTEXT_CHARS) : start]
    return repr(before + text[start : start + length][:6] + "...")


def log_files(*roots: Path) -> Iterator[Path]:
    """Every regular file under ``roots`` (Ray's session logs, the stack's run directory)."""
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


def scan_logs(roots: Iterable[Path], literals: Iterable[str]) -> dict[Path, list[str]]:
    """The secrets found in each file under ``roots`` (files holding none are left out)."""
    secrets = list(literals)
    found = {}
    for path in log_files(*roots):
        text = path.read_bytes().decode("utf-8", "replace")
        hits = find_secrets(text, secrets)
        if hits:
            found[path] = hits
    return found


PASSWORD_LITERALS = (
    # PASSWORD = "...", WRONG = "...", NEW_PASSWORD = "..."
    re.compile(r"(?m)^\s*[A-Z_]*(?:PASSWORD|WRONG)[A-Z_]*\s*=\s*\"([^\"]{8,})\""),
    # "password": "...", "new_password": "..." in a request body
    re.compile(r"\"\w*password\"\s*:\s*\"([^\"]{8,})\""),
)


def passwords_in(sources: Iterable[Path]) -> set[str]:
    """The password literals of test sources (a test that adds one is checked without a
    change here)."""
    found: set[str] = set()
    for source in sources:
        text = source.read_text()
        for pattern in PASSWORD_LITERALS:
            found.update(pattern.findall(text))
    return found
