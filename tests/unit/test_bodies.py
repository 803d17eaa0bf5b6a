"""Request bodies below the routes: exact JSON parsing and the size limit's pass-through."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from serve.bodies import BodySizeLimit, ExactJSONRequest, HeaderSizeLimit, nests_deeper_than


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


@pytest.mark.parametrize(
    ("body", "deeper"),
    [
        (b"[" * 4 + b"]" * 4, True),
        (b"[" * 3 + b"]" * 3, False),
        (b'{"a": {"b": [[1]]}}', True),
        (b'["[[[[[[", "{{{{"]', False),  # brackets inside strings do not count
        (b'["\\"[[[[[[", 1]', False),  # nor after an escaped quote
        (b'["\\\\", [[[[1]]]]]', True),  # an escaped backslash ends its string
        (b'[[[ "unterminated [[[[[[', False),  # not JSON: the parser says so
        (b"[[[]]][[[]]][[[]]]", False),  # many brackets, shallow
        (b"]]]]][[[[", False),  # unbalanced: counted as it comes, and the parser refuses it
    ],
)
def test_the_nesting_depth_is_found_by_scanning_the_bytes(body: bytes, deeper: bool) -> None:
    assert nests_deeper_than(body, 3) is deeper


def test_quotes_that_never_close_are_scanned_in_linear_time() -> None:
    body = b"[" * 401 + b'"' + b'\\"' * 30_000
    started = time.perf_counter()

    nests_deeper_than(body, 400)

    assert time.perf_counter() - started < 0.05


def test_a_body_too_deep_never_reaches_the_parser() -> None:
    request = request_with(b"[" * 401)

    with pytest.raises(json.JSONDecodeError, match="nested deeper than 400"):
        asyncio.run(request.json())


def test_the_header_limit_lets_non_http_traffic_through_untouched() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        raise AssertionError("not read")

    async def ignore(message: Message) -> None:
        raise AssertionError("not sent")

    asyncio.run(HeaderSizeLimit(app, 1024)({"type": "lifespan"}, nothing, ignore))

    assert seen == ["lifespan"]
