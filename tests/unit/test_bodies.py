"""Request bodies below the routes: exact JSON parsing and the size limit's pass-through."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from serve.bodies import BodySizeLimit, ExactJSONRequest


def request_with(body: bytes) -> ExactJSONRequest:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            raise AssertionError("the body was read twice")
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    return ExactJSONRequest(scope, receive)


def test_json_numbers_become_exact_decimals_and_are_parsed_once() -> None:
    request = request_with(b'{"a": 123456789.123456789123, "b": 10.000000000000001, "c": 7}')

    async def read_twice() -> tuple[Any, Any]:
        return await request.json(), await request.json()

    first, second = asyncio.run(read_twice())

    assert first is second
    assert first == {
        "a": Decimal("123456789.123456789123"),
        "b": Decimal("10.000000000000001"),
        "c": 7,
    }


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(constant: bytes) -> None:
    request = request_with(b'{"amount": ' + constant + b"}")

    with pytest.raises(json.JSONDecodeError):
        asyncio.run(request.json())


def test_the_size_limit_lets_non_http_traffic_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        return None

    asyncio.run(BodySizeLimit(app, max_bytes=1)({"type": "lifespan"}, receive, send))

    assert seen == ["lifespan"]
