"""``LedgerShard``: the Ray actor hosting many ``UserAccount`` virtual actors.

A thin shell around ``LedgerService``: it builds the adapters in ``__init__`` (never at import),
shields each operation from cancellation, keeps a ``PriceBook`` of the feed's quotes, and runs
the ``Maintenance`` loop in the background.
"""

from __future__ import annotations

import asyncio
import functools
import os
from datetime import datetime
from decimal import Decimal
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.cache.read_cache import RedisReadCache
from actors.domain.commands import Command
from actors.domain.errors import InvalidOrderError
from actors.ledger.maintenance import PASSIVATION_INTERVAL_S, Maintenance
from actors.ledger.operations_log import logged_operation
from actors.ledger.results import Outcome
from actors.ledger.service import LedgerService
from actors.live.redis import RedisLiveEvents
from actors.logs import configure_logging
from actors.market.book import PriceBook
from actors.market.feed import price_feed_handle
from actors.matching.actor import MatcherReports
from actors.ray_metrics import RayTelemetry
from actors.routing import shard_name
from actors.settings import LedgerSettings, dynamodb_client
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.memory import InMemoryLedgerStore
from actors.store.port import LedgerStore
from actors.store.records import EventRecord


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000)  # type: ignore[call-overload]
class LedgerShard:
    """One shard of the ledger; users are placed on it by ``actors.routing.shard_index``."""

    def __init__(self, settings: LedgerSettings) -> None:
        configure_logging("shard")  # first: every line of the shard is JSON, with its context
        self._settings = settings
        store: LedgerStore = (
            InMemoryLedgerStore()
            if settings.ledger_store == "memory"
            else DynamoLedgerStore(
                dynamodb_client(settings),
                settings.table_name,
                BlockingRunner(settings.io_threads, "ddb"),
            )
        )
        cache = RedisReadCache(
            settings.redis_url,
            settings.cache_ttl_s,
            timeout_s=settings.cache_write_timeout_s,
            remember_missed_writes=True,
        )
        self._cache = cache
        self._feed: Any = None
        self._prices = PriceBook.from_settings(self._latest_quotes, settings)
        self._reports = MatcherReports(settings)
        self._live = RedisLiveEvents(settings.redis_url, settings.cache_write_timeout_s)
        self._service = LedgerService(
            store,
            cache,
            settings,
            prices=self._price,
            order_index=self._reports,
            live=self._live,
            telemetry=RayTelemetry(shard=ray.get_runtime_context().get_actor_name() or "unnamed"),
        )
        # A dedicated actor (one user, actors/placement.py) checks for idleness more often,
        # and stops itself once its user is passivated
        self._dedicated = settings.placement == "dedicated"
        every = min(PASSIVATION_INTERVAL_S, settings.idle_timeout_s / 2)
        self._maintenance = Maintenance(
            self._service,
            cache,
            passivation_every_s=every if self._dedicated else PASSIVATION_INTERVAL_S,
        )
        self._maintenance_task: asyncio.Task[None] | None = None
        self._idle_task: asyncio.Task[None] | None = None
        self._in_flight = 0

    async def _latest_quotes(self) -> Any:
        if self._feed is None:
            self._feed = price_feed_handle(self._settings)
        try:
            return await self._feed.latest.remote()
        except Exception:
            self._feed = None  # killed for good: get or create it anew next time
            raise

    def _price(self, asset_id: str, now: datetime) -> Decimal:
        known = self._prices.quotes
        if known and asset_id not in known:  # the feed answers, and does not trade it
            raise InvalidOrderError("asset_id", f"No asset {asset_id} is traded here.")
        return self._prices.quote(asset_id, now).price

    async def execute(
        self,
        username: str,
        command: Command,
        idempotency_key: str,
        request_id: str | None = None,
    ) -> Outcome:
        """Run one command for one user (see ``LedgerService.execute``); its log lines carry
        the user and the ingress's ``request_id``."""
        self._start_background()  # before the binding: the background must not inherit it
        self._in_flight += 1
        try:
            return await logged_operation(
                command,
                lambda: asyncio.shield(self._service.execute(username, command, idempotency_key)),
                username,
                request_id,
            )
        finally:
            self._in_flight -= 1

    async def execute_many(
        self, requests: list[tuple[str, Command, str, str | None]]
    ) -> list[Outcome | BaseException]:
        """``execute`` for each of ``requests`` (username, command, key, request id), run
        concurrently (in order per user, as the service serializes each user): one Ray call
        for what a Gateway replica had waiting for this shard (``serve.shard_calls``). An
        exception answers its own request only."""
        runs = (self.execute(u, c, k, r) for u, c, k, r in requests)
        return list(await asyncio.gather(*runs, return_exceptions=True))

    async def run_commands(self, requests: list[tuple[str, Command, str]]) -> list[Outcome]:
        """Run the matcher's fills and expiries, concurrently across users (in order per
        user); one outcome each, one log line each (no request: the matcher asked)."""
        self._start_background()
        runs = (
            logged_operation(c, functools.partial(self._service.execute, u, c, k), u)
            for u, c, k in requests
        )
        self._in_flight += 1
        try:
            return list(await asyncio.shield(asyncio.gather(*runs)))
        finally:
            self._in_flight -= 1

    async def stop_if_idle(self) -> bool:
        """Dedicated placement: passivate every user idle for ``idle_timeout_s``; True when
        none is left and nothing runs (the caller then stops this actor)."""
        self._service.passivate_idle()
        return self._is_empty()

    def _is_empty(self) -> bool:
        return self._in_flight == 0 and self._service.stats()["active_users"] == 0

    async def _stop_when_idle(self) -> None:
        """Dedicated placement: once the user is passivated, stop (a request arriving while
        it stops gets ``ActorDiedError``; the ingress then asks for a fresh actor)."""
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            if self._is_empty():
                ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
                return

    async def ping(self) -> dict[str, Any]:
        """Liveness, place and size: the pid, the Ray node it runs on, active users, the
        projection backlog, cache writes Redis has not received."""
        self._start_background()
        return {
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
            **self._service.stats(),
            "missed_cache_writes": self._cache.missed_writes,
        }

    async def flush(self) -> None:
        """Wait until every read model of the operations answered so far is written."""
        await self._service.flush()

    async def crash_after_next_commit(self) -> None:
        """Test hook: exit the process right after the next commit, before its read models."""
        if not self._settings.allow_fault_injection:
            raise PermissionError("fault injection is disabled (OP_ALLOW_FAULT_INJECTION)")

        def crash(_: EventRecord) -> None:
            os._exit(1)

        self._service.after_commit_hook = crash

    def _start_background(self) -> None:
        self._prices.start()
        if self._maintenance_task is None:
            self._reports.handle()  # the matcher runs as soon as any shard does
            loop = asyncio.get_running_loop()
            self._maintenance_task = loop.create_task(self._maintenance.run_forever())
            if self._dedicated:
                self._idle_task = loop.create_task(self._stop_when_idle())


IDLE_CHECK_S = 1.0  # how often a dedicated actor looks whether its user is gone
PLACEMENT_MEMORY_BYTES = 1  # a resource request, so that Ray honours the placement


def shard_handles(settings: LedgerSettings) -> list[Any]:
    """Handles to all shards, creating any that do not exist yet (safe to race).

    A new shard is placed round-robin over the nodes (``shard_nodes``), softly: if its node is
    gone when the shard is created or restarted, Ray places it on another live node. The one
    byte of ``memory`` makes Ray honour that: it sends an actor that asks for no resource at
    all to a random node whatever its scheduling strategy (soft affinity and ``"SPREAD"``
    alike; ray-project/ray#25360 fixed only hard affinity), and four shards on three nodes
    then often put three on one node.
    """
    nodes = shard_nodes()
    return [
        LedgerShard.options(  # type: ignore[attr-defined]
            name=shard_name(i),
            namespace=settings.namespace,
            lifetime="detached",
            get_if_exists=True,
            memory=PLACEMENT_MEMORY_BYTES,
            scheduling_strategy=NodeAffinitySchedulingStrategy(nodes[i % len(nodes)], soft=True),
        ).remote(settings)
        for i in range(settings.shard_count)
    ]


def shard_nodes() -> list[str]:
    """The live nodes shards are spread over, in a stable order: those offering CPUs, so a head
    started with ``num-cpus: 0`` keeps to its own work, or every live node if none does."""
    alive = [node for node in ray.nodes() if node["Alive"]]  # type: ignore[no-untyped-call]
    working = [node for node in alive if node["Resources"].get("CPU", 0) > 0]
    return sorted(node["NodeID"] for node in working or alive)
