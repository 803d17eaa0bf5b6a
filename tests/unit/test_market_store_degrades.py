"""With Redis down, the price store answers "unknown" or "not stored" quickly, never raises,
and its breaker stops even trying after a few failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from actors.cache.breaker import CircuitBreaker
from actors.market.store import RedisPriceStore
from cluster.processes import free_port
from tests.unit.market import T0, make_asset, quote


def test_with_redis_down_every_call_degrades_quickly_and_the_breaker_opens() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after_s=60.0)
    store = RedisPriceStore(f"redis://127.0.0.1:{free_port()}/0", 0.05, breaker)

    async def scenario() -> list[Any]:
        return [
            await store.save_tick([quote()], {}, 10),
            await store.load_latest(),
            await store.history("BTC", T0, 10),
            await store.first_points_since(["BTC"], T0),
            await store.save_catalogue([make_asset()]),
            await store.load_catalogue(),
        ]

    started = time.perf_counter()
    answers = asyncio.run(scenario())
    elapsed = time.perf_counter() - started

    assert answers == [False, None, None, None, False, None]
    assert breaker.is_open
    assert elapsed < 1.0


def test_an_empty_tick_stores_nothing_and_succeeds() -> None:
    store = RedisPriceStore(f"redis://127.0.0.1:{free_port()}/0", 0.05)

    assert asyncio.run(store.save_tick([], {}, 10)) is True
    asyncio.run(store.close())  # nothing opened: nothing to close
