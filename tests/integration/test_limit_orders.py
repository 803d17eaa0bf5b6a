"""Limit orders against the real stack: they wait with their funds held and fill by themselves,
exactly once, when the feed crosses them (also with two crossing ticks at once, and with the
owner's shard killed between the tick and the fill); cancel races a fill; expiry releases."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

import httpx
import pytest
import ray

from cluster.local import LocalStack
from tests.integration.conftest import User, balance_of, deposit, key, new_user
from tests.integration.test_idempotency_and_crashes import shard_of
from tests.integration.test_trading import ORDERS, feed, ticking

pytestmark = pytest.mark.integration
__all__ = ["ticking"]
D = Decimal
FILL_WITHIN_S = 10.0


def market_price(asset_id: str = "BTC") -> Decimal:
    price: Decimal = ray.get(feed().latest.remote())[asset_id].price
    return price


def place_limit(
    http: httpx.Client, user: User, side: str, quantity: str, price: Decimal, **extra: Any
) -> dict[str, Any]:
    body = {
        "order_type": f"limit_{side}",
        "asset_id": "BTC",
        "quantity": quantity,
        "price": f"{price:.2f}",
        **extra,
    }
    headers = {**user.headers, "Idempotency-Key": key()}
    response = http.post(ORDERS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    assert data["status"] == "queued"
    return data


def order_of(http: httpx.Client, user: User, order_id: str) -> dict[str, Any]:
    response = http.get(f"{ORDERS}/{order_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def wait_for_status(
    http: httpx.Client, user: User, order_id: str, statuses: set[str]
) -> dict[str, Any]:
    deadline = time.monotonic() + FILL_WITHIN_S
    while True:
        order = order_of(http, user, order_id)
        if order["status"] in statuses or time.monotonic() > deadline:
            return order
        time.sleep(0.05)


def money(http: httpx.Client, user: User) -> dict[str, Decimal]:
    body = http.get("/api/v1/balance", headers=user.headers).json()
    return {k: D(body[k]) for k in ("current_balance", "held_balance", "available_balance")}


def payments(http: httpx.Client, user: User, order_id: str) -> list[dict[str, Any]]:
    history = http.get("/api/v1/balance/transactions", headers=user.headers).json()
    return [t for t in history["transactions"] if t.get("order_id") == order_id]


def publish(price: Decimal) -> None:
    ray.get(feed().set_price.remote("BTC", price))


def funded(http: httpx.Client, amount: str = "2000.00") -> User:
    user = new_user(http)
    assert deposit(http, user, amount).status_code == 201
    return user


def test_a_limit_buy_waits_held_then_fills_once_at_the_crossing_price(
    client: httpx.Client, ticking: Any
) -> None:
    user = funded(client)
    ray.get(feed().pause.remote())
    market = market_price()
    limit = (market * D("0.9")).quantize(D("0.01"))
    order = place_limit(client, user, "buy", "0.01", limit)
    reserved = (D("0.01") * limit).quantize(D("0.01"), ROUND_UP)
    assert money(client, user)["held_balance"] == reserved
    time.sleep(1.0)
    assert order_of(client, user, order["order_id"])["status"] == "queued"  # not crossed

    crossing = (limit * D("0.99")).quantize(D("0.01"))
    publish(crossing)
    publish(crossing - D("1"))  # a second crossing tick right behind the first
    filled = wait_for_status(client, user, order["order_id"], {"completed"})
    assert filled["status"] == "completed", filled
    fill_price = D(filled["filled_price"])
    assert fill_price in (crossing, crossing - D("1"))
    cost = (D("0.01") * fill_price).quantize(D("0.01"), ROUND_UP)
    assert D(filled["total_amount"]) == cost
    time.sleep(1.0)  # more ticks come and go: still one fill
    after = money(client, user)
    assert after == {
        "current_balance": D("2000.00") - cost,
        "held_balance": D("0.00"),
        "available_balance": D("2000.00") - cost,
    }
    assert len(payments(client, user, order["order_id"])) == 1
    cancel = client.post(f"{ORDERS}/{order['order_id']}/cancel", headers=user.headers)
    assert cancel.status_code == 409, cancel.text


def test_a_fill_survives_the_owners_shard_being_killed_between_tick_and_fill(
    client: httpx.Client, ticking: Any
) -> None:
    user = funded(client)
    ray.get(feed().pause.remote())
    limit = (market_price() * D("0.8")).quantize(D("0.01"))
    order = place_limit(client, user, "buy", "0.01", limit)
    shard = shard_of(user)
    ray.kill(shard, no_restart=False)  # memory gone; Ray restarts it
    publish((limit * D("0.98")).quantize(D("0.01")))
    filled = wait_for_status(client, user, order["order_id"], {"completed"})
    assert filled["status"] == "completed", filled
    assert len(payments(client, user, order["order_id"])) == 1
    assert money(client, user)["held_balance"] == D("0.00")
    assert D(balance_of(client, user)) == D("2000.00") - D(filled["total_amount"])


def test_a_limit_sell_fills_when_the_price_rises_to_it(client: httpx.Client, ticking: Any) -> None:
    user = funded(client)
    ray.get(feed().pause.remote())
    buy = client.post(
        ORDERS,
        json={"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.01"},
        headers={**user.headers, "Idempotency-Key": key()},
    )
    assert buy.status_code == 201, buy.text
    limit = (market_price() * D("1.1")).quantize(D("0.01"))
    order = place_limit(client, user, "sell", "0.01", limit)
    holding = client.get("/api/v1/balance/asset/BTC", headers=user.headers).json()
    assert D(holding["available_quantity"]) == 0 and D(holding["quantity"]) == D("0.01")
    publish(limit + D("5"))
    filled = wait_for_status(client, user, order["order_id"], {"completed"})
    assert filled["status"] == "completed" and D(filled["filled_price"]) == limit + D("5")
    assert client.get("/api/v1/balance/asset/BTC", headers=user.headers).status_code in (200, 404)


def test_a_cancel_racing_a_fill_ends_in_exactly_one_of_them(
    client: httpx.Client, ticking: Any
) -> None:
    user = funded(client, "5000.00")
    ray.get(feed().pause.remote())
    limit = (market_price() * D("0.7")).quantize(D("0.01"))
    orders = [place_limit(client, user, "buy", "0.01", limit) for _ in range(5)]
    crossing = (limit * D("0.99")).quantize(D("0.01"))

    def cancel(order_id: str) -> int:
        return client.post(f"{ORDERS}/{order_id}/cancel", headers=user.headers).status_code

    with ThreadPoolExecutor(6) as pool:
        tick = pool.submit(publish, crossing)
        answers = list(pool.map(cancel, [o["order_id"] for o in orders]))
        tick.result()
    assert set(answers) <= {200, 409}
    finals = [
        wait_for_status(client, user, o["order_id"], {"completed", "cancelled"}) for o in orders
    ]
    assert all(f["status"] in ("completed", "cancelled") for f in finals)
    for answer, final in zip(answers, finals, strict=True):
        assert (answer == 200) == (final["status"] == "cancelled")
    spent = sum((D(f["total_amount"]) for f in finals if f["status"] == "completed"), D(0))
    assert money(client, user) == {
        "current_balance": D("5000.00") - spent,
        "held_balance": D("0.00"),
        "available_balance": D("5000.00") - spent,
    }


def test_an_order_past_its_expiry_is_expired_and_releases_its_funds(
    client: httpx.Client, ticking: Any
) -> None:
    user = funded(client)
    limit = (market_price() * D("0.5")).quantize(D("0.01"))
    expires_at = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    order = place_limit(client, user, "buy", "0.01", limit, expires_at=expires_at)
    assert money(client, user)["held_balance"] > 0
    expired = wait_for_status(client, user, order["order_id"], {"expired"})
    assert expired["status"] == "expired", expired
    assert money(client, user)["held_balance"] == D("0.00")
    assert D(balance_of(client, user)) == D("2000.00")


def test_held_is_shown_warm_in_redis_with_redis_down_and_after_its_restart(
    client: httpx.Client, stack: LocalStack, ticking: Any
) -> None:
    user = funded(client)
    buy = client.post(
        ORDERS,
        json={"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.01"},
        headers={**user.headers, "Idempotency-Key": key()},
    )
    assert buy.status_code == 201, buy.text
    market = market_price()
    place_limit(client, user, "buy", "0.01", (market * D("0.5")).quantize(D("0.01")))
    place_limit(client, user, "sell", "0.004", (market * D("2")).quantize(D("0.01")))

    def reads() -> tuple[Any, ...]:
        money_now = money(client, user)
        holding = client.get("/api/v1/balance/asset/BTC", headers=user.headers).json()
        portfolio = client.get("/api/v1/portfolio", headers=user.headers).json()
        return (
            money_now["held_balance"],
            money_now["available_balance"],
            holding["available_quantity"],
            holding["held_quantity"],
            portfolio["held_cash"],
            portfolio["assets"][0]["held_quantity"],
        )

    warm = reads()
    assert reads() == warm  # the second read is served by Redis
    assert warm[2:4] == ("0.00600000", "0.00400000") and warm[0] > 0
    stack.stop_redis()
    try:
        assert reads() == warm
    finally:
        stack.start_redis()
        time.sleep(3)  # every Redis circuit breaker has closed again
    assert reads() == warm  # an empty Redis after its restart
