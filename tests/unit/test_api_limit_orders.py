"""Limit orders and cancel over HTTP (in-memory doubles, no Ray): reservations shown as held,
released exactly once by a cancel or a fill, 404/409 where API.md says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from actors.domain.commands import FillOrder
from actors.ledger.results import Committed, Failed
from tests.unit.api import Api
from tests.unit.test_api_auth import assert_problem
from tests.unit.test_api_orders import ORDERS, funded, market, order

__all__ = ["market"]  # the fixture, re-exported for pytest


def balance(api: Api, user: dict[str, str]) -> dict[str, Any]:
    response = api.get("/api/v1/balance", headers=user)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cancel(api: Api, user: dict[str, str], order_id: str, **headers: str) -> Any:
    return api.post(f"{ORDERS}/{order_id}/cancel", headers={**user, **headers})


def fill(api: Api, user: dict[str, str], order_id: str, price: str) -> Any:
    username = api.get("/api/v1/auth/profile", headers=user).json()["username"]
    command = FillOrder(order_id, Decimal(price), datetime.now(UTC))
    return api.run(api.ledger.service.execute(username, command, f"fill:{order_id}"))


def test_a_limit_buy_is_queued_with_its_cost_held(market: Api) -> None:
    user = funded(market, "1000.00")
    too_precise = order(market, user, "limit_buy", "0.01", price="40000.000000001")
    assert_problem(too_precise, 422, "validation_error")
    response = order(market, user, "limit_buy", "0.01", price="40000.12345")
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["status"], data["price"], data["filled_price"], data["total_amount"]) == (
        "queued",
        "40000.12345",
        None,
        None,
    )
    money = balance(market, user)
    assert (money["current_balance"], money["held_balance"], money["available_balance"]) == (
        "1000.00",
        "400.01",  # 0.01 x 40000.12345 = 400.0012345, rounded up to the cent
        "599.99",
    )
    portfolio = market.get("/api/v1/portfolio", headers=user).json()
    assert (portfolio["held_cash"], portfolio["available_cash"]) == ("400.01", "599.99")
    listed = market.get(ORDERS, params={"status": "queued"}, headers=user).json()["data"]
    assert [o["order_id"] for o in listed] == [data["order_id"]]


def test_a_limit_buy_needs_its_reservation_available(market: Api) -> None:
    user = funded(market, "500.00")
    assert order(market, user, "limit_buy", "0.01", price="40000").status_code == 201
    refused = order(market, user, "limit_buy", "0.01", price="40000")
    assert_problem(refused, 409, "insufficient_funds")
    withdraw = market.post(
        "/api/v1/balance/withdraw", json={"amount": "100.01"}, headers=user
    )  # 100.00 is available: the rest is held
    assert_problem(withdraw, 409, "insufficient_funds")


def test_cancel_releases_the_reservation_once_and_then_is_409(market: Api) -> None:
    user = funded(market, "1000.00")
    placed = order(market, user, "limit_buy", "0.01", price="40000").json()["data"]
    response = cancel(market, user, placed["order_id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "cancelled"
    assert balance(market, user)["held_balance"] == "0.00"
    assert balance(market, user)["available_balance"] == "1000.00"
    assert_problem(cancel(market, user, placed["order_id"]), 409, "conflict")
    assert balance(market, user)["available_balance"] == "1000.00"
    fetched = market.get(f"{ORDERS}/{placed['order_id']}", headers=user).json()["data"]
    assert fetched["status"] == "cancelled"


def test_a_cancel_retried_with_its_key_gets_the_first_answer(market: Api) -> None:
    user = funded(market, "1000.00")
    placed = order(market, user, "limit_buy", "0.01", price="40000").json()["data"]
    first = cancel(market, user, placed["order_id"], **{"Idempotency-Key": "cancel-1"})
    again = cancel(market, user, placed["order_id"], **{"Idempotency-Key": "cancel-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()


def test_cancelling_a_filled_order_is_409_and_another_users_order_404(market: Api) -> None:
    user, other = funded(market), funded(market)
    filled = order(market, user, "market_buy", "0.01").json()["data"]
    assert_problem(cancel(market, user, filled["order_id"]), 409, "conflict")
    queued = order(market, user, "limit_buy", "0.01", price="40000").json()["data"]
    theirs = cancel(market, other, queued["order_id"])
    nobody = cancel(market, other, "0190a5c4-0000-7000-8000-000000000000")
    assert_problem(theirs, 404, "resource_not_found")
    assert theirs.json()["detail"] == nobody.json()["detail"]
    assert balance(market, user)["held_balance"] == "400.00"


def test_a_fill_at_a_lower_price_releases_the_difference_exactly_once(market: Api) -> None:
    user = funded(market, "1000.00")
    placed = order(market, user, "limit_buy", "0.01", price="40000").json()["data"]
    assert isinstance(fill(market, user, placed["order_id"], "40000.01"), Failed)  # not crossed
    outcome = fill(market, user, placed["order_id"], "39000.555")
    assert isinstance(outcome, Committed) and not outcome.replayed
    again = fill(market, user, placed["order_id"], "38000")
    assert isinstance(again, Committed) and again.replayed  # the same fill, not another
    money = balance(market, user)
    assert (money["current_balance"], money["held_balance"]) == ("609.99", "0.00")
    holding = market.get("/api/v1/balance/asset/BTC", headers=user).json()
    assert holding["quantity"] == "0.01000000"
    fetched = market.get(f"{ORDERS}/{placed['order_id']}", headers=user).json()["data"]
    assert (fetched["status"], fetched["filled_price"], fetched["total_amount"]) == (
        "completed",
        "39000.555",
        "390.01",
    )
    history = market.get("/api/v1/balance/transactions", headers=user).json()["transactions"]
    assert history[0]["order_id"] == placed["order_id"] and history[0]["amount"] == "390.01"
    assert_problem(cancel(market, user, placed["order_id"]), 409, "conflict")


def test_a_limit_sell_holds_the_quantity_until_it_fills(market: Api) -> None:
    user = funded(market, "1000.00")
    assert order(market, user, "market_buy", "0.01").status_code == 201  # 500.00 at 50000
    placed = order(market, user, "limit_sell", "0.006", price="60000").json()["data"]
    holding = market.get("/api/v1/balance/asset/BTC", headers=user).json()
    assert (holding["quantity"], holding["available_quantity"]) == ("0.01000000", "0.00400000")
    portfolio = market.get("/api/v1/portfolio", headers=user).json()
    assert (portfolio["assets"][0]["held_quantity"], portfolio["held_cash"]) == (
        "0.00600000",
        "0.00",
    )
    assert portfolio["assets"][0]["available_quantity"] == "0.00400000"
    assert_problem(order(market, user, "market_sell", "0.005"), 409, "insufficient_holdings")
    assert_problem(
        order(market, user, "limit_sell", "0.005", price="60000"), 409, "insufficient_holdings"
    )
    assert isinstance(fill(market, user, placed["order_id"], "60000.99"), Committed)
    holding = market.get("/api/v1/balance/asset/BTC", headers=user).json()
    assert (holding["quantity"], holding["available_quantity"]) == ("0.00400000", "0.00400000")
    assert balance(market, user)["current_balance"] == "860.00"  # 500 + 0.006 x 60000.99 down


def test_limit_order_input_is_checked(market: Api) -> None:
    user = funded(market)
    assert_problem(order(market, user, "limit_buy", "0.01"), 422, "validation_error")
    assert_problem(order(market, user, "limit_buy", "0.01", price="0"), 422, "validation_error")
    assert_problem(
        order(market, user, "limit_buy", "1", price="20000"), 422, "validation_error"
    )  # worth more than 10,000
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = order(market, user, "limit_buy", "0.01", price="40000", expires_at=past)
    assert_problem(expired, 422, "validation_error")
    assert expired.json()["errors"][0]["field"] == "expires_at"
    naive = order(market, user, "limit_buy", "0.01", price="40000", expires_at="2030-01-01T00:00")
    assert naive.status_code == 422
    market_with_price = order(market, user, "market_buy", "0.01", price="40000")
    assert_problem(market_with_price, 422, "validation_error")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    market_with_expiry = order(market, user, "market_buy", "0.01", expires_at=future)
    assert_problem(market_with_expiry, 422, "validation_error")
    assert balance(market, user)["held_balance"] == "0.00"


def test_a_limit_order_with_an_expiry_shows_it(market: Api) -> None:
    user = funded(market)
    future = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    placed = order(market, user, "limit_buy", "0.01", price="40000", expires_at=future.isoformat())
    assert placed.status_code == 201, placed.text
    assert datetime.fromisoformat(placed.json()["data"]["expires_at"]) == future
