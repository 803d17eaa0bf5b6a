"""The session check's three layers: the replica's memory of a recent check, the Redis copy,
and the store (the truth)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from actors.users.sessions import InMemorySessionStore, SessionState
from actors.users.store import InMemoryUserStore
from serve.security import InvalidTokenError, KeyRing, Tokens
from serve.sessions import Sessions

SECRET = "unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@dataclass
class RecordingCache:
    """A ``SessionCache`` in a dict that counts its reads."""

    states: dict[tuple[str, str], SessionState] = field(default_factory=dict)
    revocations: list[str] = field(default_factory=list)
    epochs: dict[str, int] = field(default_factory=dict)
    reads: int = 0

    async def get(self, username: str, session_id: str) -> SessionState | None:
        self.reads += 1
        if session_id in self.revocations:
            return SessionState(0, False, None)
        state = self.states.get((username, session_id))
        if state is not None and username in self.epochs:  # a new epoch overwrites, as in Redis
            state = SessionState(self.epochs[username], state.active, None)
        return state

    async def remember(self, username: str, session_id: str, state: SessionState) -> None:
        self.states.setdefault((username, session_id), state)

    async def revoked(self, session_id: str, ttl_s: int) -> bool:
        self.revocations.append(session_id)
        return True

    async def epoch_changed(self, username: str, epoch: int, ttl_s: int) -> bool:
        self.epochs[username] = epoch
        return True


class CountingStore(InMemorySessionStore):
    def __init__(self) -> None:
        super().__init__(InMemoryUserStore())
        self.reads = 0

    async def state(self, username: str, session_id: str) -> SessionState:
        self.reads += 1
        return await super().state(username, session_id)


def sessions_on(store: CountingStore, cache: RecordingCache, check_cache_s: float) -> Sessions:
    tokens = Tokens(KeyRing("HS256", "k1", SECRET, {}), "iss", "aud", 900, 3600)
    return Sessions(tokens, store, cache, check_cache_s, state_ttl_s=30)


def test_a_first_check_reads_the_store_and_fills_the_cache_then_the_cache_answers() -> None:
    store, cache = CountingStore(), RecordingCache()
    sessions = sessions_on(store, cache, check_cache_s=0)

    async def scenario() -> None:
        pair = await sessions.open("alice_01", 0)
        await sessions.authenticate(pair.access_token)
        await sessions.authenticate(pair.access_token)

    asyncio.run(scenario())

    assert (store.reads, cache.reads) == (1, 2)
    assert len(cache.states) == 1


def test_a_recent_check_is_trusted_for_check_cache_s_and_then_asked_again() -> None:
    store, cache = CountingStore(), RecordingCache()
    sessions = sessions_on(store, cache, check_cache_s=0.2)

    async def scenario() -> None:
        pair = await sessions.open("alice_01", 0)
        for _ in range(5):
            await sessions.authenticate(pair.access_token)
        assert cache.reads == 1
        await asyncio.sleep(0.25)
        await sessions.authenticate(pair.access_token)

    asyncio.run(scenario())

    assert cache.reads == 2


def test_a_revocation_seen_in_the_cache_refuses_without_reading_the_store() -> None:
    store, cache = CountingStore(), RecordingCache()
    sessions = sessions_on(store, cache, check_cache_s=0)

    async def scenario() -> None:
        pair = await sessions.open("alice_01", 0)
        claims = sessions._tokens.verify(pair.access_token, "access")
        cache.revocations.append(claims.session_id)  # revoked by another replica
        await sessions.authenticate(pair.access_token)

    with pytest.raises(InvalidTokenError, match="ended"):
        asyncio.run(scenario())
    assert store.reads == 0


def test_an_epoch_change_forgets_this_replicas_checks_of_that_user_only() -> None:
    store, cache = CountingStore(), RecordingCache()
    sessions = sessions_on(store, cache, check_cache_s=60)

    async def scenario() -> tuple[int, int]:
        alice = await sessions.open("alice_01", 0)
        bob = await sessions.open("bob_0001", 0)
        await sessions.authenticate(alice.access_token)
        await sessions.authenticate(bob.access_token)
        before = cache.reads
        await sessions.epoch_changed("alice_01", 1)
        await sessions.authenticate(bob.access_token)  # still remembered
        after_bob = cache.reads
        with pytest.raises(InvalidTokenError, match="password changed"):
            await sessions.authenticate(alice.access_token)  # asked again, and refused
        return after_bob - before, cache.reads - after_bob

    assert asyncio.run(scenario()) == (0, 1)
    assert cache.epochs == {"alice_01": 1}


def test_a_revocation_redis_missed_is_resent_before_redis_is_trusted_again() -> None:
    store, cache = CountingStore(), RecordingCache()
    sessions = sessions_on(store, cache, check_cache_s=0)
    taken = {"now": False}
    original = cache.revoked

    async def flaky_revoked(session_id: str, ttl_s: int) -> bool:
        return taken["now"] and await original(session_id, ttl_s)

    cache.revoked = flaky_revoked  # type: ignore[method-assign]

    async def scenario() -> None:
        pair = await sessions.open("alice_01", 0)
        await sessions.authenticate(pair.access_token)  # Redis now says "active"
        await sessions.end(sessions._tokens.verify(pair.access_token, "access"))
        assert sessions.pending_redis_writes == 1
        reads = cache.reads
        with pytest.raises(InvalidTokenError):  # Redis's stale "active" is not asked
            await sessions.authenticate(pair.access_token)
        assert cache.reads == reads
        taken["now"] = True  # Redis is back
        with pytest.raises(InvalidTokenError, match="ended"):
            await sessions.authenticate(pair.access_token)
        assert sessions.pending_redis_writes == 0
        assert cache.reads == reads + 1

    asyncio.run(scenario())
