"""The problem-details table, the outcomes' translation to HTTP, the error handlers, health and
readiness."""

from __future__ import annotations

import pickle
import uuid
from decimal import Decimal

import pytest

from actors.domain.commands import Command
from actors.domain.errors import (
    DailyLimitExceededError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidAmountError,
    InvalidOrderError,
    OrderNotCancellableError,
    OrderNotFillableError,
    OrderRejectedError,
)
from actors.domain.events import Deposited
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError, UserExistsError
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.market.errors import CatalogueUnavailableError, PriceUnavailableError
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.users.store import ProfileChangedError
from serve.outcomes import REPLAYED_HEADER, committed_or_raise, created
from serve.problems import PROBLEMS, Problem, problem_for, problem_for_outcome
from tests.unit.api import Api, build_api, close_api
from tests.unit.doubles import START
from tests.unit.test_api_auth import assert_problem

CASES: list[tuple[Exception, int, str]] = [
    (InsufficientFundsError(Decimal(2), Decimal(1)), 409, "insufficient_funds"),
    (InsufficientHoldingsError("BTC", Decimal(2), Decimal(1)), 409, "insufficient_holdings"),
    (DailyLimitExceededError("deposit", Decimal(10), Decimal(9)), 409, "conflict"),
    (OrderRejectedError("too large"), 422, "validation_error"),
    (OrderNotCancellableError("o-1"), 409, "conflict"),
    (OrderNotFillableError("o-1", "not open"), 409, "conflict"),
    (InvalidOrderError("asset_id", "bad"), 422, "validation_error"),
    (InvalidAmountError("bad"), 422, "validation_error"),
    (UserExistsError("email"), 409, "resource_already_exists"),
    (ProfileChangedError(), 409, "conflict"),
    (RequestInFlightError("k"), 409, "conflict"),
    (IdempotencyKeyReusedError("k"), 422, "idempotency_key_reused"),
    (PriceUnavailableError("BTC", 1.0), 503, "service_unavailable"),
    (CatalogueUnavailableError("scan failed"), 503, "service_unavailable"),
    (StoreUnavailableError("boom"), 503, "service_unavailable"),
]


@pytest.mark.parametrize(
    ("error", "status", "code"), CASES, ids=[type(e).__name__ for e, _, _ in CASES]
)
def test_each_refusal_and_failure_has_its_status_and_code(
    error: Exception, status: int, code: str
) -> None:
    problem = problem_for(error)

    assert (problem.status, problem.code) == (status, code)


def test_every_entry_of_the_table_has_a_case_above() -> None:
    assert set(PROBLEMS) <= {type(error) for error, _, _ in CASES}


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (InvalidAmountError("The amount has more than 2 decimal places."), "amount"),
        (InvalidOrderError("asset_id", "The asset id is not valid."), "asset_id"),
        (OrderRejectedError("The order's value must be at most 10000.00."), "quantity"),
    ],
)
def test_bad_input_is_a_field_problem_with_the_reason_as_its_message(
    error: Exception, field: str
) -> None:
    problem = problem_for(error)

    assert problem.errors == [{"field": field, "message": str(error)}]
    assert problem.detail == str(error)


def test_a_refusal_is_not_a_field_problem() -> None:
    assert problem_for(InsufficientFundsError(Decimal(2), Decimal(1))).errors is None


def test_an_unavailable_price_asks_to_retry_after_its_refresh_rounded_up() -> None:
    problem = problem_for(PriceUnavailableError("BTC", 2.2, "the price is older than 10 s"))

    assert problem.headers == {"Retry-After": "3"}
    assert "BTC" in problem.detail
    assert problem_for(PriceUnavailableError("BTC", 0.01)).headers == {"Retry-After": "1"}


@pytest.mark.parametrize("cls", [StoreUnavailableError, CatalogueUnavailableError])
def test_an_unavailable_store_asks_the_client_to_retry_and_hides_the_reason(
    cls: type[Exception],
) -> None:
    problem = problem_for(cls("dynamodb.internal:8000 refused"))

    assert problem.headers == {"Retry-After": "1"}
    assert "dynamodb.internal" not in problem.detail


def test_an_error_missing_from_the_table_is_a_bug_and_is_raised() -> None:
    with pytest.raises(SequenceTakenError):
        problem_for(SequenceTakenError("alice", 3))


def test_a_committed_outcome_passes_and_the_others_raise_their_problem() -> None:
    event = Deposited("tx-1", Decimal("1.00"), Decimal("1.00"), START)
    committed = Committed(1, event)
    refused = Refused(2, InsufficientFundsError(Decimal(2), Decimal(1)), replayed=True)
    failed = Failed(IdempotencyKeyReusedError("k"))

    assert committed_or_raise(committed) is committed
    with pytest.raises(Problem) as refusal:
        committed_or_raise(refused)
    with pytest.raises(Problem) as failure:
        committed_or_raise(failed)

    assert (refusal.value.status, refusal.value.code) == (409, "insufficient_funds")
    assert (failure.value.status, failure.value.code) == (422, "idempotency_key_reused")
    assert problem_for_outcome(refused).code == "insufficient_funds"


def test_a_replayed_creation_says_so_in_a_header() -> None:
    first, again = created({"a": 1}, replayed=False), created({"a": 1}, replayed=True)

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.body == again.body
    assert REPLAYED_HEADER.lower() not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true"


def test_a_problem_survives_a_pickle_round_trip() -> None:
    problem = Problem(409, "conflict", "Conflict", "detail", [{"field": "a"}], {"X": "1"})

    copy = pickle.loads(pickle.dumps(problem))

    assert (copy.status, copy.code, copy.errors, copy.headers) == (
        409,
        "conflict",
        [{"field": "a"}],
        {"X": "1"},
    )


def test_health_answers_without_dependencies(api: Api) -> None:
    response = api.get("/health")

    body = response.json()
    assert response.status_code == 200
    assert (body["status"], body["service"], body["version"]) == (
        "healthy",
        "order-processor",
        "0.1.0",
    )


def test_ready_when_every_dependency_answers(api: Api) -> None:
    response = api.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"dynamodb": "up", "redis": "up", "actors": "up"},
    }


def test_redis_down_only_degrades_readiness(api: Api) -> None:
    api.cache.answers_ping = False

    response = api.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"] == "degraded"


def test_the_store_down_makes_the_replica_unavailable(api: Api) -> None:
    async def down(username: str) -> None:
        raise StoreUnavailableError("down")

    api.store.get_account = down  # type: ignore[method-assign]

    response = api.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["dynamodb"] == "down"


def test_a_read_with_the_store_down_is_a_503_not_a_500(api: Api) -> None:
    user = api.new_user()

    async def down(username: str) -> None:
        raise StoreUnavailableError("get_item: dynamodb.internal timed out")

    api.store.get_account = down  # type: ignore[method-assign]

    response = api.get("/api/v1/balance", headers=user)

    assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "dynamodb.internal" not in response.text


def test_the_actors_down_make_the_replica_unavailable(api: Api) -> None:
    api.ledger.answers_ping = False

    response = api.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"dynamodb": "up", "redis": "up", "actors": "down"},
    }


def test_an_unknown_path_is_a_404_problem(api: Api) -> None:
    assert_problem(api.get("/api/v1/nothing-here"), 404, "resource_not_found")


def test_a_wrong_method_is_a_405_problem_listing_the_allowed_one(api: Api) -> None:
    response = api.request("DELETE", "/api/v1/balance/deposit")

    assert_problem(response, 405, "validation_error")
    assert response.headers["allow"] == "POST"


def test_a_request_id_becomes_the_trace_id_and_the_response_header(api: Api) -> None:
    response = api.get("/api/v1/nothing-here", headers={"X-Request-ID": "trace-42.a:b"})

    assert response.json()["trace_id"] == "trace-42.a:b"
    assert response.headers["x-request-id"] == "trace-42.a:b"


@pytest.mark.parametrize("sent", ["r" * 129, "has space", "<script>", "-leading-dash"])
def test_a_request_id_too_long_or_unsafe_is_replaced_by_a_fresh_one(api: Api, sent: str) -> None:
    response = api.get("/api/v1/nothing-here", headers={"X-Request-ID": sent})

    trace_id = response.json()["trace_id"]
    assert trace_id != sent
    assert uuid.UUID(trace_id).version == 4
    assert response.headers["x-request-id"] == trace_id


def test_a_request_without_an_id_gets_one_in_the_header_and_the_trace_id(api: Api) -> None:
    first = api.get("/api/v1/nothing-here")
    second = api.get("/api/v1/nothing-here")

    assert first.json()["trace_id"] == first.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_a_failure_with_the_store_unavailable_is_a_503_with_retry_after(api: Api) -> None:
    user = api.new_user()

    async def unavailable(username: str, command: Command, key: str) -> Outcome:
        return Failed(StoreUnavailableError("put_item: dynamodb.internal timed out"))

    api.ledger.execute = unavailable  # type: ignore[method-assign]

    response = api.deposit(user, "1.00")

    body = assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "dynamodb.internal" not in response.text
    assert body["detail"] == "Service unavailable"


def test_a_request_still_in_flight_is_a_409(api: Api) -> None:
    user = api.new_user()

    async def in_flight(username: str, command: Command, key: str) -> Outcome:
        return Failed(RequestInFlightError(key))

    api.ledger.execute = in_flight  # type: ignore[method-assign]

    assert_problem(api.deposit(user, "1.00"), 409, "conflict")


def test_an_unexpected_error_is_a_500_without_details() -> None:
    api = build_api(raise_app_exceptions=False)
    try:
        user = api.new_user()

        async def broken(username: str, command: Command, key: str) -> Outcome:
            raise RuntimeError("secret internals: table order-processor at 10.0.0.7")

        api.ledger.execute = broken  # type: ignore[method-assign]
        response = api.deposit(user, "1.00")
    finally:
        close_api(api)

    body = assert_problem(response, 500, "internal_error")
    assert body["detail"] == "An unexpected error occurred."
    assert "10.0.0.7" not in response.text


def test_the_openapi_document_is_served_and_offers_amounts_as_strings(api: Api) -> None:
    response = api.get("/openapi.json")

    schemas = response.json()["components"]["schemas"]
    amount = schemas["AmountRequest"]["properties"]["amount"]
    assert "string" in {option.get("type") for option in amount.get("anyOf", [amount])}
    assert "balance" not in schemas["UserCreate"]["properties"]
