"""The JSON logs (actors/logs.py) and their redaction (actors/redaction.py): every stdlib and
structlog line of a process is one JSON object with its request's context, and no secret."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from structlog.contextvars import clear_contextvars

from actors import logs
from actors.domain.commands import Deposit
from actors.domain.errors import InsufficientFundsError
from actors.ledger.errors import RequestInFlightError
from actors.ledger.operations_log import logged_operation
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.redaction import REDACTED, redact_text, redact_value
from tests.unit.doubles import synchronously

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
PASSWORD = "Correct-Horse-42!"
Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    """This process logs JSON into a buffer (conftest.py puts the root logger back after)."""
    monkeypatch.delenv(logs.LEVEL_ENV, raising=False)
    buffer = io.StringIO()
    logs.configure_logging("test", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.fixture(autouse=True)
def no_request() -> Iterator[None]:
    """The test thread's context starts and ends without a request."""
    clear_contextvars()
    yield
    clear_contextvars()


def test_a_stdlib_line_is_json_with_the_level_logger_time_and_process(lines: Lines) -> None:
    logging.getLogger("actors.ledger.projector").warning("read-model write failed; %s", "retrying")

    (line,) = lines()
    assert line["message"] == "read-model write failed; retrying"
    assert (line["levelname"], line["logger"], line["component"]) == (
        "WARNING",
        "actors.ledger.projector",
        "test",
    )
    assert line["timestamp"].endswith("Z") and isinstance(line["process"], int)


def test_the_request_id_and_user_bound_in_the_context_are_on_every_line(lines: Lines) -> None:
    logs.bind_request("req-1")
    logs.bind_user("alice_01")

    logging.getLogger("serve.problems").info("stdlib")
    logs.get_logger("actors.shard").info("structlog", kind="deposit")

    stdlib, structured = lines()
    assert (stdlib["request_id"], stdlib["user"]) == ("req-1", "alice_01")
    assert (structured["request_id"], structured["user"], structured["kind"]) == (
        "req-1",
        "alice_01",
        "deposit",
    )


def test_a_new_request_starts_without_the_user_of_the_last_one(lines: Lines) -> None:
    logs.bind_request("req-1")
    logs.bind_user("alice_01")
    logs.bind_request("req-2")

    logging.getLogger("x").info("next")

    (line,) = lines()
    assert line["request_id"] == "req-2" and "user" not in line


def test_uvicorns_loggers_come_out_as_json_without_terminal_colours(lines: Lines) -> None:
    logging.getLogger("uvicorn.error").error("closed", extra={"color_message": "\x1b[31mclosed"})

    (line,) = lines()
    assert line["logger"] == "uvicorn.error" and "color_message" not in line


def test_configuring_again_replaces_the_handler_instead_of_logging_twice(lines: Lines) -> None:
    again = io.StringIO()
    logs.configure_logging("ingress", stream=again)

    logging.getLogger("x").info("once")

    assert lines() == []
    assert [json.loads(line)["component"] for line in again.getvalue().splitlines()] == ["ingress"]


def test_the_level_comes_from_the_environment(
    lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.LEVEL_ENV, "warning")
    buffer = io.StringIO()
    logs.configure_logging("test", stream=buffer)

    logging.getLogger("x").info("dropped")
    logging.getLogger("x").warning("kept")

    assert [json.loads(line)["message"] for line in buffer.getvalue().splitlines()] == ["kept"]


def test_a_password_in_a_keyword_field_is_masked(lines: Lines) -> None:
    logs.get_logger("serve.routes.auth").info(
        "password change", password=PASSWORD, new_password=PASSWORD, current_password=PASSWORD
    )

    (line,) = lines()
    assert (line["password"], line["new_password"], line["current_password"]) == (REDACTED,) * 3
    assert PASSWORD not in json.dumps(line)


def test_an_authorization_header_in_a_dict_or_in_asgi_pairs_is_masked(lines: Lines) -> None:
    headers = {"Authorization": f"Bearer {JWT}", "Content-Type": "application/json"}
    raw = [(b"authorization", f"Bearer {JWT}".encode()), (b"host", b"testserver")]

    logging.getLogger("x").info("headers", extra={"headers": headers, "raw_headers": raw})

    (line,) = lines()
    assert line["headers"] == {"Authorization": REDACTED, "Content-Type": "application/json"}
    assert line["raw_headers"] == [["authorization", REDACTED], ["host", "testserver"]]


def test_a_jwt_and_a_bearer_credential_inside_a_message_are_masked(lines: Lines) -> None:
    logging.getLogger("x").warning("token %s rejected; header was Bearer abcdefghijklmnop1234", JWT)

    (line,) = lines()
    assert line["message"] == f"token {REDACTED} rejected; header was Bearer {REDACTED}"


def test_a_secret_in_an_exceptions_text_is_masked_in_the_traceback(lines: Lines) -> None:
    try:
        raise ValueError(f"could not verify access_token={JWT} (password='{PASSWORD}')")
    except ValueError:
        logging.getLogger("x").exception("failed")

    (line,) = lines()
    assert "ValueError" in line["exc_text"]
    assert JWT not in line["exc_text"] and PASSWORD not in line["exc_text"]


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {JWT}",
        "authorization: Basic dXNlcjpwYXNzd29yZA==",
        f"{{'password': '{PASSWORD}', 'username': 'alice'}}",
        f'{{"refresh_token": "{JWT}"}}',
        f"jwt_secret={PASSWORD} next",
        f"Settings(jwt_secret='{PASSWORD}', table_name='t')",
        f"/api/v1/events?access_token={JWT}&last=3",
    ],
)
def test_secrets_in_text_are_masked_by_their_shape(text: str) -> None:
    masked = redact_text(text)

    assert JWT not in masked and PASSWORD not in masked and "dXNlcjpwYXNz" not in masked
    assert REDACTED in masked


@pytest.mark.parametrize(
    "text",
    [
        "Send a bearer access token in the Authorization header.",
        "refresh token reused: the session is revoked",
        "POST /api/v1/balance/deposit 201 3.2ms",
        "user alice_01 deposit key client-3b1f",
    ],
)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert redact_text(text) == text


def test_values_that_are_not_json_are_logged_as_masked_text() -> None:
    class Config:
        def __str__(self) -> str:
            return f"Config(jwt_secret='{PASSWORD}')"

    masked = redact_value({"amount": Decimal("10.50"), "config": Config(), "ids": ("a", "b")})

    assert masked == {
        "amount": "10.50",
        "config": f"Config(jwt_secret='{REDACTED}')",
        "ids": ["a", "b"],
    }


def test_fields_that_identify_a_request_are_not_masked(lines: Lines) -> None:
    logs.get_logger("x").info("op", request_id="r-1", idempotency_key="client-k", user="alice")

    (line,) = lines()
    assert (line["request_id"], line["idempotency_key"], line["user"]) == (
        "r-1",
        "client-k",
        "alice",
    )


@synchronously
async def test_a_background_task_started_in_a_request_does_not_carry_its_id() -> None:
    async def seen() -> str | None:
        return logs.current_request_id()

    with logs.operation_context("req-9", "alice"):
        inherited = await asyncio.get_running_loop().create_task(seen())
        background = await logs.start_background(seen())

    assert (inherited, background) == ("req-9", None)


def test_a_background_task_cannot_start_outside_an_event_loop() -> None:
    async def never() -> None:
        raise AssertionError("not run")

    with pytest.raises(RuntimeError):
        logs.start_background(never())


COMMITTED = Committed(3, object())
DEPOSIT = Deposit(Decimal("10.00"))


@pytest.mark.parametrize(
    ("outcome", "result", "error"),
    [
        (COMMITTED, "committed", None),
        (Committed(3, object(), replayed=True), "replayed", None),
        (
            Refused(4, InsufficientFundsError(Decimal(1), Decimal(2))),
            "refused",
            "InsufficientFundsError",
        ),
        (Failed(RequestInFlightError("k")), "failed", "RequestInFlightError"),
    ],
)
def test_a_ledger_operation_is_one_line_with_its_result_user_and_request(
    lines: Lines, outcome: Outcome, result: str, error: str | None
) -> None:
    async def run() -> Outcome:
        logging.getLogger("actors.ledger.service").info("inside")
        return outcome

    assert asyncio.run(logged_operation(DEPOSIT, run, "alice_01", "req-5")) is outcome

    inside, operation = lines()
    assert (inside["user"], inside["request_id"]) == ("alice_01", "req-5")
    assert operation["message"] == "ledger operation"
    assert (operation["kind"], operation["result"], operation.get("error")) == (
        "deposit",
        result,
        error,
    )
    assert (operation["user"], operation["request_id"]) == ("alice_01", "req-5")
    assert operation["ms"] >= 0


def test_a_ledger_operation_that_raises_is_logged_with_its_traceback(lines: Lines) -> None:
    async def run() -> Outcome:
        raise RuntimeError("store exploded")

    with pytest.raises(RuntimeError):
        asyncio.run(logged_operation(DEPOSIT, run, "alice_01"))

    (line,) = lines()
    assert (line["result"], line["levelname"]) == ("error", "ERROR")
    assert "store exploded" in line["exc_text"] and "request_id" not in line
