"""The Redis read cache: versioned snapshots of read models that never go backwards.

Redis is an optimization only: every call has a tight timeout, failures open a circuit breaker,
and a failed call behaves like a miss (reads) or a no-op (writes). No money rule depends on it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from actors.cache.breaker import CircuitBreaker
from actors.cache.client import GuardedRedis
from actors.store.records import JsonDict

T = TypeVar("T")
MAX_MISSED_WRITES = 100_000

# Set the hash to (version, data) unless it holds a newer version, or the same version with data
# while this call only marks the version (an empty ``data`` is an invalidation marker).
SET_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], 'v')
local v = tonumber(ARGV[1])
if cur then
  cur = tonumber(cur)
  if v < cur then return 0 end
  if v == cur then
    local d = redis.call('HGET', KEYS[1], 'd')
    if ARGV[2] == '' or (d and d ~= '') then return 0 end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


class ReadCache(Protocol):
    """What the ledger and the read path need of a cache."""

    async def get(self, key: str, at_least: int = 0) -> JsonDict | None:
        """The cached value, or None on a miss, a marker, a version below ``at_least`` or any
        failure."""

    async def put(self, key: str, version: int, value: JsonDict | None) -> None:
        """Store ``value`` at ``version`` (None marks the version stale) unless newer is there."""

    async def publish(self, channel: str, message: JsonDict) -> None:
        """Publish a live event (best effort)."""


class NullReadCache:
    """No cache at all: every read misses."""

    async def get(self, key: str, at_least: int = 0) -> JsonDict | None:
        return None

    async def put(self, key: str, version: int, value: JsonDict | None) -> None:
        return None

    async def publish(self, channel: str, message: JsonDict) -> None:
        return None


class RedisReadCache:
    """``ReadCache`` on ``redis.asyncio`` with tight timeouts and a circuit breaker."""

    def __init__(
        self,
        redis_url: str,
        ttl_s: int = 300,
        *,
        timeout_s: float,
        breaker: CircuitBreaker | None = None,
        remember_missed_writes: bool = False,
    ) -> None:
        self._ttl_s = ttl_s
        # One immediate retry on a broken connection (a pooled connection to a Redis that
        # restarted fails once); never on a timeout, which would double it.
        self._guard = GuardedRedis(redis_url, timeout_s, retries=1, breaker=breaker)
        self._remember_missed = remember_missed_writes
        self._missed: dict[str, tuple[int, str]] = {}  # key -> newest (version, payload) missed
        self.hits = 0
        self.misses = 0

    def _redis(self) -> Any:
        return self._guard.client

    async def _guarded(self, call: Awaitable[T]) -> T | None:
        return await self._guard.call(call)

    async def close(self) -> None:
        """Close the connections (inside the event loop that opened them)."""
        await self._guard.close()

    async def get(self, key: str, at_least: int = 0) -> JsonDict | None:
        found = await self._guarded(self._redis().hmget(key, ["v", "d"]))
        version, data = found if found else (None, None)
        if not data or int(version or 0) < at_least:
            self.misses += 1
            return None
        self.hits += 1
        value: JsonDict = json.loads(data)
        return value

    async def put(self, key: str, version: int, value: JsonDict | None) -> None:
        payload = json.dumps(value) if value is not None else ""
        if await self._set_if_newer(key, version, payload) is None and self._remember_missed:
            self._remember(key, version, payload)

    async def _set_if_newer(self, key: str, version: int, payload: str) -> int | None:
        call = self._redis().eval(SET_IF_NEWER, 1, key, version, payload, self._ttl_s)
        result: int | None = await self._guarded(call)
        return result

    def _remember(self, key: str, version: int, payload: str) -> None:
        """Keep the newest write of ``key`` Redis missed (data beats a marker of its version)."""
        current = self._missed.get(key)
        if current is None or (version, payload != "") > (current[0], current[1] != ""):
            self._missed[key] = (version, payload)
        if len(self._missed) > MAX_MISSED_WRITES:
            self._missed.pop(next(iter(self._missed)))  # the oldest: its TTL bounds its staleness

    @property
    def missed_writes(self) -> int:
        """How many keys hold a write that Redis has not received yet."""
        return len(self._missed)

    async def flush_missed(self) -> int:
        """Re-send the writes Redis missed while it was unreachable, so that the values it kept
        from before do not stay stale; returns how many are still missed."""
        for key, (version, payload) in list(self._missed.items()):
            if await self._set_if_newer(key, version, payload) is None:
                break
            if self._missed.get(key) == (version, payload):
                del self._missed[key]
        return len(self._missed)

    async def publish(self, channel: str, message: JsonDict) -> None:
        await self._guarded(self._redis().publish(channel, json.dumps(message)))

    async def ping(self) -> bool:
        """Whether Redis answers now (for readiness)."""
        return bool(await self._guarded(self._redis().ping()))
