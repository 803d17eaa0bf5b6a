"""``actors.placement``: the pool routes by crc32; ``dedicated`` names one actor per user, reuses
it, keeps at most ``dedicated_max_actors``, frees the least recently used idle one at the cap,
and refuses (503 at the ingress) when every one is busy. Ray is replaced by a fake spawner."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from actors import placement
from actors.domain.commands import Deposit
from actors.placement import AtCapacity, DedicatedPlacement, PoolPlacement, placement_for
from actors.routing import shard_index
from actors.settings import LedgerSettings
from serve.ledger_client import LedgerClient
from serve.problems import Problem


class FakeActor:
    def __init__(self, name: str) -> None:
        self.name = name
        self.idle = False
        self.stopped = False


class FakeSpawner:
    """Actors by name, as ``get_if_exists`` gives them; ``stop_if_idle`` stops the idle ones."""

    def __init__(self) -> None:
        self.actors: dict[str, FakeActor] = {}
        self.asked: list[str] = []

    def get_or_create(self, name: str) -> FakeActor:
        actor = self.actors.get(name)
        if actor is None or actor.stopped:
            actor = self.actors[name] = FakeActor(name)
        return actor

    async def stop_if_idle(self, handle: Any) -> bool:
        self.asked.append(handle.name)
        if handle.idle:
            handle.stopped = True
        return bool(handle.idle)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def dedicated(cap: int = 3) -> tuple[DedicatedPlacement, FakeSpawner, Clock]:
    spawner, clock = FakeSpawner(), Clock()
    settings = LedgerSettings(placement="dedicated", dedicated_max_actors=cap, idle_timeout_s=60)
    return DedicatedPlacement(settings, spawner, clock), spawner, clock


def handle(place: Any, username: str) -> Any:
    return asyncio.run(place.handle_for(username))


def test_the_setting_chooses_the_placement() -> None:
    assert isinstance(placement_for(LedgerSettings()), PoolPlacement)
    assert isinstance(placement_for(LedgerSettings(placement="dedicated")), DedicatedPlacement)


def test_the_pool_routes_by_crc32_to_the_fixed_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    shards = ["s0", "s1", "s2"]
    monkeypatch.setattr(placement, "shard_handles", lambda _settings: shards)
    pool = PoolPlacement(LedgerSettings(shard_count=3))

    assert pool.route("alice_01") == shard_index("alice_01", 3)
    assert handle(pool, "alice_01") == shards[shard_index("alice_01", 3)]
    assert pool.all_handles() == shards


def test_each_user_gets_its_own_actor_named_after_it_and_keeps_it() -> None:
    place, spawner, _ = dedicated()

    alice, bob = handle(place, "alice_01"), handle(place, "bob_0001")

    assert (alice.name, bob.name) == ("user-alice_01", "user-bob_0001")
    assert handle(place, "alice_01") is alice
    assert place.route("alice_01") != place.route("bob_0001")
    assert set(spawner.actors) == {"user-alice_01", "user-bob_0001"}


def test_at_the_cap_the_least_recently_used_idle_actor_is_stopped() -> None:
    place, spawner, _ = dedicated(cap=3)
    first, second, _third = (handle(place, u) for u in ("user_aaaa", "user_bbbb", "user_cccc"))
    handle(place, "user_aaaa")  # used again: now bbbb is the least recently used
    first.idle = second.idle = True

    handle(place, "user_dddd")

    assert second.stopped and not first.stopped
    assert spawner.asked == ["user-user_bbbb"]
    assert place.live_users == ["user_cccc", "user_aaaa", "user_dddd"]


def test_new_users_arriving_at_once_at_the_cap_free_one_place_each() -> None:
    # found by the integration test: two arrivals asked the same idle actor to stop and the
    # second failed on a user already removed (a 500)
    place, spawner, _ = dedicated(cap=2)
    old = [handle(place, u) for u in ("user_aaaa", "user_bbbb")]
    for actor in old:
        actor.idle = True
    asking = spawner.stop_if_idle

    async def slow_stop(actor: Any) -> bool:
        await asyncio.sleep(0.01)  # the GCS round trip: others run meanwhile
        return await asking(actor)

    spawner.stop_if_idle = slow_stop  # type: ignore[method-assign]

    async def both() -> list[Any]:
        return list(
            await asyncio.gather(*(place.handle_for(u) for u in ("user_cccc", "user_dddd")))
        )

    new = asyncio.run(both())

    assert [a.name for a in new] == ["user-user_cccc", "user-user_dddd"]
    assert all(actor.stopped for actor in old)
    assert place.live_users == ["user_cccc", "user_dddd"]  # never above the cap


def test_at_the_cap_with_every_user_busy_a_new_user_is_refused() -> None:
    place, _, _ = dedicated(cap=2)
    handle(place, "user_aaaa")
    handle(place, "user_bbbb")

    with pytest.raises(AtCapacity):
        handle(place, "user_cccc")
    assert handle(place, "user_aaaa")  # a user already live is still served
    assert place.live_users == ["user_bbbb", "user_aaaa"]


def test_a_forgotten_user_is_looked_up_anew() -> None:
    place, _, _ = dedicated()
    old = handle(place, "alice_01")
    old.stopped = True  # it stopped itself while idle

    place.forget("alice_01")

    assert handle(place, "alice_01") is not old


def test_readiness_pings_only_recently_used_actors() -> None:
    place, _, clock = dedicated()
    old = handle(place, "user_aaaa")
    clock.now += 31  # beyond half the idle timeout (60 s): it may have stopped itself
    recent = handle(place, "user_bbbb")

    assert place.all_handles() == [recent]
    assert old not in place.all_handles()
    place.reset()
    assert place.all_handles() == []


def test_the_ingress_answers_503_with_retry_after_when_no_actor_can_be_freed() -> None:
    place, _, _ = dedicated(cap=1)
    handle(place, "user_aaaa")
    client = LedgerClient(LedgerSettings(placement="dedicated"), 1.0, 2, place)

    with pytest.raises(Problem) as refused:
        asyncio.run(client.execute("user_bbbb", Deposit(Decimal("1.00")), "k-1"))

    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": "1"}
