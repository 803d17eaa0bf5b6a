"""Where a user's ``UserAccount`` lives: the one place that chooses (``settings.placement``).

- ``pool``: the users are spread over ``shard_count`` ``LedgerShard`` actors by
  ``shard_index``; a few processes host any number of users.
- ``dedicated``: each active user gets a ``LedgerShard`` of its own, named ``user-<username>``
  (visible as such on the Ray dashboard), created on first use and stopping itself once its
  user is passivated. It hosts one user with the same ``LedgerService``, so the guarantees are
  the pool's (one conditional write per operation, idempotency, repair on activation); the
  price is a process per active user (about 120 MB and a 3-4 s first operation measured by
  ``bench/placement.py`` on a busy 2-core host).

The ``dedicated`` cap is kept per process (each ingress replica, the matcher): at the cap, the
least recently used actor is asked to stop if its user is idle; if none is, ``AtCapacity``.
The ingress (``serve.ledger_client``) and the matcher go through ``Placement`` only.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import ray
from ray.exceptions import RayActorError

from actors.routing import shard_index, user_actor_name
from actors.settings import LedgerSettings
from actors.shard import LedgerShard, shard_handles

EVICTION_TRIES = 4  # at the cap, this many least recently used actors are asked to stop


class AtCapacity(Exception):
    """Every dedicated actor this process may keep is busy with an active user."""


class Placement(Protocol):
    """Finds the actor hosting a user, and every actor there is (ping, readiness)."""

    def route(self, username: str) -> Hashable:
        """The key of the actor hosting ``username`` (users with one key share an actor)."""

    async def handle_for(self, username: str) -> Any:
        """The actor hosting ``username``, created if missing (raises ``AtCapacity``)."""

    def forget(self, username: str) -> None:
        """The actor of ``username`` died for good: look it up anew next time."""

    def all_handles(self) -> list[Any]:
        """The actors known to be live (what readiness pings)."""

    def reset(self) -> None:
        """An actor did not answer a ping: look every actor up anew."""


class PoolPlacement:
    """The fixed pool of shards, ``crc32(username) % shard_count``."""

    def __init__(self, settings: LedgerSettings) -> None:
        self._settings = settings
        self._handles: list[Any] | None = None

    def route(self, username: str) -> Hashable:
        return shard_index(username, self._settings.shard_count)

    async def handle_for(self, username: str) -> Any:
        return self.all_handles()[shard_index(username, self._settings.shard_count)]

    def forget(self, username: str) -> None:
        self._handles = None

    def all_handles(self) -> list[Any]:
        if self._handles is None:
            self._handles = shard_handles(self._settings)
        return self._handles

    def reset(self) -> None:
        self._handles = None


class ActorSpawner(Protocol):
    """Creates, asks and stops the actors of the ``dedicated`` placement (Ray, or a fake)."""

    def get_or_create(self, name: str) -> Any:
        """The actor named ``name``, created if missing (safe to race)."""

    async def stop_if_idle(self, handle: Any) -> bool:
        """Ask ``handle`` to stop if its user is idle; True if it stopped (or was gone)."""


class RaySpawner:
    """``LedgerShard`` actors named per user: detached and restarted on a crash, like shards."""

    def __init__(self, settings: LedgerSettings) -> None:
        self._settings = settings

    def get_or_create(self, name: str) -> Any:
        shard: Any = LedgerShard
        return shard.options(
            name=name, namespace=self._settings.namespace, lifetime="detached", get_if_exists=True
        ).remote(self._settings)

    async def stop_if_idle(self, handle: Any) -> bool:
        try:
            idle: bool = await handle.stop_if_idle.remote()
        except RayActorError:
            return True  # already gone (stopped itself, or killed)
        if idle:
            ray.kill(handle, no_restart=True)
        return idle


class DedicatedPlacement:
    """One actor per active user, at most ``dedicated_max_actors`` at once, LRU first out."""

    def __init__(
        self,
        settings: LedgerSettings,
        spawner: ActorSpawner | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._spawner = spawner or RaySpawner(settings)
        self._clock = clock
        self._live: OrderedDict[str, tuple[Any, float]] = OrderedDict()  # oldest use first
        self._admitting = asyncio.Lock()

    def route(self, username: str) -> Hashable:
        return username

    async def handle_for(self, username: str) -> Any:
        known = self._live.pop(username, None)
        if known is None:
            # one new user at a time: concurrent arrivals neither pass the cap nor free the
            # same place twice
            async with self._admitting:
                known = self._live.pop(username, None)
                if known is None:
                    if len(self._live) >= self._settings.dedicated_max_actors:
                        await self._make_room()
                    name = user_actor_name(username)  # a lookup in the GCS: off the loop
                    handle = await asyncio.to_thread(self._spawner.get_or_create, name)
                    self._live[username] = (handle, self._clock())
                    return handle
        handle = known[0]
        self._live[username] = (handle, self._clock())
        return handle

    async def _make_room(self) -> None:
        """Stop the least recently used actor whose user is idle, or raise ``AtCapacity``."""
        for username, (handle, _) in list(self._live.items())[:EVICTION_TRIES]:
            if await self._spawner.stop_if_idle(handle):
                self._live.pop(username, None)  # unless it came back meanwhile
                return
        raise AtCapacity(f"{len(self._live)} user actors are busy")

    def forget(self, username: str) -> None:
        self._live.pop(username, None)

    def all_handles(self) -> list[Any]:
        """Those used within half the idle timeout: older ones may have stopped themselves,
        which is no failure (the next use creates the actor anew)."""
        recent = self._clock() - self._settings.idle_timeout_s / 2
        return [handle for handle, used in self._live.values() if used >= recent]

    def reset(self) -> None:
        self._live.clear()

    @property
    def live_users(self) -> list[str]:
        """The users whose actors this process holds, least recently used first."""
        return list(self._live)


def placement_for(settings: LedgerSettings) -> Placement:
    """The placement ``settings.placement`` names."""
    if settings.placement == "dedicated":
        return DedicatedPlacement(settings)
    return PoolPlacement(settings)
