"""The inventory routes over ASGI, on a ``MarketReader`` with in-memory doubles: the original
service's shapes, decimal strings, case-insensitive ids, problem details, and answers (never a
500) with Redis, the feed or the table down."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from actors.domain.quotes import Quote
from actors.market.catalogue import Asset
from actors.market.errors import CatalogueUnavailableError
from actors.market.history import PricePoint
from actors.market.memory import InMemoryPriceStore
from actors.market.reader import MarketReader
from serve.app import create_api
from serve.runtime import build_runtime
from serve.settings import Settings
from tests.unit.api import build_api, close_api
from tests.unit.market import T0, Clock, make_asset, quote

CATALOGUE = [
    make_asset(
        "BTC",
        name="Bitcoin",
        initial_price_usd="97000.00",
        market_cap_rank=1,
        circulating_supply=19800000,
        max_supply=21000000,
    ),
    make_asset("USDT", category="stablecoin", initial_price_usd="1.00", market_cap_rank=3),
    make_asset("PEPE", category="meme", initial_price_usd="0.000018", market_cap_rank=30),
    make_asset("ETH", initial_price_usd="3400.00", market_cap_rank=2),
    make_asset("LUNC", initial_price_usd="0.00009", market_cap_rank=None, is_active=False),
]
NOW = T0 + timedelta(hours=1)


class Market:
    """The app on a reader whose store, table and feed the test controls."""

    def __init__(self) -> None:
        self.store = InMemoryPriceStore()
        self.catalogue: list[Asset] | None = list(CATALOGUE)
        self.feed: Mapping[str, Quote] | None = None
        self.api = build_api()
        clock = Clock(now=NOW)
        reader = MarketReader(
            self.store, self._load, self._feed, clock=clock, monotonic=clock.monotonic
        )
        self.app = create_api(dataclasses.replace(self.api.runtime, market=reader))
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def _load(self) -> list[Asset]:
        if self.catalogue is None:
            raise CatalogueUnavailableError("dynamodb down")
        return self.catalogue

    async def _feed(self) -> Mapping[str, Quote]:
        if self.feed is None:
            raise ConnectionError("no feed")
        return self.feed

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.api.run(self.client.get("/api/v1/inventory" + path, params=params))

    def close(self) -> None:
        self.api.run(self.client.aclose())
        close_api(self.api)


def populated_market() -> Market:
    """The app with a price for each asset and some history of BTC."""
    subject = Market()
    subject.store.latest = {
        "BTC": quote("BTC", "98000.12345678", NOW),
        "ETH": quote("ETH", "3500.00000000", NOW),
        "PEPE": quote("PEPE", "0.00000021", NOW),
        "USDT": quote("USDT", "1.00010000", NOW),
        "LUNC": quote("LUNC", "0.00009000", NOW),
    }
    points = [
        PricePoint(T0, Decimal(97000), Decimal(99000), Decimal(96000), Decimal(98500)),
        PricePoint(T0 + timedelta(minutes=30), *(Decimal(v) for v in (98500, 98600, 97500, 98000))),
    ]
    subject.store.points["BTC"] = {p.at: p for p in points}
    return subject


@pytest.fixture
def market() -> Iterator[Market]:
    subject = populated_market()
    yield subject
    subject.close()


def ids(response: httpx.Response) -> list[str]:
    return [a["asset_id"] for a in response.json()["data"]]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


def test_the_list_has_the_original_shape_sorted_by_rank_active_only(market: Market) -> None:
    response = market.get("/assets")

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == ["BTC", "ETH", "USDT", "PEPE"]
    assert (body["total_count"], body["active_count"]) == (5, 4)
    btc = body["data"][0]
    assert btc == {
        "asset_id": "BTC",
        "symbol": "btc",
        "name": "Bitcoin",
        "description": "The BTC coin.",
        "category": "layer1",
        "is_active": True,
        "market_cap_rank": 1,
        "price_usd": "98000.12345678",
        "price_updated_at": NOW.isoformat(),
        "price_change_percentage_24h": "1.03",
        "market_cap": "1940402444444.24",
    }


def test_prices_are_plain_decimal_strings_even_when_tiny(market: Market) -> None:
    pepe = next(a for a in market.get("/assets").json()["data"] if a["asset_id"] == "PEPE")

    assert pepe["price_usd"] == "0.00000021"
    assert pepe["market_cap"] == "0.00"
    assert pepe["price_change_percentage_24h"] is None  # no history for PEPE


def test_the_list_filters_by_category_activity_and_limit(market: Market) -> None:
    assert ids(market.get("/assets", category="Stablecoin")) == ["USDT"]
    assert ids(market.get("/assets", active_only="false")) == ["BTC", "ETH", "USDT", "PEPE", "LUNC"]
    assert ids(market.get("/assets", limit=2)) == ["BTC", "ETH"]
    layer1 = market.get("/assets", category="layer1", active_only="false").json()
    assert (layer1["total_count"], layer1["active_count"]) == (3, 2)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"category": "a b"}, {"active_only": "maybe"}]
)
def test_bad_list_parameters_are_a_422_problem(market: Market, params: dict[str, Any]) -> None:
    assert_problem(market.get("/assets", **params), 422, "validation_error")


@pytest.mark.parametrize("asset_id", ["BTC", "btc", "Btc"])
def test_the_detail_has_price_24h_figures_market_cap_and_supply(
    market: Market, asset_id: str
) -> None:
    response = market.get(f"/assets/{asset_id}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["asset_id"] == "BTC"
    assert data["price_usd"] == "98000.12345678"
    assert data["price_change_24h"] == "1000.12345678"
    assert data["price_change_percentage_24h"] == "1.03"
    assert (data["high_24h"], data["low_24h"]) == ("99000.00000000", "96000.00000000")
    assert data["market_cap"] == "1940402444444.24"
    assert (data["circulating_supply"], data["max_supply"]) == ("19800000", "21000000")
    assert data["availability_status"] == "available"


def test_an_inactive_asset_is_shown_unavailable(market: Market) -> None:
    data = market.get("/assets/lunc").json()["data"]

    assert (data["availability_status"], data["max_supply"]) == ("unavailable", None)


def test_an_unknown_asset_is_a_404_problem_that_does_not_echo_the_id(market: Market) -> None:
    for path in ("/assets/NOPE", "/assets/NOPE/prices"):
        body = assert_problem(market.get(path), 404, "resource_not_found")
        assert "NOPE" not in body["detail"]


def test_a_malformed_asset_id_is_a_422_problem(market: Market) -> None:
    assert_problem(market.get("/assets/B-T"), 422, "validation_error")
    assert_problem(market.get("/assets/" + "A" * 21), 422, "validation_error")


def test_the_price_history_is_oldest_first_within_limit_and_hours(market: Market) -> None:
    everything = market.get("/assets/btc/prices").json()
    newest = market.get("/assets/BTC/prices", limit=1).json()
    last_half_hour = market.get("/assets/BTC/prices", hours=0.5).json()

    assert everything["asset_id"] == "BTC"
    assert [p["price"] for p in everything["data"]] == ["98500.00000000", "98000.00000000"]
    assert everything["data"][0] == {
        "timestamp": T0.isoformat(),
        "price": "98500.00000000",
        "open": "97000.00000000",
        "high": "99000.00000000",
        "low": "96000.00000000",
    }
    assert [p["price"] for p in newest["data"]] == ["98000.00000000"]
    assert len(last_half_hour["data"]) == 1


@pytest.mark.parametrize("params", [{"hours": 0}, {"hours": 169}, {"limit": 1441}])
def test_bad_history_parameters_are_a_422_problem(market: Market, params: dict[str, Any]) -> None:
    assert_problem(market.get("/assets/BTC/prices", **params), 422, "validation_error")


def test_with_redis_down_the_feed_prices_are_shown_without_24h_figures(market: Market) -> None:
    market.store.available = False
    market.feed = {"BTC": quote("BTC", "97500.00000000", NOW)}

    listed = market.get("/assets").json()["data"]
    detail = market.get("/assets/BTC").json()["data"]
    history = market.get("/assets/BTC/prices")

    assert (listed[0]["price_usd"], listed[0]["price_updated_at"]) == (
        "97500.00000000",
        NOW.isoformat(),
    )
    assert (listed[1]["price_usd"], listed[1]["price_updated_at"]) == ("3400.00000000", None)
    assert detail["price_change_24h"] is None and detail["high_24h"] is None
    assert history.status_code == 200 and history.json()["data"] == []


def test_with_redis_and_the_feed_down_the_initial_prices_are_shown(market: Market) -> None:
    market.store.available = False

    response = market.get("/assets")

    assert response.status_code == 200
    assert response.json()["data"][0]["price_usd"] == "97000.00000000"


def test_without_any_catalogue_the_answer_is_a_503_with_retry_after(market: Market) -> None:
    market.store.available = False
    market.catalogue = None

    response = market.get("/assets")

    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"
    assert_problem(market.get("/assets/BTC"), 503, "service_unavailable")


def test_an_app_built_without_a_market_lists_nothing(api: Any) -> None:
    listed = api.get("/api/v1/inventory/assets")

    assert listed.status_code == 200
    assert listed.json() == {"data": [], "total_count": 0, "active_count": 0}
    assert_problem(api.get("/api/v1/inventory/assets/BTC"), 404, "resource_not_found")


def test_the_inventory_needs_no_authentication_and_is_documented(market: Market) -> None:
    paths = market.api.run(market.client.get("/openapi.json")).json()["paths"]

    assert {
        "/api/v1/inventory/assets",
        "/api/v1/inventory/assets/{asset_id}",
        "/api/v1/inventory/assets/{asset_id}/prices",
    } <= set(paths)
    assert market.get("/assets").status_code == 200  # no Authorization header


def test_the_runtime_builds_a_market_reader_without_touching_the_network() -> None:
    runtime = build_runtime(Settings(environment="test", jwt_secret="x" * 40))
    runtime.cpu.close()

    assert isinstance(runtime.market, MarketReader)
