"""Trading against the real stack (Ray, Serve behind HAProxy, redis-server, moto's server):
conservation under concurrent load while prices tick, whole-balance races, isolation between
users, a crash between commit and read models, and a stale feed."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from decimal import ROUND_UP, Decimal
from typing import Any

import httpx
import pytest
import ray

from cluster.local import LocalStack
from tests.integration.conftest import TEST_SETTINGS, User, balance_of, deposit, key, new_user
from tests.integration.test_idempotency_and_crashes import NAMESPACE, shard_of

pytestmark = pytest.mark.integration
ORDERS = "/api/v1/orders"
ASSETS = ["BTC", "ETH", "SOL"]
D = Decimal
QUANTITIES = {  # each order worth a few hundred to a few thousand dollars
    "BTC": lambda rng: f"0.{rng.randint(1, 60):03d}",
    "ETH": lambda rng: f"{rng.randint(1, 200) / 100:.2f}",
    "SOL": lambda rng: f"{rng.randint(1, 20)}",
}


def feed() -> Any:
    return ray.get_actor("price-feed", namespace=NAMESPACE)


def freeze_price(asset_id: str, price: str) -> None:
    """Stop the walk and publish ``price``; wait until the shards' price books have it."""
    ray.get(feed().pause.remote())
    ray.get(feed().set_price.remote(asset_id, D(price)))
    time.sleep(TEST_SETTINGS["price_tick_interval_s"] * 3)


def order_body(order_type: str, quantity: str, asset: str = "BTC") -> dict[str, Any]:
    return {"order_type": order_type, "asset_id": asset, "quantity": quantity}


def holdings_of(http: httpx.Client, user: User) -> dict[str, Decimal]:
    response = http.get("/api/v1/portfolio", headers=user.headers)
    assert response.status_code == 200, response.text
    return {a["asset_id"]: D(a["quantity"]) for a in response.json()["assets"]}


def same_problem(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Equal but for what names the request (its path and trace id)."""
    request_fields = {"instance", "trace_id"}
    return {k: v for k, v in one.items() if k not in request_fields} == {
        k: v for k, v in other.items() if k not in request_fields
    }


@pytest.fixture
def ticking(stack: LocalStack) -> Any:
    """Prices moving (and moving again after the test, whatever it froze)."""
    ray.get(feed().resume.remote())
    yield
    ray.get(feed().resume.remote())


def all_orders(http: httpx.Client, user: User) -> list[dict[str, Any]]:
    """Every order of the user, following the cursors."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = http.get(ORDERS, params=params, headers=user.headers).json()
        found += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def test_conservation_under_concurrent_trading_while_prices_tick(
    client: httpx.Client, stack: LocalStack, ticking: Any
) -> None:
    """32 clients, 10 users, 3,000 seeded random deposits, withdrawals, market and limit
    orders and cancels while prices tick (and limit orders fill by themselves): cash, holdings
    and reservations add up from the recorded fills, nothing is negative, no 5xx."""
    users = [new_user(client) for _ in range(10)]
    for user in users:
        assert deposit(client, user, "20000.00").status_code == 201
    rng = random.Random(12)
    plan = [(rng.choice(users), rng.random(), rng.choice(ASSETS)) for _ in range(3000)]
    cash_moves: dict[str, Decimal] = defaultdict(Decimal)
    placed: dict[str, list[str]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    negative_reads: list[str] = []

    async def one(http: httpx.AsyncClient, user: User, roll: float, asset: str) -> None:
        headers = {**user.headers, "Idempotency-Key": key()}
        if roll < 0.15:
            amount = f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}"
            r = await http.post("/api/v1/balance/deposit", json={"amount": amount}, headers=headers)
            if r.status_code == 201:
                cash_moves[user.username] += D(amount)
        elif roll < 0.25:
            amount = f"{rng.randint(1, 800)}.00"
            r = await http.post(
                "/api/v1/balance/withdraw", json={"amount": amount}, headers=headers
            )
            if r.status_code == 201:
                cash_moves[user.username] -= D(amount)
        elif roll < 0.6:
            side = "market_buy" if roll < 0.45 else "market_sell"
            quantity = QUANTITIES[asset](rng)
            r = await http.post(ORDERS, json=order_body(side, quantity, asset), headers=headers)
        elif roll < 0.8:
            side = "limit_buy" if roll < 0.72 else "limit_sell"
            price = await asyncio.to_thread(lambda: ray.get(feed().latest.remote())[asset].price)
            offset = D(1) + (D(-1) if side == "limit_buy" else D(1)) * D(rng.randint(0, 40)) / 10000
            body = {
                **order_body(side, QUANTITIES[asset](rng), asset),
                "price": f"{(price * offset).quantize(D('0.01'))}",
            }
            r = await http.post(ORDERS, json=body, headers=headers)
            if r.status_code == 201:
                placed[user.username].append(r.json()["data"]["order_id"])
        elif roll < 0.9 and placed[user.username]:
            order_id = rng.choice(placed[user.username])
            r = await http.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
        else:
            r = await http.get("/api/v1/balance", headers=user.headers)
            if r.status_code == 200 and D(r.json()["available_balance"]) < 0:
                negative_reads.append(r.text)
        statuses[r.status_code] += 1

    async def run_all() -> None:
        queue: asyncio.Queue[tuple[User, float, str]] = asyncio.Queue()
        for item in plan:
            queue.put_nowait(item)
        async with httpx.AsyncClient(base_url=stack.url, timeout=60) as http:

            async def worker() -> None:
                while not queue.empty():
                    await one(http, *queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(32)))

    asyncio.run(run_all())
    ray.get(feed().pause.remote())
    time.sleep(2.0)  # the fills of the last ticks settle
    assert not [s for s in statuses if s >= 500], dict(statuses)
    assert statuses[201] > 1000, dict(statuses)  # most operations went through
    assert statuses[200] > 0  # some cancels (and reads) went through
    assert negative_reads == []
    fills = 0
    for user in users:
        orders = all_orders(client, user)
        done = [o for o in orders if o["status"] == "completed"]
        fills += sum(1 for o in done if o["order_type"].startswith("limit"))
        sign = {"buy": 1, "sell": -1}
        spent = sum(
            (sign[o["order_type"].split("_")[1]] * D(o["total_amount"]) for o in done), D(0)
        )
        money = client.get("/api/v1/balance", headers=user.headers).json()
        assert D(money["current_balance"]) == D("20000.00") + cash_moves[user.username] - spent
        queued = [o for o in orders if o["status"] == "queued"]
        reserved = sum(
            (
                (D(o["quantity"]) * D(o["price"])).quantize(D("0.01"), ROUND_UP)
                for o in queued
                if o["order_type"] == "limit_buy"
            ),
            D(0),
        )
        assert D(money["held_balance"]) == reserved
        assert D(money["available_balance"]) >= 0
        held = holdings_of(client, user)
        for asset in ASSETS:
            bought = sum(
                (
                    sign[o["order_type"].split("_")[1]] * D(o["quantity"])
                    for o in done
                    if o["asset_id"] == asset
                ),
                D(0),
            )
            assert held.get(asset, D(0)) == bought, (user.username, asset)
            selling = sum(
                (
                    D(o["quantity"])
                    for o in queued
                    if o["order_type"] == "limit_sell" and o["asset_id"] == asset
                ),
                D(0),
            )
            if selling or asset in held:
                holding = client.get(f"/api/v1/balance/asset/{asset}", headers=user.headers).json()
                assert D(holding["quantity"]) - D(holding["available_quantity"]) == selling
                assert D(holding["available_quantity"]) >= 0
        assert all(q > 0 for q in held.values())
    assert fills > 0  # limit orders filled by themselves during the run


def test_of_50_whole_balance_buys_one_fills_and_of_20_whole_holding_sells_one(
    client: httpx.Client, ticking: Any
) -> None:
    user = new_user(client)
    assert deposit(client, user, "100.00").status_code == 201
    freeze_price("ETH", "1000.00")

    async def race(body: dict[str, Any], count: int) -> list[int]:
        async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as http:
            calls = [
                http.post(ORDERS, json=body, headers={**user.headers, "Idempotency-Key": key()})
                for _ in range(count)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    buys = asyncio.run(race(order_body("market_buy", "0.1", "ETH"), 50))
    assert sorted(buys) == [201] + [409] * 49
    assert balance_of(client, user) == "0.00"
    sells = asyncio.run(race(order_body("market_sell", "0.1", "ETH"), 20))
    assert sorted(sells) == [201] + [409] * 19
    assert balance_of(client, user) == "100.00"
    assert holdings_of(client, user) == {}


def test_another_users_orders_are_404_like_random_ids_and_their_cursors_400(
    client: httpx.Client, ticking: Any
) -> None:
    alice, bob = new_user(client), new_user(client)
    assert deposit(client, alice, "1000.00").status_code == 201
    placed = []
    for _ in range(3):
        r = client.post(
            ORDERS,
            json=order_body("market_buy", "1", "SOL"),
            headers={**alice.headers, "Idempotency-Key": key()},
        )
        assert r.status_code == 201, r.text
        placed.append(r.json()["data"]["order_id"])
    random_answer = client.get(f"{ORDERS}/{uuid.uuid4()}", headers=bob.headers)
    assert random_answer.status_code == 404
    for order_id in placed:
        theirs = client.get(f"{ORDERS}/{order_id}", headers=bob.headers)
        assert theirs.status_code == 404
        assert same_problem(theirs.json(), random_answer.json())
    assert (
        client.get("/api/v1/assets/SOL/transactions", headers=bob.headers).json()["transactions"]
        == []
    )
    assert client.get(ORDERS, headers=bob.headers).json()["data"] == []
    for path in (ORDERS, "/api/v1/assets/SOL/transactions"):
        page = client.get(path, params={"limit": 1}, headers=alice.headers).json()
        assert page["next_cursor"], page
        stolen = client.get(path, params={"cursor": page["next_cursor"]}, headers=bob.headers)
        assert stolen.status_code == 400, stolen.text
        assert stolen.headers["content-type"] == "application/problem+json"


def test_a_crash_after_an_orders_commit_is_repaired_and_a_retry_gets_the_first_answer(
    client: httpx.Client, ticking: Any
) -> None:
    user = new_user(client)
    assert deposit(client, user, "1000.00").status_code == 201
    ray.get(shard_of(user).crash_after_next_commit.remote())
    headers = {**user.headers, "Idempotency-Key": key()}
    body = order_body("market_buy", "2", "SOL")
    first = client.post(ORDERS, json=body, headers=headers)
    assert first.status_code in (201, 503), first.text  # the shard died after the commit
    retry = client.post(ORDERS, json=body, headers=headers)
    assert retry.status_code == 201, retry.text
    if first.status_code == 201:
        assert retry.json() == first.json()
    data = retry.json()["data"]
    assert client.get(f"{ORDERS}/{data['order_id']}", headers=user.headers).status_code == 200
    assert holdings_of(client, user) == {"SOL": D("2")}
    moves = client.get("/api/v1/assets/SOL/transactions", headers=user.headers).json()
    assert [m["order_id"] for m in moves["transactions"]] == [data["order_id"]]
    history = client.get("/api/v1/balance/transactions", headers=user.headers).json()
    payments = [t for t in history["transactions"] if t["transaction_type"] == "ORDER_PAYMENT"]
    assert [t["order_id"] for t in payments] == [data["order_id"]]
    assert D(balance_of(client, user)) == D("1000.00") - D(data["total_amount"])


def test_a_stale_feed_answers_503_with_retry_after_and_changes_nothing(
    client: httpx.Client, ticking: Any
) -> None:
    user = new_user(client)
    assert deposit(client, user, "1000.00").status_code == 201
    ray.get(feed().pause.remote())
    time.sleep(TEST_SETTINGS["price_max_age_s"] + 1)
    response = client.post(
        ORDERS,
        json=order_body("market_buy", "1", "SOL"),
        headers={**user.headers, "Idempotency-Key": key()},
    )
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert balance_of(client, user) == "1000.00"
    assert client.get(ORDERS, headers=user.headers).json()["data"] == []


def test_trading_and_its_reads_work_with_redis_stopped_and_after_it_returns(
    client: httpx.Client, stack: LocalStack, ticking: Any
) -> None:
    user = new_user(client)
    never_deposited = new_user(client)
    assert deposit(client, user, "1000.00").status_code == 201
    stack.stop_redis()
    try:
        placed = client.post(
            ORDERS,
            json=order_body("market_buy", "1", "SOL"),
            headers={**user.headers, "Idempotency-Key": key()},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["data"]["order_id"]
        # Read right after the 201, with no Redis: the store and the log's tail.
        assert holdings_of(client, user) == {"SOL": D("1")}
        assert client.get(f"{ORDERS}/{order_id}", headers=user.headers).status_code == 200
        assert balance_of(client, never_deposited) == "0.00"
        catalogue = client.get("/api/v1/inventory/assets")
        assert catalogue.status_code == 200, catalogue.text
    finally:
        stack.start_redis()
        time.sleep(3)  # every Redis circuit breaker has closed again (for the next tests)
    spent = D(placed.json()["data"]["total_amount"])
    assert D(balance_of(client, user)) == D("1000.00") - spent
    assert holdings_of(client, user) == {"SOL": D("1")}


def test_large_answers_are_gzipped_through_the_haproxy_ingress(client: httpx.Client) -> None:
    raw = client.get("/api/v1/inventory/assets", headers={"Accept-Encoding": "identity"})
    assert raw.status_code == 200 and len(raw.content) > 1024
    assert "content-encoding" not in raw.headers
    zipped = client.get("/api/v1/inventory/assets", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    # httpx inflates it; the prices may have ticked in between, the assets are the same.
    assert [a["asset_id"] for a in zipped.json()["data"]] == [
        a["asset_id"] for a in raw.json()["data"]
    ]
