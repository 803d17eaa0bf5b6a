"""``PriceTicker``: the price feed without Ray. It recovers the last published prices, then
moves them every tick, stores and publishes each tick, and keeps the latest in memory.

The shards price orders from the latest quotes in memory (``latest``), so prices never depend
on Redis: with Redis down the ticker keeps ticking, logs one warning, and stores again when
Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from actors.domain.quotes import Quote, quantize_price
from actors.market.catalogue import Asset, DynamoCatalogue
from actors.market.errors import CatalogueUnavailableError
from actors.market.history import HistoryRecorder
from actors.market.sources import PriceSource, build_source
from actors.market.store import PriceStore, RedisPriceStore
from actors.settings import LedgerSettings, dynamodb_client
from actors.store.blocking import BlockingRunner

log = logging.getLogger(__name__)
CatalogueLoader = Callable[[], Awaitable[list[Asset]]]
READY_WAIT_S = 5.0  # how long ``latest`` waits for the first tick after a (re)start
FEED_REDIS_TIMEOUT_S = 0.25  # the feed writes off any request path: never tighter than this


def utc_now() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


class PriceTicker:
    """Moves the catalogue's prices every ``tick_interval_s`` with ``source``."""

    def __init__(
        self,
        source: PriceSource,
        store: PriceStore,
        load_catalogue: CatalogueLoader,
        *,
        tick_interval_s: float,
        history_interval_s: float,
        history_points: int,
        allow_fault_injection: bool = False,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._source, self._store, self._load_catalogue = source, store, load_catalogue
        self._tick_s = tick_interval_s
        self._history_points = history_points
        self._recorder = HistoryRecorder(history_interval_s)
        self._allow_fault_injection = allow_fault_injection
        self._clock = clock
        self._assets: list[Asset] = []
        self._latest: dict[str, Quote] = {}
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused = False
        self._store_ok = True
        self._published = asyncio.Event()  # set, and replaced, at every publication
        self.publications = 0
        self.ticks = 0

    @classmethod
    def from_settings(cls, settings: LedgerSettings) -> PriceTicker:
        """The ticker of the ``PriceFeed`` actor: catalogue from DynamoDB, prices in Redis."""
        catalogue = DynamoCatalogue(
            dynamodb_client(settings), settings.table_name, BlockingRunner(2, "feed-io")
        )
        timeout_s = max(settings.redis_timeout_s, FEED_REDIS_TIMEOUT_S)
        return cls(
            build_source(settings),
            RedisPriceStore(settings.redis_url, timeout_s),
            catalogue.load,
            tick_interval_s=settings.price_tick_interval_s,
            history_interval_s=settings.price_history_interval_s,
            history_points=settings.price_history_points,
            allow_fault_injection=settings.allow_fault_injection,
        )

    def start(self) -> None:
        """Start ticking in the background, unless it already does (needs a running loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop ticking (tests)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def latest(self) -> dict[str, Quote]:
        """The last quote published for each asset (waits briefly for the first tick)."""
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), READY_WAIT_S)
        return dict(self._latest)

    async def _run(self) -> None:
        while not await self.recover():
            await asyncio.sleep(self._tick_s)
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            if not self._paused:
                try:
                    await self.tick()
                except Exception:  # a bug in one tick must not stop the prices for good
                    log.exception("price tick failed")
            self._ready.set()
            next_at = max(next_at + self._tick_s, loop.time())  # late: skip, never burst
            await asyncio.sleep(next_at - loop.time())

    async def recover(self) -> bool:
        """Load the catalogue and the last prices stored (the initial prices where there are
        none); False when no catalogue can be read yet."""
        assets = await self._catalogue()
        if assets is None:
            return False
        stored = await self._store.load_latest()
        if stored is None:
            log.warning("Redis unavailable: the price feed starts from the initial prices.")
        now, stored = self._clock(), stored or {}
        self._assets = assets
        self._latest = {
            a.asset_id: stored.get(a.asset_id) or Quote(a.asset_id, a.initial_price, now)
            for a in assets
        }
        await self._store.save_catalogue(assets)
        log.info("price feed: %d assets, %d prices recovered", len(assets), len(stored))
        return True

    async def _catalogue(self) -> list[Asset] | None:
        try:
            return await self._load_catalogue()
        except CatalogueUnavailableError as error:
            cached = await self._store.load_catalogue()
            if cached is None:
                log.warning("price feed waits for the catalogue: %s", error.reason)
            return cached

    async def tick(self) -> dict[str, Quote]:
        """Move every price once, then store and publish the new quotes."""
        try:
            quotes = await self._source.next_quotes(self._assets, self._latest, self._clock())
        except Exception:  # a failing source skips a tick, never stops the feed
            log.warning("price source failed; prices unchanged this tick", exc_info=True)
            return {}
        self._latest.update(quotes)
        self.ticks += 1
        await self._publish(list(quotes.values()))
        return quotes

    async def quotes_after(
        self, publication: int, timeout_s: float
    ) -> tuple[int, dict[str, Quote]]:
        """The latest quotes once there has been a publication after number ``publication``
        (at once if there has), or after ``timeout_s`` without one: a long poll, so the
        matcher sees a tick as soon as it is published without the feed knowing the matcher.

        Returns:
            The number of the latest publication and the latest quote of every asset.
        """
        if self.publications <= publication:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._published.wait(), timeout_s)
        return self.publications, dict(self._latest)

    async def _publish(self, quotes: Sequence[Quote]) -> None:
        self.publications += 1
        published, self._published = self._published, asyncio.Event()
        published.set()
        points = self._recorder.record(quotes)
        stored = await self._store.save_tick(quotes, points, self._history_points)
        if stored != self._store_ok:
            if stored:
                log.info("Redis is back: the price feed stores its ticks again.")
            else:
                log.warning("Redis unavailable: prices keep ticking in memory, not stored.")
        self._store_ok = stored

    def status(self) -> dict[str, Any]:
        """What the feed is doing, for a ping."""
        return {
            "ticks": self.ticks,
            "paused": self._paused,
            "assets": len(self._assets),
            "redis": self._store_ok,
        }

    def _check_fault_injection(self) -> None:
        if not self._allow_fault_injection:
            raise PermissionError("fault injection is disabled (OP_ALLOW_FAULT_INJECTION)")

    def pause(self) -> None:
        """Test hook: stop moving prices (the published ones then age)."""
        self._check_fault_injection()
        self._paused = True

    def resume(self) -> None:
        """Test hook: move prices again."""
        self._check_fault_injection()
        self._paused = False

    async def set_price(self, asset_id: str, price: Decimal) -> Quote:
        """Test hook: publish ``price`` for ``asset_id`` now; the walk goes on from it.

        Raises:
            PermissionError: unless fault injection is allowed.
            KeyError: for an asset not in the catalogue.
        """
        self._check_fault_injection()
        await self.latest()  # recovered: a later recovery must not overwrite this price
        if asset_id not in self._latest:
            raise KeyError(f"no asset {asset_id} in the catalogue")
        quote = Quote(asset_id, quantize_price(Decimal(price)), self._clock())
        self._latest[asset_id] = quote
        await self._publish([quote])
        return quote
