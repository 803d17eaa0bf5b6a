"""The price store's contract: the in-memory double (used by the unit tests) and
``RedisPriceStore`` on a real ``redis-server`` agree on the latest prices, the bounded history,
the catalogue copy; Redis also publishes every tick and keeps it all for a new store instance
(a restarted feed)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from actors.domain.quotes import Quote
from actors.market import keys
from actors.market.history import PricePoint
from actors.market.memory import InMemoryPriceStore
from actors.market.store import PriceStore, RedisPriceStore
from cluster.processes import free_port, redis_server
from tests.unit.market import make_asset

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
T = TypeVar("T")
T0 = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = redis_server(free_port(), Path(tmp_path_factory.mktemp("redis")))
    server.start()
    try:
        yield f"redis://127.0.0.1:{server.port}/0"
    finally:
        server.stop()


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    redis.Redis.from_url(redis_url).flushdb()
    return redis_url


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> PriceStore:
    if request.param == "memory":
        return InMemoryPriceStore()
    return RedisPriceStore(request.getfixturevalue("clean_redis"), timeout_s=1.0)


def run(store: PriceStore, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run ``scenario`` in a fresh loop, closing the store's connections inside it."""

    async def go() -> T:
        try:
            return await scenario()
        finally:
            if isinstance(store, RedisPriceStore):
                await store.close()

    return asyncio.run(go())


def q(asset_id: str, price: str, at: datetime = T0) -> Quote:
    return Quote(asset_id, Decimal(price), at)


def minute(m: int, close: str = "1") -> PricePoint:
    return PricePoint(
        T0 + timedelta(minutes=m), Decimal(1), Decimal(2), Decimal("0.5"), Decimal(close)
    )


def test_the_latest_prices_read_back_exactly(store: PriceStore) -> None:
    quotes = [q("BTC", "97000.12345678"), q("PEPE", "0.00000021", T0 + timedelta(seconds=1))]

    async def scenario() -> Any:
        empty = await store.load_latest()
        stored = await store.save_tick(quotes, {}, 10)
        later = await store.save_tick(
            [q("BTC", "97001.00000000", T0 + timedelta(seconds=2))], {}, 10
        )
        return empty, stored and later, await store.load_latest()

    empty, stored, latest = run(store, scenario)

    assert (empty, stored) == ({}, True)
    assert latest == {
        "BTC": q("BTC", "97001.00000000", T0 + timedelta(seconds=2)),
        "PEPE": quotes[1],
    }


def test_the_history_keeps_one_point_per_interval_and_only_the_newest(store: PriceStore) -> None:
    async def scenario() -> Any:
        for m in range(5):
            await store.save_tick([], {"BTC": minute(m, "1")}, 3)
            await store.save_tick([], {"BTC": minute(m, str(m + 10))}, 3)  # same interval
        return await store.history("BTC", None, 100), await store.history("ETH", None, 100)

    history, other = run(store, scenario)

    assert history == [minute(2, "12"), minute(3, "13"), minute(4, "14")]
    assert other == []


def test_the_history_is_read_since_a_time_and_up_to_a_limit_newest_kept(
    store: PriceStore,
) -> None:
    async def scenario() -> Any:
        for m in range(6):
            await store.save_tick([], {"ETH": minute(m, str(m))}, 100)
        since = T0 + timedelta(minutes=2)
        return (
            await store.history("ETH", since, 100),
            await store.history("ETH", since, 2),
            await store.history("ETH", None, 1),
        )

    since_two, newest_two, newest = run(store, scenario)

    assert [p.close for p in since_two] == [Decimal(v) for v in (2, 3, 4, 5)]
    assert [p.close for p in newest_two] == [Decimal(4), Decimal(5)]
    assert newest == [minute(5, "5")]


def test_the_first_point_since_a_time_is_found_per_asset(store: PriceStore) -> None:
    async def scenario() -> Any:
        for m in range(4):
            await store.save_tick([], {"BTC": minute(m, str(m)), "ETH": minute(m + 10)}, 100)
        return await store.first_points_since(["BTC", "ETH", "SOL"], T0 + timedelta(minutes=2))

    found = run(store, scenario)

    assert found == {"BTC": minute(2, "2"), "ETH": minute(10)}


def test_the_catalogue_copy_reads_back_and_is_a_miss_before(store: PriceStore) -> None:
    catalogue = [make_asset("BTC", max_supply=21000000), make_asset("ETH", market_cap_rank=None)]

    async def scenario() -> Any:
        before = await store.load_catalogue()
        saved = await store.save_catalogue(catalogue)
        return before, saved, await store.load_catalogue()

    assert run(store, scenario) == (None, True, catalogue)


def test_redis_publishes_every_tick_on_the_prices_channel(clean_redis: str) -> None:
    store = RedisPriceStore(clean_redis, timeout_s=1.0)
    quotes = [q("BTC", "97000.00000000"), q("ETH", "3400.50000000")]

    async def scenario() -> Any:
        import redis.asyncio as redis_asyncio

        listener = redis_asyncio.Redis.from_url(clean_redis, decode_responses=True)
        pubsub = listener.pubsub()
        await pubsub.subscribe(keys.PRICES_CHANNEL)
        await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
        await store.save_tick(quotes, {}, 10)
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2.0)
        await pubsub.aclose()
        await listener.aclose()
        return message

    message = run(store, scenario)

    assert message is not None and message["channel"] == keys.PRICES_CHANNEL
    assert json.loads(message["data"]) == [
        {"asset_id": "BTC", "price": "97000.00000000", "at": T0.isoformat()},
        {"asset_id": "ETH", "price": "3400.50000000", "at": T0.isoformat()},
    ]


def test_a_new_store_instance_recovers_what_the_last_one_stored(clean_redis: str) -> None:
    first = RedisPriceStore(clean_redis, timeout_s=1.0)
    run(first, lambda: first.save_tick([q("BTC", "123.45600000")], {"BTC": minute(0)}, 10))
    restarted = RedisPriceStore(clean_redis, timeout_s=1.0)

    async def scenario() -> Any:
        return await restarted.load_latest(), await restarted.history("BTC", None, 10)

    assert run(restarted, scenario) == ({"BTC": q("BTC", "123.45600000")}, [minute(0)])


def test_the_keys_are_the_documented_ones(clean_redis: str) -> None:
    store = RedisPriceStore(clean_redis, timeout_s=1.0)

    run(store, lambda: store.save_tick([q("BTC", "1.00000000")], {"BTC": minute(0)}, 10))

    raw = redis.Redis.from_url(clean_redis, decode_responses=True)
    assert json.loads(raw.hget("op:price:latest", "BTC") or "") == {
        "price": "1.00000000",
        "at": T0.isoformat(),
    }
    assert raw.zcard("op:price:history:BTC") == 1


def test_a_corrupt_catalogue_copy_is_a_miss(clean_redis: str) -> None:
    redis.Redis.from_url(clean_redis).set(keys.CATALOGUE_KEY, json.dumps([{"asset_id": "X"}]))
    store = RedisPriceStore(clean_redis, timeout_s=1.0)

    assert run(store, store.load_catalogue) is None
