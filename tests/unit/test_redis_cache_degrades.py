"""With Redis down, the read cache behaves like a miss and a no-op, quickly, and its breaker
stops even trying after a few failures: no read or write ever fails because of Redis."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

from actors.cache.breaker import CircuitBreaker
from actors.cache.read_cache import RedisReadCache
from cluster.processes import free_port

T = TypeVar("T")


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


class CountingBreaker(CircuitBreaker):
    def __init__(self) -> None:
        super().__init__(failure_threshold=2, reset_after_s=60.0)
        self.failures = 0

    def record_failure(self) -> None:
        self.failures += 1
        super().record_failure()


def unreachable_cache(breaker: CircuitBreaker | None = None) -> RedisReadCache:
    return RedisReadCache(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.05, breaker=breaker)


def test_with_redis_down_reads_miss_writes_are_dropped_and_ping_says_no() -> None:
    cache = unreachable_cache()

    async def use() -> tuple[object, object, bool]:
        value = await cache.get("op:balance:alice")
        await cache.put("op:balance:alice", 3, {"balance": "1.00"})
        await cache.publish("op:events:alice", {"type": "balance"})
        return value, await cache.get("op:balance:alice"), await cache.ping()

    assert run(use()) == (None, None, False)
    assert (cache.hits, cache.misses) == (0, 2)


def test_once_the_breaker_opens_redis_is_not_called_at_all() -> None:
    breaker = CountingBreaker()
    cache = unreachable_cache(breaker)

    async def hammer() -> float:
        await cache.get("k")
        await cache.get("k")
        started = time.perf_counter()
        for _ in range(50):
            await cache.get("k")
            await cache.put("k", 1, None)
        return time.perf_counter() - started

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # skipped calls must not leak coroutines
        elapsed = run(hammer())

    assert breaker.failures == 2
    assert breaker.is_open
    assert elapsed < 0.5
