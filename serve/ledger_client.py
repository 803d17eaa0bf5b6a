"""``LedgerClient``: send a command to the user's actor (a shard of the pool, or the user's own
in the ``dedicated`` placement: ``actors.placement``), retrying while it restarts.

Retries are safe because every command carries an idempotency key (generated here when the
client sent none), so a retried command is applied at most once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

from actors.domain.commands import Command
from actors.ledger.results import Outcome
from actors.logs import current_request_id
from actors.placement import AtCapacity, Placement, placement_for
from actors.settings import LedgerSettings
from serve.problems import unavailable
from serve.shard_calls import ShardCalls

RETRYABLE = (ActorUnavailableError, ActorDiedError, RayActorError)
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0
MAX_KNOWN_ACTORS = 4096  # batchings kept, one per actor handle


class LedgerClient:
    """The ingress side of the write path."""

    def __init__(
        self,
        config: LedgerSettings,
        timeout_s: float,
        calls_in_flight: int,
        placement: Placement | None = None,
    ) -> None:
        self._config = config
        self._timeout_s = timeout_s
        self._calls_in_flight = calls_in_flight
        self._placement = placement or placement_for(config)
        self._calls: dict[int, tuple[Any, ShardCalls]] = {}  # by id(handle), the handle kept

    @property
    def handles(self) -> list[Any]:
        """Handles to every actor known to host users (created on first use for the pool)."""
        return self._placement.all_handles()

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run ``command`` on the user's actor; 503 if it cannot be reached in time (or, in the
        ``dedicated`` placement, no actor can be freed for a new user). The request's id goes
        along, for the actor's log lines of the operation."""
        shard = await self._handle_for(username)
        request_id = current_request_id()
        deadline = time.monotonic() + self._timeout_s
        backoff = FIRST_BACKOFF_S
        while True:
            remaining = deadline - time.monotonic()
            try:
                call = self._shard_calls(shard).submit(
                    (username, command, idempotency_key, request_id)
                )
                result: Outcome = await asyncio.wait_for(call, timeout=max(remaining, 0.01))
                return result
            except RETRYABLE as error:
                if isinstance(error, ActorDiedError):
                    self._calls.pop(id(shard), None)
                    self._placement.forget(username)  # killed or stopped: get or create anew
                    shard = await self._handle_for(username)
                if time.monotonic() + backoff > deadline:
                    raise unavailable(
                        "The ledger is restarting; retry with the same key."
                    ) from None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except TimeoutError:
                raise unavailable(
                    "The ledger did not answer in time; retry with the same key."
                ) from None

    def _shard_calls(self, shard: Any) -> ShardCalls:
        """The batching of this replica's calls to ``shard`` (see ``serve.shard_calls``)."""
        known = self._calls.get(id(shard))
        if known is None:
            if len(self._calls) >= MAX_KNOWN_ACTORS:  # dedicated actors come and go
                self._calls.clear()
            known = (shard, ShardCalls(shard, self._calls_in_flight))
            self._calls[id(shard)] = known
        return known[1]

    async def _handle_for(self, username: str) -> Any:
        try:
            return await self._placement.handle_for(username)
        except AtCapacity:
            raise unavailable(
                "Too many users are active at once; retry with the same key."
            ) from None

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether every actor known to host users answers."""
        try:
            refs = [h.ping.remote() for h in self.handles]
            await asyncio.wait_for(asyncio.gather(*refs), timeout_s)
        except Exception:  # noqa: BLE001 - readiness reports, it does not raise
            self._placement.reset()  # an actor killed for good is recreated on the next call
            self._calls.clear()
            return False
        return True
