"""``MarketReader``: the read path of the catalogue and its prices, for the ingress.

The catalogue is static: it is kept in memory for ``catalogue_ttl_s`` after a load from Redis
(or, on a miss, from DynamoDB, refilling Redis). Prices come from Redis (what the feed stored);
where Redis has none or is down, from the feed actor itself (``feed_latest``), and failing
that the catalogue's initial price is shown with no time (``price_at=None``). The 24-hour
figures need the history in Redis: without it they are None. Nothing here raises because of
Redis or the feed; only a catalogue that cannot be read at all does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from actors.domain.money import cash
from actors.domain.quotes import Quote
from actors.market.catalogue import Asset, by_market_cap_rank
from actors.market.history import DAY, DayStats, PricePoint, change_percent, day_stats
from actors.market.memory import InMemoryPriceStore
from actors.market.store import PriceStore
from actors.market.ticker import CatalogueLoader, utc_now

log = logging.getLogger(__name__)
FeedLatest = Callable[[], Awaitable[Mapping[str, Quote]]]
CATALOGUE_TTL_S = 60.0
FEED_TIMEOUT_S = 0.5
FEED_MEMO_S = 2.0  # reuse the feed's answer (or failure) this long: one actor call per replica
DAY_POINTS_MAX = 100_000


@dataclass(frozen=True)
class PricedAsset:
    """An asset with its current price."""

    asset: Asset
    price: Decimal
    price_at: datetime | None  # None: no price reachable; ``price`` is the initial price
    change_percent_24h: Decimal | None

    @property
    def market_cap(self) -> Decimal:
        """Price times circulating supply, in cents."""
        return cash(self.price * self.asset.circulating_supply)


@dataclass(frozen=True)
class AssetPage:
    """Some assets of the catalogue; the counts are of the whole catalogue (of the category,
    when one is asked for): ``total_count`` assets, ``active_count`` of them tradable."""

    items: list[PricedAsset]
    total_count: int
    active_count: int


@dataclass(frozen=True)
class AssetDetail:
    """One asset with its price and, when the history is readable, its last 24 hours."""

    priced: PricedAsset
    day: DayStats | None


class MarketReader:
    """Reads the catalogue and its prices without going through the feed when Redis answers."""

    def __init__(
        self,
        store: PriceStore,
        load_catalogue: CatalogueLoader,
        feed_latest: FeedLatest | None = None,
        *,
        catalogue_ttl_s: float = CATALOGUE_TTL_S,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store, self._load_catalogue, self._feed = store, load_catalogue, feed_latest
        self._ttl_s = catalogue_ttl_s
        self._clock, self._monotonic = clock, monotonic
        self._assets: dict[str, Asset] | None = None
        self._loaded_at = 0.0
        self._loading = asyncio.Lock()
        self._feed_memo: tuple[float, Mapping[str, Quote]] | None = None

    @classmethod
    def empty(cls) -> MarketReader:
        """A reader of an empty catalogue (a runtime built without a market)."""

        async def no_assets() -> list[Asset]:
            return []

        return cls(InMemoryPriceStore(available=False), no_assets)

    async def list_assets(
        self, category: str | None = None, active_only: bool = True, limit: int = 50
    ) -> AssetPage:
        """Up to ``limit`` assets by market cap rank, of ``category`` (any case) if given, active
        ones only if ``active_only``, each with its price and 24-hour change."""
        assets = await self._catalogue()
        matching = [a for a in assets if category is None or a.category == category.lower()]
        active = [a for a in matching if a.is_active]
        chosen = (active if active_only else matching)[:limit]
        return AssetPage(await self._priced(chosen), len(matching), len(active))

    async def prices(self, asset_ids: Sequence[str]) -> dict[str, PricedAsset]:
        """The current price of each known asset of ``asset_ids`` (any case), without the
        24-hour change (no history is read): for valuing holdings."""
        catalogue = {a.asset_id: a for a in await self._catalogue()}
        assets = [catalogue[i.upper()] for i in dict.fromkeys(asset_ids) if i.upper() in catalogue]
        quotes = await self._quotes(assets) if assets else {}
        return {a.asset_id: _priced(a, quotes.get(a.asset_id), None) for a in assets}

    async def asset(self, asset_id: str) -> AssetDetail | None:
        """One asset (``asset_id`` in any case) with its 24-hour figures; None if unknown."""
        asset = await self._find(asset_id)
        if asset is None:
            return None
        priced = _priced(asset, (await self._quotes([asset])).get(asset.asset_id), None)
        since = self._clock() - DAY
        points = await self._store.history(asset.asset_id, since, DAY_POINTS_MAX)
        day = day_stats(points or [], priced.price)
        change = day.change_percent if day else None
        return AssetDetail(dataclasses.replace(priced, change_percent_24h=change), day)

    async def history(
        self, asset_id: str, limit: int, hours: float | None = None
    ) -> list[PricePoint] | None:
        """The newest ``limit`` points (of the last ``hours``, if given), oldest first; empty if
        the history is unreadable; None for an unknown asset."""
        asset = await self._find(asset_id)
        if asset is None:
            return None
        since = self._clock() - timedelta(hours=hours) if hours is not None else None
        return await self._store.history(asset.asset_id, since, limit) or []

    async def find(self, asset_id: str) -> Asset | None:
        """The catalogue's entry of ``asset_id`` (any case), None if unknown (no price read)."""
        return await self._find(asset_id)

    async def _find(self, asset_id: str) -> Asset | None:
        await self._catalogue()
        return (self._assets or {}).get(asset_id.upper())

    async def _catalogue(self) -> list[Asset]:
        if self._assets is None or self._monotonic() - self._loaded_at >= self._ttl_s:
            async with self._loading:  # one load per replica at a time, not one per request
                if self._assets is None or self._monotonic() - self._loaded_at >= self._ttl_s:
                    await self._reload()
        return list((self._assets or {}).values())

    async def _reload(self) -> None:
        assets = await self._store.load_catalogue()
        if assets is None:
            try:
                assets = await self._load_catalogue()
            except Exception:
                if self._assets is None:
                    raise
                log.warning("catalogue reload failed; keeping the copy in memory", exc_info=True)
                self._loaded_at = self._monotonic()
                return
            await self._store.save_catalogue(assets)
        self._assets = {a.asset_id: a for a in by_market_cap_rank(assets)}
        self._loaded_at = self._monotonic()

    async def _priced(self, assets: Sequence[Asset]) -> list[PricedAsset]:
        quotes = await self._quotes(assets)
        ids = [a.asset_id for a in assets]
        firsts = await self._store.first_points_since(ids, self._clock() - DAY) or {}
        return [_priced(a, quotes.get(a.asset_id), firsts.get(a.asset_id)) for a in assets]

    async def _quotes(self, assets: Sequence[Asset]) -> dict[str, Quote]:
        """The newest quote of each asset, from Redis and, for those it lacks, from the feed."""
        stored = await self._store.load_latest() or {}
        if all(a.asset_id in stored for a in assets):
            return stored
        quotes = dict(await self._feed_quotes())
        for asset_id, quote in stored.items():
            if asset_id not in quotes or quote.at > quotes[asset_id].at:
                quotes[asset_id] = quote
        return quotes

    async def _feed_quotes(self) -> Mapping[str, Quote]:
        if self._feed is None:
            return {}
        now = self._monotonic()
        if self._feed_memo is not None and now - self._feed_memo[0] < FEED_MEMO_S:
            return self._feed_memo[1]
        try:
            quotes = await asyncio.wait_for(self._feed(), FEED_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - no feed either: initial prices are shown
            log.debug("price feed unreachable: %r", error)
            quotes = {}
        self._feed_memo = (now, quotes)
        return quotes


def _priced(asset: Asset, quote: Quote | None, first: PricePoint | None) -> PricedAsset:
    """``asset`` at ``quote`` (its initial price without one), changed since ``first``."""
    price = quote.price if quote else asset.initial_price
    change = change_percent(first.open, price) if first else None
    return PricedAsset(asset, price, quote.at if quote else None, change)
