"""Mass assignment: a field the client may not set (``balance``, ``role``, ``user_id``,
``status``) sent to register, deposit, withdraw or order is a 422 problem and changes nothing."""

from __future__ import annotations

import pytest

from tests.unit.api import Api, registration, unique_username
from tests.unit.test_api_auth import assert_problem
from tests.unit.test_api_orders import ORDERS, funded

PROTECTED = [
    {"balance": "1000000.00"},
    {"role": "admin"},
    {"user_id": "someone_else"},
    {"status": "completed"},
]


def assert_names_the_field(body: dict[str, object], field: str) -> None:
    assert field in str(body["errors"])
    assert "1000000" not in str(body) and "admin" not in str(body)  # never echoed


@pytest.mark.parametrize("extra", PROTECTED)
def test_a_registration_setting_a_protected_field_creates_no_user(
    api: Api, extra: dict[str, str]
) -> None:
    username = unique_username()

    response = api.register(username, **extra)

    body = assert_problem(response, 422, "validation_error")
    assert_names_the_field(body, next(iter(extra)))
    assert api.login(username).status_code == 401
    assert api.register(username).status_code == 201  # the name was never taken


@pytest.mark.parametrize("path", ["/api/v1/balance/deposit", "/api/v1/balance/withdraw"])
@pytest.mark.parametrize("extra", PROTECTED)
def test_a_cash_operation_setting_a_protected_field_changes_nothing(
    api: Api, path: str, extra: dict[str, str]
) -> None:
    user = funded(api, "100.00")
    events = api.event_count()

    response = api.post(path, json={"amount": "5.00", **extra}, headers=user)

    body = assert_problem(response, 422, "validation_error")
    assert_names_the_field(body, next(iter(extra)))
    assert api.balance(user) == "100.00"
    assert api.event_count() == events


@pytest.mark.parametrize("extra", PROTECTED)
@pytest.mark.parametrize("order_type", ["market_buy", "limit_buy"])
def test_an_order_setting_a_protected_field_is_not_placed(
    api: Api, extra: dict[str, str], order_type: str
) -> None:
    user = funded(api, "5000.00")
    events = api.event_count()
    body = {"order_type": order_type, "asset_id": "BTC", "quantity": "0.01", **extra}
    if order_type == "limit_buy":
        body["price"] = "40000.00"

    response = api.post(ORDERS, json=body, headers=user)

    problem = assert_problem(response, 422, "validation_error")
    assert_names_the_field(problem, next(iter(extra)))
    assert api.get(ORDERS, headers=user).json()["data"] == []
    assert api.balance(user) == "5000.00"
    assert api.event_count() == events


def test_a_registration_body_is_otherwise_accepted(api: Api) -> None:
    assert api.post("/api/v1/auth/register", json=registration()).status_code == 201
