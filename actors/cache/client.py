"""The project's ``redis.asyncio`` client: short timeouts, no retry on a timeout; and the
guarded client the caches and stores share (built on first use, every call behind a breaker)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from actors.cache.breaker import CircuitBreaker, guarded

T = TypeVar("T")


def redis_client(redis_url: str, timeout_s: float, retries: int = 1) -> Any:
    """A ``redis.asyncio`` client with the project's style: short timeouts, ``retries``
    immediate retries on a broken pooled connection, never a retry on a timeout."""
    import redis.asyncio as redis_asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    return redis_asyncio.Redis.from_url(
        redis_url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), retries),
        retry_on_error=[RedisConnectionError],
        decode_responses=True,
    )


class GuardedRedis:
    """A ``redis_client`` built on first use (inside the running event loop that uses it), and
    every call through one circuit breaker: a failure, a timeout or an open breaker is None."""

    def __init__(
        self,
        redis_url: str,
        timeout_s: float,
        retries: int = 1,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._url, self._timeout_s, self._retries = redis_url, timeout_s, retries
        self.breaker = breaker or CircuitBreaker()
        self._client: Any = None

    @property
    def timeout_s(self) -> float:
        """Each call's connect and command timeout."""
        return self._timeout_s

    @property
    def client(self) -> Any:
        """The ``redis.asyncio`` client (commands return awaitables to pass to ``call``)."""
        if self._client is None:
            self._client = redis_client(self._url, self._timeout_s, self._retries)
        return self._client

    async def call(self, command: Awaitable[T]) -> T | None:
        """The result of ``command``, or None when Redis failed or the breaker is open."""
        return await guarded(self.breaker, command)

    async def close(self) -> None:
        """Close the connections (inside the event loop that opened them)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
