"""``PriceFeed``: the Ray actor that moves prices, one per cluster (a detached named actor).

A thin shell around ``PriceTicker``. It starts ticking as soon as it is constructed when the
constructor runs inside the actor's event loop (as Ray's async actors do, restarts included),
and in any case on the first call; the launcher also calls ``start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from decimal import Decimal
from typing import Any

import ray

from actors.domain.quotes import Quote
from actors.logs import configure_logging
from actors.market.ticker import PriceTicker
from actors.settings import LedgerSettings

FEED_NAME = "price-feed"


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class PriceFeed:
    """Publishes a price for every asset of the catalogue every tick."""

    def __init__(self, settings: LedgerSettings) -> None:
        configure_logging("price-feed")  # JSON lines on stderr (actors/logs.py)
        self._ticker = PriceTicker.from_settings(settings)
        with contextlib.suppress(RuntimeError):  # no running loop: the first call starts it
            self._ticker.start()

    async def start(self) -> None:
        """Tick in the background (idempotent)."""
        self._ticker.start()

    async def latest(self) -> dict[str, Quote]:
        """The last quote published for each asset: what the shards price orders with."""
        return await self._ticker.latest()

    async def quotes_after(
        self, publication: int, timeout_s: float
    ) -> tuple[int, dict[str, Quote]]:
        """The latest quotes after publication number ``publication`` (a long poll, see
        ``PriceTicker.quotes_after``)."""
        self._ticker.start()
        return await self._ticker.quotes_after(publication, timeout_s)

    async def ping(self) -> dict[str, Any]:
        """Liveness: the pid and what the ticker is doing."""
        self._ticker.start()
        return {"pid": os.getpid(), **self._ticker.status()}

    async def pause(self) -> None:
        """Test hook: stop moving prices (PermissionError unless fault injection is allowed)."""
        self._ticker.pause()

    async def resume(self) -> None:
        """Test hook: move prices again (PermissionError unless fault injection is allowed)."""
        self._ticker.resume()

    async def set_price(self, asset_id: str, price: Decimal) -> Quote:
        """Test hook: publish ``price`` now (PermissionError unless fault injection is allowed)."""
        return await self._ticker.set_price(asset_id, price)


def price_feed_handle(settings: LedgerSettings) -> Any:
    """The cluster's feed, created (detached, in ``settings.namespace``) if it does not exist."""
    feed: Any = PriceFeed
    return feed.options(
        name=FEED_NAME, namespace=settings.namespace, lifetime="detached", get_if_exists=True
    ).remote(settings)


class FeedClient:
    """The ingress's way to the feed's latest quotes. It only looks the feed up, never creates
    it: the feed is created with the actors' settings, by the launcher or a shard."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._handle: Any = None

    async def latest(self) -> dict[str, Quote]:
        """The feed's latest quotes; raises if there is no feed or it does not answer."""
        if self._handle is None:
            self._handle = await asyncio.to_thread(
                ray.get_actor, FEED_NAME, namespace=self._namespace
            )
        try:
            quotes: dict[str, Quote] = await self._handle.latest.remote()
        except Exception:
            self._handle = None  # killed for good: look it up again next time
            raise
        return quotes
