"""The Redis copy of session states, so that checking a token costs one Redis round trip rather
than a DynamoDB read: a denylist of revoked sessions and each user's current token epoch.

DynamoDB stays the truth (``actors.users.sessions``): a miss, or Redis down, sends the check to
the store. A checked state is remembered for ``state_ttl_s`` and only where nothing is cached yet
(``SET NX``), while a revocation or a new epoch overwrites: a check that read the store just
before a logout can therefore not re-mark the logged-out session active.
"""

from __future__ import annotations

from typing import Protocol

from actors.cache.client import GuardedRedis
from actors.users.sessions import SessionState

ACTIVE, REVOKED = "1", "0"


def session_key(session_id: str) -> str:
    return f"auth:session:{session_id}"


def epoch_key(username: str) -> str:
    return f"auth:epoch:{username}"


class SessionCache(Protocol):
    """What token checks need of a cache."""

    async def get(self, username: str, session_id: str) -> SessionState | None:
        """The cached state (without the refresh id), or None on a miss or any failure."""

    async def remember(self, username: str, session_id: str, state: SessionState) -> None:
        """Cache a state read from the store, unless something is cached already."""

    async def revoked(self, session_id: str, ttl_s: int) -> bool:
        """Deny the session for ``ttl_s``; False when Redis did not take it."""

    async def epoch_changed(self, username: str, epoch: int, ttl_s: int) -> bool:
        """Record the user's new epoch; False when Redis did not take it."""


class NullSessionCache:
    """No cache: every check reads the store (and every write is "taken": none is stale)."""

    async def get(self, username: str, session_id: str) -> SessionState | None:
        return None

    async def remember(self, username: str, session_id: str, state: SessionState) -> None:
        return None

    async def revoked(self, session_id: str, ttl_s: int) -> bool:
        return True

    async def epoch_changed(self, username: str, epoch: int, ttl_s: int) -> bool:
        return True


class RedisSessionCache:
    """``SessionCache`` on ``redis.asyncio``, tight timeouts and a circuit breaker."""

    def __init__(self, redis_url: str, timeout_s: float, state_ttl_s: int) -> None:
        self._redis = GuardedRedis(redis_url, timeout_s, retries=1)
        self._ttl_s = state_ttl_s

    async def get(self, username: str, session_id: str) -> SessionState | None:
        call = self._redis.client.mget(session_key(session_id), epoch_key(username))
        values = await self._redis.call(call)
        if not values:
            return None
        session, epoch = values
        if session == REVOKED:
            return SessionState(0, False, None)  # denied whatever the epoch
        if session is None or epoch is None or not str(epoch).isdigit():
            return None
        return SessionState(int(epoch), True, None)

    async def remember(self, username: str, session_id: str, state: SessionState) -> None:
        pipe = self._redis.client.pipeline(transaction=False)
        pipe.set(
            session_key(session_id), ACTIVE if state.active else REVOKED, ex=self._ttl_s, nx=True
        )
        pipe.set(epoch_key(username), str(state.epoch), ex=self._ttl_s, nx=True)
        await self._redis.call(pipe.execute())

    async def revoked(self, session_id: str, ttl_s: int) -> bool:
        call = self._redis.client.set(session_key(session_id), REVOKED, ex=max(1, ttl_s))
        return bool(await self._redis.call(call))

    async def epoch_changed(self, username: str, epoch: int, ttl_s: int) -> bool:
        call = self._redis.client.set(epoch_key(username), str(epoch), ex=max(1, ttl_s))
        return bool(await self._redis.call(call))

    async def close(self) -> None:
        await self._redis.close()
