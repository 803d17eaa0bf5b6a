"""Request bodies: a size limit, JSON only, and numbers parsed exactly (never through float)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.problems import Problem, problem_response

BODY_METHODS = {"POST", "PUT", "PATCH"}
DEFAULT_MAX_DEPTH = 400  # the Settings default; a request built outside a route uses it
# A JSON string (escapes included; possessive, so never backtracking), a quote that opens a
# string never closed, or a bracket
TOKEN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|"|[\[\]{}]', re.DOTALL)
OPENERS = frozenset(b"[{")
QUOTE = ord('"')


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether ``body``'s arrays and objects nest deeper than ``limit``, by scanning its bytes
    once (brackets inside strings do not count), without parsing it.

    Unbalanced input is counted as it comes and nothing after an unterminated string counts:
    such a body is not JSON either way.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few brackets to nest that deep: no scan needed
    depth = 0
    for match in TOKEN.finditer(body):
        token = match.group()
        if token[0] == QUOTE:
            if len(token) == 1:
                return False
        elif token[0] in OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Refuse duplicate keys: ``{"amount": "1", "amount": "2"}`` is ambiguous, not the last one."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise json.JSONDecodeError("duplicate key in an object", "", 0)
    return obj


class ExactJSONRequest(Request):
    """A request whose JSON numbers become ``Decimal``, whose NaN/Infinity and duplicate keys
    are refused."""

    max_depth = DEFAULT_MAX_DEPTH

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            if nests_deeper_than(body, self.max_depth):
                # answered as any malformed body (400), never given to json.loads
                raise json.JSONDecodeError(f"nested deeper than {self.max_depth}", "", 0)
            self._json = json.loads(
                body,
                parse_float=Decimal,
                parse_constant=_reject_constant,
                object_pairs_hook=_unique_keys,
            )
        return self._json


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class ExactJSONRoute(APIRoute):
    """Routes that accept JSON only (415 otherwise) and parse it exactly."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact_handler(request: Request) -> Response:
            request = ExactJSONRequest(request.scope, request.receive)
            request.max_depth = request.app.state.runtime.settings.max_json_depth
            if request.method in BODY_METHODS and self.body_field is not None:
                body = await request.body()
                if body and not _is_json(request.headers.get("content-type")):
                    raise Problem(
                        415,
                        "unsupported_media_type",
                        "Unsupported media type",
                        "Send the body as application/json.",
                    )
            return await handler(request)

        return exact_handler


class HeaderSizeLimit:
    """Answer 431 to a request whose headers (names and values) exceed ``max_bytes`` in total:
    a 100 KB token is refused here, before anything decodes it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope.get("headers") or [])
            if size > self.max_bytes:
                await _answer(scope, send, self._too_large())
                return
        await self.app(scope, receive, send)

    def _too_large(self) -> Problem:
        detail = f"The request headers are larger than {self.max_bytes // 1024} KiB in total."
        return Problem(431, "payload_too_large", "Request headers too large", detail)


class BodySizeLimit:
    """Answer 413 to a body over ``max_bytes`` (declared or streamed), before anything reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise Problem(413, "payload_too_large", "Payload too large", self._detail())
            return message

        await self.app(scope, limited, send)

    def _detail(self) -> str:
        return f"The body is larger than {self.max_bytes // 1024} KiB."

    async def _too_large(self, scope: Scope, send: Send) -> None:
        problem = Problem(413, "payload_too_large", "Payload too large", self._detail())
        await _answer(scope, send, problem)


async def _answer(scope: Scope, send: Send, problem: Problem) -> None:
    await problem_response(Request(scope), problem)(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
