"""Rate-limit windows (the ``limits`` library) in Redis, shared by every ingress replica, with an
in-process fallback while Redis does not answer.

Redis is asked with the project's short timeouts (``rate_limit_timeout_s``, 250 ms) and a circuit
breaker: a dead or stalled Redis costs a request at most one timeout, then for a while none, and
the limits are kept in this replica's memory meanwhile (each replica then counts on its own: a
limit is briefly per replica, never absent).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.errors import StorageError
from redis.exceptions import RedisError

from actors.cache.breaker import CircuitBreaker
from actors.cache.client import redis_client

T = TypeVar("T")
KEY_PREFIX = "op-limits"
REDIS_ROUND_TRIPS = 2  # a hit, then its window's stats: the deadline covers both
REDIS_FAILURES = (StorageError, RedisError, OSError, TimeoutError)
Strategy = Callable[[Storage], RateLimiter]


@dataclass(frozen=True)
class Verdict:
    """The answer of one window: whether the request may go on, and the header values."""

    allowed: bool
    limit: int
    remaining: int | None  # None: not read (an allowed request limit, see RateWindows.hit)
    reset_after_s: float

    @property
    def retry_after_s(self) -> int:
        """Whole seconds to wait (``Retry-After``), at least 1."""
        return max(1, math.ceil(self.reset_after_s))


def parse_limits(text: str) -> list[RateLimitItem]:
    """Limits in ``limits`` notation (``"10/minute"``, several joined by ``;``); ValueError."""
    items = parse_many(text)
    if not items:
        raise ValueError(
            f"no rate limit in {text!r}: write e.g. '10/minute' or '5/second;100/hour'"
        )
    return items


def redis_storage(redis_url: str, timeout_s: float) -> RedisStorage:
    """``limits``' asyncio Redis storage on the project's ``redis.asyncio`` client (its pool)."""
    pool = redis_client(redis_url, timeout_s).connection_pool
    return RedisStorage(
        "async+" + redis_url,
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=KEY_PREFIX,
        connection_pool=pool,
    )


class RateWindows:
    """Hits and reads windows of one strategy on Redis while it answers, else in memory.

    ``sliding`` (a sliding window counter: two counters per key, O(1) in Redis at any limit) suits
    request limits; ``moving`` (an exact log of hits) suits small counts that must be exact, such as
    failed logins.
    """

    def __init__(
        self,
        redis: Storage | None,
        timeout_s: float,
        strategy: Strategy = SlidingWindowCounterRateLimiter,
        breaker: CircuitBreaker | None = None,
        memory: MemoryStorage | None = None,
    ) -> None:
        self._redis = strategy(redis) if redis is not None else None
        self._memory = strategy(memory or MemoryStorage())
        self._deadline_s = timeout_s * REDIS_ROUND_TRIPS + 0.01
        self._breaker = breaker or CircuitBreaker()

    @classmethod
    def moving(
        cls, redis: Storage | None, timeout_s: float, breaker: CircuitBreaker | None = None
    ) -> RateWindows:
        """Windows with the exact moving-window strategy."""
        return cls(redis, timeout_s, MovingWindowRateLimiter, breaker)

    async def hit(self, item: RateLimitItem, *key: str, counts: bool = True) -> Verdict:
        """Count one request against ``item`` for ``key``; refused when the window is full.
        Without ``counts`` an allowed hit reads no window statistics (one Redis call, not two:
        its ``remaining`` is then None); a refusal always has them, for its headers."""

        async def _hit(limiter: RateLimiter) -> Verdict:
            allowed = await limiter.hit(item, *key)
            if allowed and not counts:
                return Verdict(True, item.amount, None, 0.0)
            return await _verdict(limiter, item, key, allowed)

        return await self._on_storage(_hit)

    async def peek(self, item: RateLimitItem, *key: str) -> Verdict:
        """Whether one more request would be allowed, counting nothing."""

        async def _peek(limiter: RateLimiter) -> Verdict:
            allowed = await limiter.test(item, *key)
            return await _verdict(limiter, item, key, allowed)

        return await self._on_storage(_peek)

    async def _on_storage(self, operation: Callable[[RateLimiter], Awaitable[T]]) -> T:
        if self._redis is not None and not self._breaker.is_open:
            try:
                async with asyncio.timeout(self._deadline_s):
                    result = await operation(self._redis)
            except REDIS_FAILURES:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()
                return result
        return await operation(self._memory)


async def _verdict(
    limiter: RateLimiter, item: RateLimitItem, key: tuple[str, ...], allowed: bool
) -> Verdict:
    stats = await limiter.get_window_stats(item, *key)
    reset_after_s = max(0.0, stats.reset_time - time.time())
    return Verdict(allowed, item.amount, max(0, stats.remaining), reset_after_s)
