"""Prices on the real stack: the feed ticks, the inventory lists, filters, sorts and details
assets from Redis, and a killed feed restarts from the prices it stored, not the initial ones."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
import ray

from actors.market.feed import FEED_NAME
from actors.settings import LedgerSettings
from cluster.local import LocalStack

pytestmark = pytest.mark.integration
INVENTORY = "/api/v1/inventory"


def feed_of(stack: LocalStack) -> Any:
    return ray.get_actor(FEED_NAME, namespace=LedgerSettings(**stack.settings).namespace)


def detail(client: httpx.Client, asset_id: str) -> dict[str, Any]:
    response = client.get(f"{INVENTORY}/assets/{asset_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout_s} s")


def test_prices_tick_and_the_detail_has_its_24h_figures(
    stack: LocalStack, client: httpx.Client
) -> None:
    tick_s = LedgerSettings(**stack.settings).price_tick_interval_s
    first = detail(client, "btc")

    second = wait_for(
        lambda: (d := detail(client, "BTC"))["price_usd"] != first["price_usd"] and d,
        10 * tick_s + 5,
        "the BTC price did not move",
    )

    price = Decimal(second["price_usd"])
    assert second["price_updated_at"] > first["price_updated_at"]
    assert Decimal(second["low_24h"]) <= price <= Decimal(second["high_24h"])
    assert second["price_change_24h"] is not None
    assert second["price_change_percentage_24h"] is not None
    market_cap = price * Decimal(second["circulating_supply"])
    assert Decimal(second["market_cap"]) == market_cap.quantize(Decimal("0.01"))
    history = client.get(f"{INVENTORY}/assets/BTC/prices", params={"limit": 5}).json()["data"]
    assert 1 <= len(history) <= 5


def test_the_catalogue_is_listed_by_rank_and_filtered(client: httpx.Client) -> None:
    active = client.get(f"{INVENTORY}/assets", params={"limit": 100}).json()
    everything = client.get(f"{INVENTORY}/assets", params={"active_only": False, "limit": 100})
    stable = client.get(f"{INVENTORY}/assets", params={"category": "stablecoin"}).json()
    top = client.get(f"{INVENTORY}/assets", params={"limit": 3}).json()

    ranks = [a["market_cap_rank"] for a in active["data"]]
    assert ranks == sorted(ranks) and all(a["is_active"] for a in active["data"])
    assert len(active["data"]) == active["active_count"] < active["total_count"]
    assert len(everything.json()["data"]) == active["total_count"]
    assert everything.json()["data"][-1]["is_active"] is False  # unranked and delisted: last
    assert {a["asset_id"] for a in stable["data"]} == {"USDT", "USDC"}
    assert [a["asset_id"] for a in top["data"]] == ["BTC", "ETH", "USDT"]
    assert client.get(f"{INVENTORY}/assets/NOPE").status_code == 404


def test_a_killed_feed_restarts_from_the_prices_it_stored_not_the_initial_ones(
    stack: LocalStack, client: httpx.Client
) -> None:
    feed = feed_of(stack)
    before = ray.get(feed.latest.remote(), timeout=30)["DOT"].price
    marked = Decimal("123.45678900")  # far from DOT's initial 6.80
    ray.get(feed.set_price.remote("DOT", marked), timeout=30)
    pid = ray.get(feed.ping.remote(), timeout=30)["pid"]
    try:
        ray.kill(feed, no_restart=False)
        wait_for(
            lambda: ray.get(feed.ping.remote(), timeout=30)["pid"] != pid,
            30,
            "the feed did not restart",
        )

        resumed = ray.get(feed.latest.remote(), timeout=30)["DOT"].price
        ticking = ray.get(feed.ping.remote(), timeout=30)
        shown = wait_for(
            lambda: abs(Decimal(detail(client, "DOT")["price_usd"]) / marked - 1) < Decimal("0.05"),
            10,
            "the inventory did not show the resumed price",
        )
    finally:
        ray.get(feed.set_price.remote("DOT", before), timeout=30)  # others share the stack

    assert abs(resumed / marked - 1) < Decimal("0.05")  # a few ticks of 0.2 % at most
    assert ticking["paused"] is False and ticking["ticks"] >= 1
    assert shown
