"""Rate-limit windows on a real ``redis-server``: shared by two replicas' limiters, and a stalled
Redis falls back to memory within the timeout."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time

import pytest
from limits import parse

from cluster.processes import ChildProcess
from serve.limiter import RateWindows, Verdict, redis_storage
from serve.login_block import LoginBlock

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
TIMEOUT_S = 0.05


def url_of(server: ChildProcess) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def test_two_replicas_limiters_share_one_window_in_redis(server: ChildProcess) -> None:
    item = parse("5/minute")

    async def burst() -> list[Verdict]:
        one = RateWindows(redis_storage(url_of(server), TIMEOUT_S), TIMEOUT_S)
        two = RateWindows(redis_storage(url_of(server), TIMEOUT_S), TIMEOUT_S)
        return [await (one if n % 2 else two).hit(item, "user", "alice") for n in range(7)]

    verdicts = asyncio.run(burst())

    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
    assert [v.remaining for v in verdicts[:5]] == [4, 3, 2, 1, 0]
    assert 1 <= verdicts[-1].retry_after_s <= 60


def test_a_block_in_redis_is_seen_by_another_replica(server: ChildProcess) -> None:
    def block() -> LoginBlock:
        windows = RateWindows.moving(redis_storage(url_of(server), TIMEOUT_S), TIMEOUT_S)
        return LoginBlock(windows, failures=3, window_s=300, block_s=300)

    async def scenario() -> tuple[int | None, int | None]:
        one, two = block(), block()
        for _ in range(3):
            await one.record_failure("203.0.113.7")
        return await two.blocked_for_s("203.0.113.7"), await two.blocked_for_s("203.0.113.8")

    blocked, other = asyncio.run(scenario())

    assert blocked is not None and 290 <= blocked <= 300
    assert other is None


def test_a_stalled_redis_falls_back_to_memory_within_the_timeout(server: ChildProcess) -> None:
    item = parse("2/minute")
    server.signal(signal.SIGSTOP)

    async def burst() -> tuple[list[bool], float]:
        windows = RateWindows(redis_storage(url_of(server), TIMEOUT_S), TIMEOUT_S)
        started = time.monotonic()
        allowed = [(await windows.hit(item, "address", "a")).allowed for _ in range(3)]
        return allowed, time.monotonic() - started

    allowed, elapsed_s = asyncio.run(burst())

    assert allowed == [True, True, False]
    assert elapsed_s < 0.5  # at most a few timeouts of 50 ms before the breaker opens
