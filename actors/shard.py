"""``LedgerShard``: the Ray actor hosting many ``UserAccount`` virtual actors.

A thin shell around ``LedgerService``: it builds the adapters in ``__init__`` (never at import),
shields each operation from cancellation, and passivates idle users in the background.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import ray

from actors.config import LedgerConfig, dynamodb_client
from actors.domain.commands import Command
from actors.ledger.blocking import BlockingRunner
from actors.ledger.cache import RedisReadCache
from actors.ledger.dynamo import DynamoLedgerStore
from actors.ledger.records import EventRecord, Outcome
from actors.ledger.service import LedgerPolicy, LedgerService
from actors.routing import shard_name

log = logging.getLogger(__name__)
PASSIVATION_INTERVAL_S = 30.0
CACHE_REPAIR_INTERVAL_S = 0.5


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000)  # type: ignore[call-overload]
class LedgerShard:
    """One shard of the ledger; users are placed on it by ``actors.routing.shard_index``."""

    def __init__(self, config: LedgerConfig) -> None:
        self._config = config
        store = DynamoLedgerStore(
            dynamodb_client(config), config.table_name, BlockingRunner(config.io_threads, "ddb")
        )
        cache = RedisReadCache(
            config.redis_url,
            config.cache_ttl_s,
            config.redis_timeout_s,
            remember_missed_writes=True,
        )
        self._cache = cache
        policy = LedgerPolicy(
            config.limits, config.snapshot_every, idle_timeout_s=config.idle_timeout_s
        )
        self._service = LedgerService(store, cache, policy)
        self._maintenance: asyncio.Task[None] | None = None

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run one command for one user (see ``LedgerService.execute``)."""
        self._start_maintenance()
        return await asyncio.shield(self._service.execute(username, command, idempotency_key))

    async def ping(self) -> dict[str, Any]:
        """Liveness and size: the pid, active users, cache writes Redis has not received."""
        return {
            "pid": os.getpid(),
            "active_users": len(self._service.users),
            "missed_cache_writes": self._cache.missed_writes,
        }

    async def crash_after_next_commit(self) -> None:
        """Test hook: exit the process right after the next commit, before its read models."""
        if not self._config.allow_fault_injection:
            raise PermissionError("fault injection is disabled (OP_ALLOW_FAULT_INJECTION)")

        def crash(_: EventRecord) -> None:
            os._exit(1)

        self._service.after_commit_hook = crash

    def _start_maintenance(self) -> None:
        if self._maintenance is None:
            self._maintenance = asyncio.get_running_loop().create_task(self._maintain_forever())

    async def _maintain_forever(self) -> None:
        """Re-send cache writes Redis missed (so it serves nothing stale once back), repair
        read models whose projection failed, and passivate idle users."""
        last_passivation = time.monotonic()
        while True:
            await asyncio.sleep(CACHE_REPAIR_INTERVAL_S)
            try:
                await self._maintain_once(time.monotonic() - last_passivation)
            except Exception:  # the loop must outlive any one failure
                log.exception("shard maintenance failed; retrying")
            if time.monotonic() - last_passivation >= PASSIVATION_INTERVAL_S:
                last_passivation = time.monotonic()

    async def _maintain_once(self, since_passivation_s: float) -> None:
        if self._cache.missed_writes:
            await self._cache.flush_missed()
        if self._service.needs_repair:
            await self._service.repair_pending()
        if since_passivation_s >= PASSIVATION_INTERVAL_S:
            self._service.passivate_idle()


def shard_handles(config: LedgerConfig) -> list[Any]:
    """Handles to all shards, creating any that do not exist yet (safe to race)."""
    return [
        LedgerShard.options(  # type: ignore[attr-defined]
            name=shard_name(i),
            namespace=config.namespace,
            lifetime="detached",
            get_if_exists=True,
        ).remote(config)
        for i in range(config.shard_count)
    ]
