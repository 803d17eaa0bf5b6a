"""Request bodies: a size limit, JSON only, and numbers parsed exactly (never through float)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.problems import Problem

BODY_METHODS = {"POST", "PUT", "PATCH"}


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

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
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
        from serve.problems import problem_response

        problem = Problem(413, "payload_too_large", "Payload too large", self._detail())
        response = problem_response(Request(scope), problem)
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
