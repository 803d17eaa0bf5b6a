"""What a log line must never hold, and how it is masked: passwords, tokens, secrets and
``Authorization`` values, by the name they are logged under and by their shape in any text.

The processor ``redact`` runs last before the JSON renderer (``actors/logs.py``), over every
field of every line, the message and the rendered traceback included, so a secret cannot reach
the logs by a keyword argument, a dict of headers, an f-string or an exception's text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

REDACTED = "[REDACTED]"
# A field under one of these names (or holding one of the words) is masked whatever its value;
# names are compared lower-case with ``-`` read as ``_`` (``X-Api-Key``, ``new_password``)
SENSITIVE_NAMES = frozenset(
    {"authorization", "proxy_authorization", "cookie", "set_cookie", "api_key", "private_key"}
)
SENSITIVE_WORDS = ("password", "secret", "token", "credential")
_NAME = r"[\w-]*(?:password|secret|token|credential|authorization|cookie|api_key)[\w-]*"
TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # password='x', "jwt_secret": "x", token=x (a repr, a query string, a logged body)
    (re.compile(rf"(?i)(\b{_NAME}[\"']?\s*[:=]\s*)([\"'])(?:(?!\2).)*\2"), rf"\1\2{REDACTED}\2"),
    # Authorization: Bearer x / Basic x / AWS4-HMAC-SHA256 ... (the whole value, to the line end)
    (
        re.compile(r"(?i)(\b(?:proxy-)?authorization\s*:\s*)(?!\[REDACTED\])[^\r\n\"']+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(rf"(?i)(\b{_NAME}\s*=\s*)(?![\"'\[])[^\s,;&\"'}}\]]+"), rf"\1{REDACTED}"),
    # a bearer credential anywhere (a token is long: "a bearer access token" is prose)
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/-]{16,}=*"), rf"\1 {REDACTED}"),
    # a JWT: three base64url segments, the first a JSON object (base64 of `{"` is "eyJ")
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
)
# every rule needs one of these: most text (a message, a name, an id) is let through at once
_MAY_HOLD_SECRET = re.compile(r"[=:]|eyJ|(?i:bearer)")
PLAIN = (int, float, bool, type(None))


def is_sensitive(name: object) -> bool:
    """Whether a field called ``name`` holds a secret (its value is never logged)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and _is_sensitive_name(name)


@functools.lru_cache(maxsize=4096)  # a process logs the same few field names over and over
def _is_sensitive_name(name: str) -> bool:
    key = name.lower().replace("-", "_")
    return key in SENSITIVE_NAMES or any(word in key for word in SENSITIVE_WORDS)


def redact_text(text: str) -> str:
    """``text`` with every secret it shows masked."""
    if not _MAY_HOLD_SECRET.search(text):
        return text
    for pattern, replacement in TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with its secrets masked: mappings by their keys, pairs
    such as ASGI headers by their first item, and all text by shape. Anything else is logged
    by its ``str`` (a repr may hold secrets too, so it is masked as text)."""
    if isinstance(value, PLAIN):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_sensitive(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        if len(value) == 2 and isinstance(value, tuple) and is_sensitive(value[0]):
            return [redact_value(value[0]), REDACTED]  # ("authorization", "Bearer ...")
        return [redact_value(item) for item in value]
    return redact_text(str(value))


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask every secret of the line (see ``redact_value``)."""
    return {
        key: REDACTED if is_sensitive(key) else redact_value(value)
        for key, value in event_dict.items()
    }
