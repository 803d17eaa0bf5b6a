"""Portfolio insights over HTTP (in-memory doubles, no Ray)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.quotes import Quote
from actors.market.memory import InMemoryPriceStore
from actors.market.reader import MarketReader
from actors.store.records import OrderView
from serve.routes import insights as insights_route
from tests.unit.api import Api
from tests.unit.market import make_asset
from tests.unit.test_api_auth import assert_problem

INSIGHTS = "/api/v1/insights/portfolio"


def catalogue_of(api: Api, *asset_ids: str) -> MarketReader:
    """A market with ``asset_ids`` in its catalogue, priced like the ledger's price source."""

    async def catalogue() -> list[Any]:
        return [make_asset(a, name=f"{a} coin") for a in asset_ids]

    async def latest() -> dict[str, Quote]:
        now = datetime.now(UTC)
        return {a: Quote(a, p, now) for a, p in api.prices.prices.items()}

    return MarketReader(InMemoryPriceStore(available=False), catalogue, latest)


@pytest.fixture
def market(api: Api) -> Api:
    api.runtime.market = catalogue_of(api, "BTC", "ETH")
    return api


def funded(api: Api, amount: str = "5000.00") -> dict[str, str]:
    user = api.new_user()
    assert api.deposit(user, amount).status_code == 201
    return user


def trade(api: Api, user: dict[str, str], order_type: str, quantity: str, asset: str) -> None:
    body = {"order_type": order_type, "asset_id": asset, "quantity": quantity}
    response = api.post("/api/v1/orders", json=body, headers=user)
    assert response.status_code == 201, response.text


def insights_of(api: Api, user: dict[str, str]) -> dict[str, Any]:
    response = api.get(INSIGHTS, headers=user)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_user_with_no_assets_is_all_cash_and_told_so(market: Api) -> None:
    user = funded(market, "1000")

    body = insights_of(market, user)

    assert (body["total_value"], body["cash_balance"], body["cash_share"]) == (
        "1000.00",
        "1000.00",
        "100.00",
    )
    assert body["allocation"] == [
        {
            "kind": "cash",
            "asset_id": None,
            "asset_name": None,
            "quantity": None,
            "current_price": None,
            "priced": True,
            "value": "1000.00",
            "percentage": "100.00",
        }
    ]
    assert body["concentration"] == {
        "largest_asset_id": None,
        "largest_share": "0.00",
        "hhi": "0.00",
    }
    assert body["pnl"] == {
        "realized_total": "0.00",
        "unrealized_total": "0.00",
        "total": "0.00",
        "assets": [],
    }
    assert body["observations"] == ["You hold no assets yet."]
    assert (body["orders_read"], body["history_truncated"]) == (0, False)


def test_two_assets_show_allocation_concentration_and_both_kinds_of_pnl(market: Api) -> None:
    user = funded(market)
    trade(market, user, "market_buy", "0.02", "BTC")  # 1000.00
    trade(market, user, "market_buy", "1", "ETH")  # 2500.00
    market.prices.prices["BTC"] = Decimal("60000.00")
    trade(market, user, "market_sell", "0.01", "BTC")  # 600.00 for a cost of 500.00
    market.prices.prices["ETH"] = Decimal("2200.00")

    body = insights_of(market, user)

    assert body["total_value"] == "4900.00"  # 2100.00 cash + 600.00 BTC + 2200.00 ETH
    assert [(s["asset_id"], s["value"], s["percentage"]) for s in body["allocation"]] == [
        ("BTC", "600.00", "12.24"),
        ("ETH", "2200.00", "44.90"),
        (None, "2100.00", "42.86"),
    ]
    btc = body["allocation"][0]
    assert (btc["asset_name"], btc["quantity"], btc["current_price"]) == (
        "BTC coin",
        "0.01000000",
        "60000.00",
    )
    assert body["concentration"] == {
        "largest_asset_id": "ETH",
        "largest_share": "44.90",
        "hhi": "6632.65",
    }
    assert body["pnl"] == {
        "realized_total": "100.00",
        "unrealized_total": "-200.00",
        "total": "-100.00",  # 2800.00 held less 2900.00 net paid for it
        "assets": [
            {
                "asset_id": "BTC",
                "realized_pnl": "100.00",
                "unrealized_pnl": "100.00",
                "unrealized_pnl_percent": "20.00",
            },
            {
                "asset_id": "ETH",
                "realized_pnl": "0.00",
                "unrealized_pnl": "-300.00",
                "unrealized_pnl_percent": "-12.00",
            },
        ],
    }
    assert body["observations"] == [
        "Your assets are concentrated: a Herfindahl-Hirschman index of 6633 of 10000 is like "
        "holding 1.5 equal positions.",
        "ETH is down 12% from your average cost.",
    ]
    assert body["orders_read"] == 3
    portfolio = market.get("/api/v1/portfolio", headers=user).json()
    assert portfolio["total_value"] == body["total_value"]
    assert [a["unrealized_pnl"] for a in portfolio["assets"]] == ["100.00", "-300.00"]


def test_another_users_trades_never_show(market: Api) -> None:
    alice, bob = funded(market), funded(market, "1000")
    trade(market, alice, "market_buy", "0.01", "BTC")
    trade(market, bob, "market_buy", "0.1", "ETH")
    trade(market, bob, "market_sell", "0.1", "ETH")

    of_alice, of_bob = insights_of(market, alice), insights_of(market, bob)

    assert [p["asset_id"] for p in of_alice["pnl"]["assets"]] == ["BTC"]
    assert of_alice["orders_read"] == 1 and of_alice["total_value"] == "5000.00"
    assert [p["asset_id"] for p in of_bob["pnl"]["assets"]] == ["ETH"]
    assert of_bob["orders_read"] == 2 and of_bob["allocation"][0]["kind"] == "cash"


def test_a_holding_the_catalogue_cannot_price_is_valued_at_cost(market: Api) -> None:
    user = funded(market)
    trade(market, user, "market_buy", "1", "ETH")
    market.runtime.market = catalogue_of(market, "BTC")

    body = insights_of(market, user)

    [eth, _] = body["allocation"]
    assert (eth["priced"], eth["current_price"], eth["asset_name"], eth["value"]) == (
        False,
        None,
        None,
        "2500.00",
    )
    assert "No current price for ETH: valued at its cost." in body["observations"]


def test_only_the_newest_orders_are_replayed_beyond_the_cap(
    market: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insights_route, "MAX_ORDERS_READ", 3)
    monkeypatch.setattr(insights_route, "ORDERS_PAGE", 2)
    user = funded(market)
    for _ in range(2):
        trade(market, user, "market_buy", "0.01", "BTC")
    for _ in range(2):
        trade(market, user, "market_sell", "0.01", "BTC")

    body = insights_of(market, user)

    assert (body["orders_read"], body["history_truncated"]) == (3, True)
    assert body["observations"][-1].startswith("Realized P&L covers only your most recent")


def test_the_cap_reached_exactly_is_not_a_truncation(
    market: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(insights_route, "MAX_ORDERS_READ", 2)
    user = funded(market)
    trade(market, user, "market_buy", "0.01", "BTC")
    trade(market, user, "market_sell", "0.01", "BTC")

    body = insights_of(market, user)

    assert (body["orders_read"], body["history_truncated"]) == (2, False)
    assert body["pnl"]["realized_total"] == "0.00"


def test_a_filled_limit_order_replays_by_its_side() -> None:
    order = OrderView(
        seq=4,
        order_id="o-1",
        client_order_id=None,
        order_type="limit_sell",
        asset_id="BTC",
        quantity=Decimal("0.5"),
        price=Decimal("100"),
        status="completed",
        filled_price=Decimal("101"),
        total_amount=Decimal("50.50"),
        created_at="2024-03-01T12:00:00+00:00",
        updated_at="2024-03-01T12:01:00+00:00",
    )

    replayed = insights_route.completed_order(order)

    assert (replayed.side, replayed.quantity, replayed.amount) == (
        "sell",
        Decimal("0.5"),
        Decimal("50.50"),
    )
    bought = insights_route.completed_order(replace(order, order_type="limit_buy"))
    assert bought.side == "buy"


def test_insights_without_a_token_are_401(api: Api) -> None:
    response = api.get(INSIGHTS)

    assert_problem(response, 401, "authentication_failed")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad = api.get(INSIGHTS, headers={"Authorization": "Bearer not-a-token"})
    assert_problem(bad, 401, "authentication_failed")
