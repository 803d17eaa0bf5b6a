"""``LedgerClient``: send a command to the user's shard, retrying while the shard restarts.

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
from actors.routing import shard_index
from actors.settings import LedgerSettings
from actors.shard import shard_handles
from serve.problems import unavailable
from serve.shard_calls import ShardCalls

RETRYABLE = (ActorUnavailableError, ActorDiedError, RayActorError)
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0


class LedgerClient:
    """The ingress side of the write path."""

    def __init__(self, config: LedgerSettings, timeout_s: float, calls_in_flight: int) -> None:
        self._config = config
        self._timeout_s = timeout_s
        self._calls_in_flight = calls_in_flight
        self._handles: list[Any] | None = None
        self._calls: dict[int, tuple[Any, ShardCalls]] = {}  # by id(handle), the handle kept

    @property
    def handles(self) -> list[Any]:
        """Handles to every shard (created on first use if they do not exist)."""
        if self._handles is None:
            self._handles = shard_handles(self._config)
        return self._handles

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run ``command`` on the user's shard; 503 if it cannot be reached in time. The
        request's id goes along, for the shard's log lines of the operation."""
        shard = self.handles[shard_index(username, self._config.shard_count)]
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
                    shard = self._reresolve(username)  # killed for good: get or create it anew
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
            known = (shard, ShardCalls(shard, self._calls_in_flight))
            self._calls[id(shard)] = known
        return known[1]

    def _reresolve(self, username: str) -> Any:
        self._handles = None
        self._calls.clear()
        return self.handles[shard_index(username, self._config.shard_count)]

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """Whether every shard answers."""
        try:
            refs = [h.ping.remote() for h in self.handles]
            await asyncio.wait_for(asyncio.gather(*refs), timeout_s)
        except Exception:  # noqa: BLE001 - readiness reports, it does not raise
            self._handles = None  # a shard killed for good is recreated on the next call
            return False
        return True
