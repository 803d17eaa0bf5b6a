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

RETRYABLE = (ActorUnavailableError, ActorDiedError, RayActorError)
FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 1.0


class LedgerClient:
    """The ingress side of the write path."""

    def __init__(self, config: LedgerSettings, timeout_s: float) -> None:
        self._config = config
        self._timeout_s = timeout_s
        self._handles: list[Any] | None = None

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
                ref = shard.execute.remote(username, command, idempotency_key, request_id)
                result: Outcome = await asyncio.wait_for(ref, timeout=max(remaining, 0.01))
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

    def _reresolve(self, username: str) -> Any:
        self._handles = None
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
