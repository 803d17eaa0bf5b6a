"""Writes the cache missed while Redis was stalled are re-sent once it answers again, so the values
it held from before the stall are not served stale afterwards (real ``redis-server``)."""

from __future__ import annotations

import asyncio
import shutil
import signal

import pytest

from actors.cache.breaker import CircuitBreaker
from actors.cache.read_cache import RedisReadCache
from cluster.processes import ChildProcess

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
KEY = "op:balance:stalled"


def cache_on(server: ChildProcess, remember: bool) -> RedisReadCache:
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=0.2)
    url = f"redis://127.0.0.1:{server.port}/0"
    return RedisReadCache(url, timeout_s=0.05, breaker=breaker, remember_missed_writes=remember)


async def stall_and_resume(server: ChildProcess, cache: RedisReadCache) -> list[object]:
    await cache.put(KEY, 1, {"balance": "10.00"})
    server.signal(signal.SIGSTOP)
    await cache.put(KEY, 2, {"balance": "15.00"})  # times out: Redis missed it
    await cache.put(KEY, 3, {"balance": "20.00"})  # breaker open: not even sent
    missed = cache.missed_writes
    server.signal(signal.SIGCONT)
    await asyncio.sleep(0.3)  # the breaker lets a trial through again
    still_missed = await cache.flush_missed()
    return [missed, still_missed, await cache.get(KEY)]


def test_missed_writes_are_resent_newest_first_once_redis_answers_again(
    server: ChildProcess,
) -> None:
    cache = cache_on(server, remember=True)

    missed, still_missed, value = asyncio.run(stall_and_resume(server, cache))

    assert (missed, still_missed) == (1, 0)
    assert value == {"balance": "20.00"}


def test_without_remembering_the_value_from_before_the_stall_stays(server: ChildProcess) -> None:
    cache = cache_on(server, remember=False)

    missed, _, value = asyncio.run(stall_and_resume(server, cache))

    assert missed == 0
    assert value in ({"balance": "10.00"}, {"balance": "15.00"})  # stale: what remembering fixes


def test_a_marker_never_replaces_missed_data_of_the_same_version(server: ChildProcess) -> None:
    cache = cache_on(server, remember=True)

    async def scenario() -> object:
        server.signal(signal.SIGSTOP)
        await cache.put(KEY, 4, {"balance": "1.00"})
        await cache.put(KEY, 4, None)
        server.signal(signal.SIGCONT)
        await asyncio.sleep(0.3)
        await cache.flush_missed()
        return await cache.get(KEY)

    assert asyncio.run(scenario()) == {"balance": "1.00"}
