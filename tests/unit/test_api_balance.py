"""Cash over HTTP: deposits, withdrawals, idempotency, history pages, and every bad input
answered as problem details that change nothing and echo nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.commands import Deposit, Withdraw
from actors.ledger.service import LedgerService
from serve.settings import Settings
from tests.unit.api import SECRET, Api, build_api, close_api
from tests.unit.test_api_auth import assert_problem

DEPOSIT = "/api/v1/balance/deposit"
WITHDRAW = "/api/v1/balance/withdraw"
TRANSACTIONS = "/api/v1/balance/transactions"


def test_a_new_user_has_a_zero_balance(api: Api) -> None:
    response = api.get("/api/v1/balance", headers=api.new_user())

    assert response.json() == {
        "current_balance": "0.00",
        "available_balance": "0.00",
        "held_balance": "0.00",
        "updated_at": None,
    }


def test_a_deposit_is_201_with_the_new_balance_and_shows_in_the_balance(api: Api) -> None:
    user = api.new_user()

    response = api.deposit(user, "125.50")

    assert response.status_code == 201
    body = response.json()
    assert (body["success"], body["message"], body["balance"]) == (
        True,
        "Deposit completed",
        "125.50",
    )
    assert body["transaction_id"]
    balance = api.get("/api/v1/balance", headers=user).json()
    assert balance["current_balance"] == balance["available_balance"] == "125.50"
    assert balance["updated_at"] == body["timestamp"]


def test_a_deposit_the_cache_missed_still_shows_in_the_next_read(api: Api) -> None:
    user = api.new_user()
    api.deposit(user, "10.00")
    assert api.balance(user) == "10.00"  # cached
    before = dict(api.cache.entries)
    api.deposit(user, "5.00")
    api.cache.entries = before  # Redis missed that write: it still holds 10.00

    assert api.balance(user) == "15.00"  # older than what this replica saw committed: a miss
    assert api.balance(user) == "15.00"


def test_a_withdrawal_is_201_and_takes_from_the_balance(api: Api) -> None:
    user = api.new_user()
    api.deposit(user, "100")

    response = api.post(WITHDRAW, json={"amount": "40.25"}, headers=user)

    assert response.status_code == 201
    assert response.json()["message"] == "Withdrawal completed"
    assert api.balance(user) == "59.75"


def test_a_withdrawal_larger_than_the_balance_is_a_409_and_changes_no_money(api: Api) -> None:
    user = api.new_user()
    api.deposit(user, "10.00")

    response = api.post(WITHDRAW, json={"amount": "10.01"}, headers=user)

    assert_problem(response, 409, "insufficient_funds")
    assert api.balance(user) == "10.00"
    (log,) = api.store.events.values()
    assert [record.event_type for record in log.values()] == ["Deposited", "Refused"]
    history = api.get(TRANSACTIONS, headers=user).json()
    assert (len(history["transactions"]), history["total_count"]) == (1, 1)


def test_a_refusal_is_kept_against_its_key_and_a_retry_gets_the_same_409(api: Api) -> None:
    user = api.new_user()
    api.deposit(user, "10.00")
    headers = {**user, "Idempotency-Key": "withdraw-0001"}

    first = api.post(WITHDRAW, json={"amount": "10.01"}, headers=headers)
    api.deposit(user, "5.00")  # enough now, but the key already has its answer
    again = api.post(WITHDRAW, json={"amount": "10.01"}, headers=headers)

    assert_problem(first, 409, "insufficient_funds")
    assert_problem(again, 409, "insufficient_funds")
    assert again.json()["detail"] == first.json()["detail"]
    assert api.balance(user) == "15.00"
    assert api.event_count() == 3  # the deposits and the one refusal


def test_a_deposit_past_the_daily_limit_is_a_409_conflict(api: Api) -> None:
    user = api.new_user()
    api.deposit(user, "10000.00")

    response = api.deposit(user, "0.01")

    body = assert_problem(response, 409, "conflict")
    assert "daily deposit limit" in body["detail"]
    assert api.balance(user) == "10000.00"
    assert api.event_count() == 2  # the refusal is recorded, the balance untouched


def test_a_json_number_with_one_place_is_taken_exactly(api: Api) -> None:
    user = api.new_user()

    response = api.post(
        DEPOSIT,
        content=b'{"amount": 1.5}',
        headers={**user, "Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert response.json()["balance"] == "1.50"
    assert api.balance(user) == "1.50"


def test_a_large_json_number_with_two_places_is_not_rounded_through_float(api: Api) -> None:
    user = api.new_user()

    response = api.post(
        DEPOSIT,
        content=b'{"amount": 9999.99}',
        headers={**user, "Content-Type": "application/json"},
    )

    assert response.json()["balance"] == "9999.99"


BAD_AMOUNTS: list[tuple[str, bytes, int, str]] = [
    # (case, raw JSON body, status, text that must not be echoed back)
    ("bare NaN", b'{"amount": NaN}', 400, "NaN"),
    ("bare Infinity", b'{"amount": Infinity}', 400, "Infinity"),
    ("bare -Infinity", b'{"amount": -Infinity}', 400, "Infinity"),
    ("string NaN", b'{"amount": "NaN"}', 422, "NaN"),
    ("string Infinity", b'{"amount": "Infinity"}', 422, "Infinity"),
    ("string 1e400", b'{"amount": "1e400"}', 422, "1e400"),
    ("number 1e400", b'{"amount": 1e400}', 422, "1E+400"),
    ("negative", b'{"amount": -13.37}', 422, "-13.37"),
    ("negative string", b'{"amount": "-13.37"}', 422, "-13.37"),
    ("zero", b'{"amount": 0}', 422, '"0"'),
    ("three places", b'{"amount": "0.001"}', 422, "0.001"),
    ("not a number", b'{"amount": "abcXYZ"}', 422, "abcXYZ"),
    ("missing", b"{}", 422, "{}"),
    ("float noise", b'{"amount": 10.000000000000001}', 422, "10.000000000000001"),
    ("over the maximum", b'{"amount": "1000000.01"}', 422, "1000000.01"),
    ("boolean", b'{"amount": true}', 422, "true"),
    ("null", b'{"amount": null}', 422, "null"),
    ("list", b'{"amount": [5]}', 422, "[5]"),
    ("unknown field", b'{"amount": "5.00", "balance": "999999.99"}', 422, "999999.99"),
    ("not an object", b'"5.00"', 422, "5.00"),
    ("malformed", b'{"amount": ', 400, "amount"),
    ("huge integer literal", b'{"amount": 1' + b"0" * 5000 + b"}", 400, "0" * 50),
    ("invalid utf-8", b'{"amount": "\xff"}', 400, "\\xff"),
]


@pytest.mark.parametrize("path", [DEPOSIT, WITHDRAW])
@pytest.mark.parametrize(
    ("body", "status", "secret"),
    [case[1:] for case in BAD_AMOUNTS],
    ids=[case[0] for case in BAD_AMOUNTS],
)
def test_a_bad_amount_is_a_problem_that_changes_nothing_and_echoes_nothing(
    api: Api, path: str, body: bytes, status: int, secret: str
) -> None:
    user = api.new_user()
    api.deposit(user, "100.00")

    response = api.post(path, content=body, headers={**user, "Content-Type": "application/json"})

    problem = assert_problem(response, status, "validation_error")
    if status == 422:
        assert problem["errors"]
        assert {e["field"] for e in problem["errors"]} <= {"amount", "balance", "body"}
        assert all(set(e) == {"field", "message"} for e in problem["errors"])
    assert secret not in response.text
    assert api.balance(user) == "100.00"
    assert api.event_count() == 1  # bad input is never recorded, not even as a refusal


@pytest.mark.parametrize("path", [DEPOSIT, WITHDRAW])
@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1.001", "more than 2 decimal places"),
        ("0", "between 0.01 and 1000000.00"),
        ("1000000.01", "between 0.01 and 1000000.00"),
    ],
)
def test_an_amount_the_rules_refuse_is_a_422_on_the_amount_field_before_the_ledger_records(
    api: Api, path: str, amount: str, message: str
) -> None:
    user = api.new_user()

    response = api.post(path, json={"amount": amount}, headers=user)

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"] == [{"field": "amount", "message": problem["detail"]}]
    assert message in problem["detail"]
    assert api.event_count() == 0
    assert [call[1] for call in api.ledger.calls] == [
        (Deposit if path == DEPOSIT else Withdraw)(Decimal(amount))
    ]  # parsed exactly


def test_the_amount_limits_come_from_the_settings_the_ledger_was_given() -> None:
    narrow = Settings(environment="test", jwt_secret=SECRET, max_amount=Decimal("50.00"))
    api = build_api()
    api.ledger.service = LedgerService(api.store, api.cache, narrow.ledger_settings())
    try:
        user = api.new_user()
        refused = api.deposit(user, "50.01")
        accepted = api.deposit(user, "50.00")
    finally:
        close_api(api)

    assert_problem(refused, 422, "validation_error")
    assert "between 0.01 and 50.00" in refused.json()["detail"]
    assert accepted.status_code == 201


def test_a_body_declared_larger_than_64_kib_is_a_413_before_anything_reads_it(api: Api) -> None:
    user = api.new_user()
    body = b'{"amount": "1.00", "pad": "' + b"x" * 65536 + b'"}'

    response = api.post(DEPOSIT, content=body, headers={**user, "Content-Type": "application/json"})

    assert_problem(response, 413, "payload_too_large")
    assert api.event_count() == 0


def test_a_streamed_body_over_64_kib_is_a_413(api: Api) -> None:
    user = api.new_user()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"amount": "1.00", "pad": "'
        for _ in range(17):
            yield b"x" * 4096
        yield b'"}'

    response = api.post(
        DEPOSIT, content=chunks(), headers={**user, "Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert api.event_count() == 0


def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    user = api.new_user()
    body = b'{"amount": "1.00"}' + b" " * (65536 - 18)

    response = api.post(DEPOSIT, content=body, headers={**user, "Content-Type": "application/json"})

    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_a_body_not_declared_as_json_is_a_415(api: Api, content_type: str | None) -> None:
    user = api.new_user()
    headers = {**user, "Content-Type": content_type} if content_type else user

    response = api.post(DEPOSIT, content=b'{"amount": "5.00"}', headers=headers)

    assert_problem(response, 415, "unsupported_media_type")
    assert api.event_count() == 0


def test_the_same_idempotency_key_replays_the_first_response_and_applies_once(api: Api) -> None:
    user = api.new_user()
    headers = {**user, "Idempotency-Key": "deposit-0001"}

    first = api.deposit(headers, "20.00")
    second = api.deposit(headers, "20.00")

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert api.balance(user) == "20.00"


def test_the_same_idempotency_key_with_another_amount_is_a_422(api: Api) -> None:
    user = api.new_user()
    headers = {**user, "Idempotency-Key": "deposit-0001"}
    api.deposit(headers, "20.00")

    response = api.deposit(headers, "21.00")

    assert_problem(response, 422, "idempotency_key_reused")
    assert api.balance(user) == "20.00"


def test_idempotency_keys_are_scoped_to_the_user(api: Api) -> None:
    alice, bob = api.new_user(), api.new_user()

    api.deposit({**alice, "Idempotency-Key": "same"}, "1.00")
    response = api.deposit({**bob, "Idempotency-Key": "same"}, "2.00")

    assert response.status_code == 201
    assert (api.balance(alice), api.balance(bob)) == ("1.00", "2.00")


@pytest.mark.parametrize("key", ["k" * 256, "tab\there", "caf\u00e9"])
def test_an_idempotency_key_that_is_not_1_to_255_printable_ascii_is_a_422(
    api: Api, key: str
) -> None:
    user = api.new_user()
    headers: dict[str, Any] = {**user, "Idempotency-Key": key.encode()}

    response = api.deposit(headers, "1.00")

    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert api.event_count() == 0


def test_without_a_key_each_request_is_a_new_operation(api: Api) -> None:
    user = api.new_user()

    api.deposit(user, "1.00")
    api.deposit(user, "1.00")

    assert api.balance(user) == "2.00"
    keys = [key for _, _, key in api.ledger.calls]
    assert len(set(keys)) == 2
    assert all(key.startswith("auto-") for key in keys)


def test_the_history_pages_newest_first_with_an_opaque_cursor(api: Api) -> None:
    user = api.new_user()
    for cents in range(1, 8):
        api.deposit(user, f"{cents}.00")
    api.post(WITHDRAW, json={"amount": "0.5"}, headers=user)
    pages: list[dict[str, Any]] = []
    cursor: str | None = None

    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get(TRANSACTIONS, params=params, headers=user).json()
        pages.append(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break

    assert [len(p["transactions"]) for p in pages] == [3, 3, 2]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert pages[-1]["next_cursor"] is None
    assert {p["total_count"] for p in pages} == {8}
    amounts = [t["amount"] for p in pages for t in p["transactions"]]
    assert amounts == ["0.50", "7.00", "6.00", "5.00", "4.00", "3.00", "2.00", "1.00"]
    first = pages[0]["transactions"][0]
    assert (first["transaction_type"], first["status"], first["balance_after"]) == (
        "WITHDRAW",
        "COMPLETED",
        "27.50",
    )


def test_an_empty_history_has_no_cursor(api: Api) -> None:
    page = api.get(TRANSACTIONS, headers=api.new_user()).json()

    assert page == {"transactions": [], "total_count": 0, "has_more": False, "next_cursor": None}


def test_another_users_cursor_is_a_400(api: Api) -> None:
    alice, mallory = api.new_user(), api.new_user()
    for _ in range(3):
        api.deposit(alice, "1.00")
    cursor = api.get(TRANSACTIONS, params={"limit": 1}, headers=alice).json()["next_cursor"]

    response = api.get(TRANSACTIONS, params={"cursor": cursor}, headers=mallory)

    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize("cursor", ["garbage", "eyJ1IjoiYSIsInMiOjV9.0000", "a" * 512])
def test_a_tampered_or_malformed_cursor_is_a_400(api: Api, cursor: str) -> None:
    response = api.get(TRANSACTIONS, params={"cursor": cursor}, headers=api.new_user())

    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"cursor": "a" * 513}]
)
def test_a_page_size_or_cursor_out_of_bounds_is_a_422(api: Api, params: dict[str, Any]) -> None:
    response = api.get(TRANSACTIONS, params=params, headers=api.new_user())

    assert_problem(response, 422, "validation_error")


def test_a_history_over_1_kib_is_gzipped_when_the_client_accepts_it(api: Api) -> None:
    user = api.new_user()
    for _ in range(12):
        assert api.deposit(user, "1.00").status_code == 201

    zipped = api.get(TRANSACTIONS, headers={**user, "Accept-Encoding": "gzip"})
    plain = api.get(TRANSACTIONS, headers={**user, "Accept-Encoding": "identity"})

    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() and len(plain.content) > 1024


def test_a_body_with_a_duplicate_key_is_a_400_and_changes_nothing(api: Api) -> None:
    user = api.new_user()
    body = b'{"amount": "1.00", "amount": "2.00"}'

    response = api.post(DEPOSIT, content=body, headers={**user, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert api.balance(user) == "0.00"
