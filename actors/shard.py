"""``LedgerShard``: the Ray actor hosting many ``UserAccount`` virtual actors.

A thin shell around ``LedgerService``: it builds the adapters in ``__init__`` (never at import),
shields each operation from cancellation, and runs the ``Maintenance`` loop in the background.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import ray

from actors.cache.read_cache import RedisReadCache
from actors.config import LedgerConfig, dynamodb_client
from actors.domain.commands import Command
from actors.ledger.maintenance import Maintenance
from actors.ledger.records import EventRecord, Outcome
from actors.ledger.service import LedgerPolicy, LedgerService
from actors.routing import shard_name
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore


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
        self._maintenance = Maintenance(self._service, cache)
        self._maintenance_task: asyncio.Task[None] | None = None

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
        if self._maintenance_task is None:
            loop = asyncio.get_running_loop()
            self._maintenance_task = loop.create_task(self._maintenance.run_forever())


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
