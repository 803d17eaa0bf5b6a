"""The problem-details table, the error handlers, health and readiness."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from actors.domain.commands import Command
from actors.domain.errors import (
    DailyLimitExceededError,
    DomainError,
    InsufficientFundsError,
    InvalidAmountError,
)
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError, UserExistsError
from actors.ledger.records import Outcome, Rejection
from actors.store.errors import StoreUnavailableError
from serve.problems import Problem, problem_for
from tests.unit.api import Api, build_api, close_api
from tests.unit.test_api_auth import assert_problem


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InsufficientFundsError(Decimal(2), Decimal(1)), 409, "insufficient_funds"),
        (DailyLimitExceededError("deposit", Decimal(10), Decimal(9)), 409, "conflict"),
        (UserExistsError("email"), 409, "resource_already_exists"),
        (RequestInFlightError("k"), 409, "conflict"),
        (IdempotencyKeyReusedError("k"), 422, "idempotency_key_reused"),
        (StoreUnavailableError("boom"), 503, "service_unavailable"),
    ],
)
def test_each_domain_and_ledger_error_has_its_status_and_code(
    error: DomainError, status: int, code: str
) -> None:
    problem = problem_for(error)

    assert (problem.status, problem.code) == (status, code)


def test_an_unavailable_store_asks_the_client_to_retry_and_hides_the_reason() -> None:
    problem = problem_for(StoreUnavailableError("dynamodb.internal:8000 refused"))

    assert problem.headers == {"Retry-After": "1"}
    assert "dynamodb.internal" not in problem.detail


def test_an_error_missing_from_the_table_is_a_bug_and_is_raised() -> None:
    with pytest.raises(InvalidAmountError):
        problem_for(InvalidAmountError("not mapped"))


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

    api.store.get_balance = down  # type: ignore[assignment, method-assign]

    response = api.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"]["dynamodb"] == "down"


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


def test_a_request_id_becomes_the_trace_id_truncated(api: Api) -> None:
    response = api.get("/api/v1/nothing-here", headers={"X-Request-ID": "r" * 300})

    assert response.json()["trace_id"] == "r" * 128


def test_a_refusal_with_the_store_unavailable_is_a_503_with_retry_after(api: Api) -> None:
    user = api.new_user()

    async def unavailable(username: str, command: Command, key: str) -> Outcome:
        return Rejection(StoreUnavailableError("put_item: dynamodb.internal timed out"))

    api.ledger.execute = unavailable  # type: ignore[method-assign]

    response = api.deposit(user, "1.00")

    body = assert_problem(response, 503, "service_unavailable")
    assert response.headers["retry-after"] == "1"
    assert "dynamodb.internal" not in response.text
    assert body["detail"] == "Service unavailable"


def test_a_request_still_in_flight_is_a_409(api: Api) -> None:
    user = api.new_user()

    async def in_flight(username: str, command: Command, key: str) -> Outcome:
        return Rejection(RequestInFlightError(key))

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
