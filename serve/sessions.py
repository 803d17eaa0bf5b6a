"""Sessions: login opens one, refresh rotates its refresh token (a reuse ends it), logout ends it,
a password change ends them all; every authenticated request checks that its session still holds.

The check asks, in order: this replica's memory of a recent check (``check_cache_s``, 0.5 s by
default: a logout reaches every replica within it), Redis (``actors.cache.sessions``), and the
store (``actors.users.sessions``, the truth, so a revocation holds with Redis down).

A revocation or a new epoch Redis did not take (down, or stalled) is kept and re-sent before this
replica trusts Redis again, so a Redis that comes back holding a session's earlier "active" state
cannot revive it here; other replicas see it once the re-send lands (their next check of it within
``session_state_ttl_s`` otherwise still reads the stale copy: see docs/security.md).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from actors.cache.sessions import SessionCache
from actors.store.errors import StoreUnavailableError
from actors.users.sessions import SessionState, SessionStore
from serve.security import InvalidTokenError, TokenClaims, Tokens

MAX_REMEMBERED = 100_000
MAX_PENDING = (
    10_000  # Redis writes kept for a re-send; beyond, the oldest go (their TTL bounds them)
)


@dataclass(frozen=True)
class TokenPair:
    """What a login, a refresh or a password change hands out."""

    access_token: str
    refresh_token: str
    access_ttl_s: int
    refresh_ttl_s: int


class Sessions:
    """Open, refresh, end and check sessions."""

    def __init__(
        self,
        tokens: Tokens,
        store: SessionStore,
        cache: SessionCache,
        check_cache_s: float,
        state_ttl_s: int,
    ) -> None:
        self._tokens, self._store, self._cache = tokens, store, cache
        self._check_cache_s, self._state_ttl_s = check_cache_s, state_ttl_s
        self._checked: dict[tuple[str, str], tuple[int, float]] = {}  # -> (epoch, until)
        self._pending: dict[str, Callable[[], Awaitable[bool]]] = {}  # Redis writes to re-send

    async def open(self, username: str, epoch: int) -> TokenPair:
        """A new session for a user who just proved who they are."""
        session_id = uuid.uuid4().hex
        pair, refresh_id, until = self._pair(username, session_id, epoch)
        await self._store.open(username, session_id, refresh_id, until)
        return pair

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the refresh token is spent and a new pair issued. A refresh token that was
        already spent (stolen, or replayed) ends its whole session."""
        claims = self._tokens.verify(refresh_token, "refresh")
        state = await self._store.state(claims.subject, claims.session_id)
        self._refuse_unless_current(claims, state)
        if state.refresh_id != claims.token_id:
            await self.end(claims)
            raise InvalidTokenError("refresh token reused: the session is revoked")
        pair, refresh_id, until = self._pair(claims.subject, claims.session_id, claims.epoch)
        rotated = await self._store.rotate(
            claims.subject, claims.session_id, claims.token_id, refresh_id, until
        )
        if not rotated:  # a concurrent use of the same refresh token won: a reuse as well
            await self.end(claims)
            raise InvalidTokenError("refresh token reused: the session is revoked")
        return pair

    async def authenticate(self, access_token: str) -> TokenClaims:
        """The claims of a valid access token whose session and epoch still hold."""
        claims = self._tokens.verify(access_token, "access")
        await self._check(claims)
        return claims

    async def holds(self, claims: TokenClaims) -> bool:
        """Whether the session of already verified ``claims`` still holds (long streams ask)."""
        if claims.expires_at <= time.time():
            return False
        try:
            await self._check(claims)
        except InvalidTokenError:
            return False
        except StoreUnavailableError:
            return True  # not known to have ended: asked again next time
        return True

    async def _check(self, claims: TokenClaims) -> None:
        where = (claims.subject, claims.session_id)
        remembered = self._checked.get(where)
        if remembered and remembered[0] == claims.epoch and remembered[1] > time.monotonic():
            return
        state = await self._cache.get(*where) if await self._resent() else None
        if state is None:
            state = await self._store.state(*where)
            await self._cache.remember(claims.subject, claims.session_id, state)
        self._refuse_unless_current(claims, state)
        self._remember(where, claims.epoch)

    async def end(self, claims: TokenClaims) -> None:
        """End the session ``claims`` belong to (logout, or a detected reuse)."""
        await self._store.revoke(claims.subject, claims.session_id)
        self._checked.pop((claims.subject, claims.session_id), None)
        write = functools.partial(
            self._cache.revoked, claims.session_id, self._tokens.ttl_s("access")
        )
        await self._tell_redis(f"session:{claims.session_id}", write)

    async def epoch_changed(self, username: str, epoch: int) -> None:
        """The user's epoch moved on (the store has it already): earlier tokens stop here now,
        and on the other replicas once their memory of a check expires."""
        for where in [w for w in self._checked if w[0] == username]:
            del self._checked[where]
        write = functools.partial(self._cache.epoch_changed, username, epoch, self._state_ttl_s)
        await self._tell_redis(f"epoch:{username}", write)

    async def _tell_redis(self, key: str, write: Callable[[], Awaitable[bool]]) -> None:
        self._pending.pop(key, None)
        self._pending[key] = write
        if len(self._pending) > MAX_PENDING:
            self._pending.pop(next(iter(self._pending)))
        await self._resent()

    async def _resent(self) -> bool:
        """Re-send the Redis writes not taken yet; True when none is left (Redis is current)."""
        for key, write in list(self._pending.items()):
            if not await write():
                return False
            if self._pending.get(key) is write:
                del self._pending[key]
        return True

    @property
    def pending_redis_writes(self) -> int:
        """Revocations and epochs Redis has not taken yet (while it is unreachable)."""
        return len(self._pending)

    def _pair(self, username: str, session_id: str, epoch: int) -> tuple[TokenPair, str, int]:
        refresh_id, refresh_ttl = uuid.uuid4().hex, self._tokens.ttl_s("refresh")
        pair = TokenPair(
            self._tokens.issue(username, session_id, epoch, "access"),
            self._tokens.issue(username, session_id, epoch, "refresh", refresh_id),
            self._tokens.ttl_s("access"),
            refresh_ttl,
        )
        return pair, refresh_id, int(time.time()) + refresh_ttl

    @staticmethod
    def _refuse_unless_current(claims: TokenClaims, state: SessionState) -> None:
        if not state.active:
            raise InvalidTokenError("the session has ended")
        if state.epoch != claims.epoch:
            raise InvalidTokenError("the password changed since this token was issued")

    def _remember(self, where: tuple[str, str], epoch: int) -> None:
        if self._check_cache_s <= 0:
            return
        if len(self._checked) >= MAX_REMEMBERED:
            now = time.monotonic()
            self._checked = {w: v for w, v in self._checked.items() if v[1] > now}
            if len(self._checked) >= MAX_REMEMBERED:
                self._checked.clear()
        self._checked[where] = (epoch, time.monotonic() + self._check_cache_s)
