"""The request id (serve/request_ids.py): one per request, taken from the client or Serve when
safe, bound for the request's log lines with the user, sent to the ledger, answered once."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx
import pytest
from ray.serve._private.http_util import RequestIdMiddleware
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from actors import logs
from actors.domain.commands import Command
from actors.ledger.results import Outcome
from serve.request_ids import RequestIds, accepted_request_id, request_id_of
from tests.unit.api import PASSWORD, Api, build_api, close_api, unique_username


def signed_in(api: Api) -> tuple[str, dict[str, str]]:
    username = unique_username()
    assert api.register(username).status_code == 201
    token = api.login(username, PASSWORD).json()["access_token"]
    return username, {"Authorization": f"Bearer {token}"}


def test_a_deposit_reaches_the_ledger_with_its_request_id_and_user(api: Api) -> None:
    username, headers = signed_in(api)

    response = api.deposit({**headers, "X-Request-ID": "dep-1"}, "10.00")

    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == "dep-1"
    assert api.ledger.log_contexts[-1] == {"request_id": "dep-1", "user": username}


@pytest.fixture
def json_lines() -> io.StringIO:
    """The process logs into a buffer (conftest.py puts the root logger back after)."""
    buffer = io.StringIO()
    logs.configure_logging("ingress", stream=buffer)
    return buffer


def test_an_unexpected_error_is_logged_with_the_request_id_and_user_and_no_token(
    json_lines: io.StringIO,
) -> None:
    api = build_api(raise_app_exceptions=False)
    try:
        username, headers = signed_in(api)

        async def broken(username: str, command: Command, key: str) -> Outcome:
            raise RuntimeError("boom")

        api.ledger.execute = broken  # type: ignore[method-assign]
        response = api.deposit({**headers, "X-Request-ID": "dep-500"}, "1.00")
    finally:
        close_api(api)

    assert response.status_code == 500 and response.json()["trace_id"] == "dep-500"
    lines = [json.loads(text) for text in json_lines.getvalue().splitlines()]
    (line,) = [line for line in lines if line["logger"] == "serve.problems"]
    assert line["message"] == "unhandled error on POST /api/v1/balance/deposit"
    assert (line["request_id"], line["user"], line["component"]) == ("dep-500", username, "ingress")
    assert "boom" in line["exc_text"]
    assert headers["Authorization"].split()[1] not in json_lines.getvalue()


@pytest.mark.parametrize("given", [None, "", "x" * 129, "a b", "ünïcode", "/leading-slash"])
def test_an_absent_or_unsafe_id_is_replaced_by_a_fresh_uuid(given: str | None) -> None:
    taken = accepted_request_id(given)

    assert taken != given and len(taken) == 36


@pytest.mark.parametrize("given", ["a", "x" * 128, "1-67891233-abcdef", "Root=1-5e", "a.b:c/d+e@f"])
def test_a_safe_id_is_kept(given: str) -> None:
    assert accepted_request_id(given) == given


def _echo_app(host_echoes_id: bool) -> Any:
    async def answer(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request_id_of(request) or "")

    app = Starlette(routes=[Route("/", answer)])
    return RequestIds(app, host_echoes_id=host_echoes_id)


async def _get(app: Any, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/", headers=headers)


@pytest.mark.parametrize(
    ("sent", "answered"),
    [({}, 1), ({"X-Request-ID": "mine-1"}, 1), ({"X-Request-ID": "not safe"}, 2)],
)
def test_behind_serve_the_id_is_answered_once_unless_the_clients_was_replaced(
    sent: dict[str, str], answered: int
) -> None:
    app = RequestIdMiddleware(_echo_app(host_echoes_id=True))  # Serve's, around the app

    response = asyncio.run(_get(app, sent))

    ids = response.headers.get_list("x-request-id")
    assert len(ids) == answered
    assert response.text in ids  # the id the app (and its logs) used is answered
    if "X-Request-ID" in sent and answered == 1:
        assert response.text == sent["X-Request-ID"]


def test_without_serve_the_id_is_always_answered_once() -> None:
    response = asyncio.run(_get(_echo_app(host_echoes_id=False), {"X-Request-ID": "mine-2"}))

    assert response.headers.get_list("x-request-id") == ["mine-2"] == [response.text]
