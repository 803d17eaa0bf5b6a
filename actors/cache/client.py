"""The project's ``redis.asyncio`` client: short timeouts, no retry on a timeout."""

from __future__ import annotations

from typing import Any


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
