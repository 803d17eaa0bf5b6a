"""A shard's background upkeep: re-send cache writes Redis missed (so a returning Redis serves
nothing stale), passivate idle users (the projector retries failed read-model writes itself),
and report the number of active users (a gauge must be set again and again, or it ages out)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from actors.ledger.service import LedgerService

log = logging.getLogger(__name__)
CACHE_REPAIR_INTERVAL_S = 0.5
PASSIVATION_INTERVAL_S = 30.0


class RepairableCache(Protocol):
    """A cache that remembers the writes it could not deliver."""

    @property
    def missed_writes(self) -> int:
        """How many keys hold an undelivered write."""

    async def flush_missed(self) -> int:
        """Deliver what it can; returns how many are still undelivered."""


class Maintenance:
    """Runs the upkeep every ``interval_s``; passivation every ``passivation_every_s``."""

    def __init__(
        self,
        service: LedgerService,
        cache: RepairableCache,
        interval_s: float = CACHE_REPAIR_INTERVAL_S,
        passivation_every_s: float = PASSIVATION_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._cache = cache
        self._interval_s = interval_s
        self._passivation_every_s = passivation_every_s
        self._clock = clock
        self._last_passivation = clock()

    async def run_once(self) -> None:
        """One round of upkeep."""
        self._service.report_size()
        if self._cache.missed_writes:
            await self._cache.flush_missed()
        if self._clock() - self._last_passivation >= self._passivation_every_s:
            self._service.passivate_idle()
            self._last_passivation = self._clock()

    async def run_forever(self) -> None:
        """Upkeep until cancelled; a failed round is logged and the next one runs anyway."""
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.run_once()
            except Exception:  # the loop must outlive any one failure
                log.exception("shard maintenance failed; retrying")
