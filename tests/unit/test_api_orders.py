"""Orders, holdings and the portfolio over HTTP (in-memory doubles, no Ray)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.quotes import Quote
from actors.market.memory import InMemoryPriceStore
from actors.market.reader import MarketReader
from tests.unit.api import Api
from tests.unit.market import make_asset
from tests.unit.test_api_auth import assert_problem

ORDERS = "/api/v1/orders"


@pytest.fixture
def market(api: Api) -> Api:
    """The API with a catalogue of BTC and ETH priced like the ledger's price source."""

    async def catalogue() -> list[Any]:
        return [
            make_asset("BTC", name="Bitcoin"),
            make_asset("ETH", name="Ethereum"),
            make_asset("LUNC", name="Terra Classic", is_active=False),
        ]

    async def latest() -> dict[str, Quote]:
        now = datetime.now(UTC)
        return {a: Quote(a, p, now) for a, p in api.prices.prices.items()}

    api.runtime.market = MarketReader(InMemoryPriceStore(available=False), catalogue, latest)
    return api


def order(
    api: Api, user: dict[str, str], order_type: str, quantity: Any, asset: str = "BTC", **extra: Any
) -> Any:
    body = {"order_type": order_type, "asset_id": asset, "quantity": quantity, **extra}
    headers = {**user, **extra.pop("headers", {})} if "headers" in extra else user
    return api.post(ORDERS, json=body, headers=headers)


def funded(api: Api, amount: str = "5000.00") -> dict[str, str]:
    user = api.new_user()
    assert api.deposit(user, amount).status_code == 201
    return user


def test_a_market_buy_is_201_with_the_order_filled_at_the_price(market: Api) -> None:
    user = funded(market)
    response = order(market, user, "market_buy", "0.01", "btc", client_order_id="c-1")
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["order_type"] == "market_buy" and data["asset_id"] == "BTC"
    assert (data["status"], data["quantity"], data["filled_price"], data["total_amount"]) == (
        "completed",
        "0.01000000",
        "50000.00",
        "500.00",
    )
    assert data["client_order_id"] == "c-1"
    assert market.balance(user) == "4500.00"
    fetched = market.get(f"{ORDERS}/{data['order_id']}", headers=user)
    assert fetched.status_code == 200 and fetched.json()["data"] == data


def test_the_holding_portfolio_and_histories_show_the_trade(market: Api) -> None:
    user = funded(market)
    assert order(market, user, "market_buy", "0.02").status_code == 201
    market.prices.prices["BTC"] = Decimal("60000.00")
    assert order(market, user, "market_sell", "0.01").status_code == 201

    holding = market.get("/api/v1/balance/asset/BTC", headers=user).json()
    assert holding["quantity"] == "0.01000000" and holding["asset_name"] == "Bitcoin"
    assert (holding["current_price"], holding["total_value"]) == ("60000.00", "600.00")
    assert holding["average_cost"] == "50000.00000000"

    portfolio = market.get("/api/v1/portfolio", headers=user).json()
    assert portfolio["cash_balance"] == "4600.00"
    assert portfolio["total_value"] == "5200.00"
    [btc] = portfolio["assets"]
    assert (btc["market_value"], btc["unrealized_pnl"], btc["percentage"]) == (
        "600.00",
        "100.00",
        "11.54",
    )

    cash = market.get("/api/v1/balance/transactions", headers=user).json()["transactions"]
    assert [t["transaction_type"] for t in cash] == ["ORDER_SALE", "ORDER_PAYMENT", "DEPOSIT"]
    assert cash[0]["order_id"] and cash[2]["order_id"] is None
    moves = market.get("/api/v1/assets/BTC/transactions", headers=user).json()
    assert [m["transaction_type"] for m in moves["transactions"]] == ["SELL", "BUY"]
    orders = market.get(ORDERS, headers=user, params={"order_type": "market_sell"}).json()
    assert [o["order_type"] for o in orders["data"]] == ["market_sell"]


def test_selling_more_than_is_held_is_409_and_a_retry_gets_the_same_answer(market: Api) -> None:
    user = funded(market)
    key = {"Idempotency-Key": "sell-1"}
    first = market.post(
        ORDERS,
        json={"order_type": "market_sell", "asset_id": "ETH", "quantity": "1"},
        headers={**user, **key},
    )
    body = assert_problem(first, 409, "insufficient_holdings")
    assert order(market, user, "market_buy", "1", "ETH").status_code == 201
    again = market.post(
        ORDERS,
        json={"order_type": "market_sell", "asset_id": "ETH", "quantity": "1"},
        headers={**user, **key},
    )
    assert assert_problem(again, 409, "insufficient_holdings")["detail"] == body["detail"]


def test_a_buy_beyond_the_cash_is_409_insufficient_funds(market: Api) -> None:
    user = funded(market, "100.00")
    assert_problem(order(market, user, "market_buy", "0.01"), 409, "insufficient_funds")
    assert market.balance(user) == "100.00"


def test_the_client_order_id_is_the_key_without_an_idempotency_key(market: Api) -> None:
    user = funded(market)
    first = order(market, user, "market_buy", "0.01", client_order_id="same")
    again = order(market, user, "market_buy", "0.01", client_order_id="same")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert market.balance(user) == "4500.00"


def test_without_a_price_an_order_is_503_with_retry_after_and_changes_nothing(market: Api) -> None:
    user = funded(market)
    market.prices.stale.add("BTC")
    response = order(market, user, "market_buy", "0.01")
    assert_problem(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) >= 1
    assert market.balance(user) == "5000.00"
    assert market.get(ORDERS, headers=user).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.0001"}, "quantity"),
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.123456789"}, "quantity"),
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "1e400"}, "quantity"),
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.5"}, "quantity"),
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "1", "price": "1"}, "price"),
        ({"order_type": "stop_loss", "asset_id": "BTC", "quantity": "1"}, "order_type"),
        ({"order_type": "market_buy", "asset_id": "B C", "quantity": "1"}, "asset_id"),
        ({"order_type": "market_buy", "asset_id": "BTC", "quantity": "1", "extra": 1}, "extra"),
    ],
)
def test_bad_orders_are_422_and_change_nothing(
    market: Api, body: dict[str, Any], field: str
) -> None:
    user = funded(market)
    events = market.event_count()
    problem = assert_problem(market.post(ORDERS, json=body, headers=user), 422, "validation_error")
    assert any(field in e["field"] for e in problem["errors"]), problem
    assert market.event_count() == events


def test_an_order_worth_more_than_the_maximum_is_422(market: Api) -> None:
    user = funded(market)
    assert_problem(order(market, user, "market_buy", "0.21"), 422, "validation_error")


def test_another_users_order_is_404_like_a_random_id(market: Api) -> None:
    alice, bob = funded(market), market.new_user()
    order_id = order(market, alice, "market_buy", "0.01").json()["data"]["order_id"]
    theirs = market.get(f"{ORDERS}/{order_id}", headers=bob)
    random = market.get(f"{ORDERS}/01890000-0000-7000-8000-000000000000", headers=bob)
    assert_problem(theirs, 404, "resource_not_found")
    each_own = {"instance": "", "trace_id": ""}  # the path and the request's id differ
    assert theirs.json() | each_own == random.json() | each_own
    assert market.get("/api/v1/assets/BTC/transactions", headers=bob).json()["transactions"] == []
    assert_problem(market.get("/api/v1/balance/asset/BTC", headers=bob), 404, "resource_not_found")


def test_order_pages_follow_the_cursor_and_a_foreign_cursor_is_400(market: Api) -> None:
    alice, bob = funded(market), market.new_user()
    ids = [order(market, alice, "market_buy", "0.001").json()["data"]["order_id"] for _ in range(5)]
    first = market.get(ORDERS, headers=alice, params={"limit": 2}).json()
    assert [o["order_id"] for o in first["data"]] == ids[::-1][:2] and first["has_more"]
    seen = [o["order_id"] for o in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = market.get(ORDERS, headers=alice, params={"limit": 2, "cursor": cursor}).json()
        seen += [o["order_id"] for o in page["data"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    stolen = market.get(ORDERS, headers=bob, params={"cursor": first["next_cursor"]})
    assert_problem(stolen, 400, "validation_error")


def test_a_user_who_never_deposited_has_an_empty_portfolio(market: Api) -> None:
    user = market.new_user()
    assert market.get("/api/v1/portfolio", headers=user).json() == {
        "cash_balance": "0.00",
        "available_cash": "0.00",
        "held_cash": "0.00",
        "total_value": "0.00",
        "assets": [],
    }


def test_an_asset_that_is_not_traded_is_422_on_the_asset_id(market: Api) -> None:
    user = funded(market)
    problem = assert_problem(
        order(market, user, "market_buy", "1", "NOPE"), 422, "validation_error"
    )
    assert problem["errors"][0]["field"] == "asset_id"


def test_a_read_with_the_store_unreachable_is_503_not_500(
    market: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors.store.errors import StoreUnavailableError

    user = market.new_user()

    async def unreachable(username: str) -> None:
        raise StoreUnavailableError("connect timeout")

    market.cache.entries.clear()
    monkeypatch.setattr(market.store, "get_account", unreachable)
    response = market.get("/api/v1/balance", headers=user)
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert "connect timeout" not in response.text
