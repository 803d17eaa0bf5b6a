"""The price store port and its Redis adapter: latest prices, bounded history, live ticks.

Redis is the shared copy of what the feed published, for the ingress and for the feed's own
restart. It is never on the money path (the shards price orders from the feed, in memory), so
every call has a tight timeout and a circuit breaker, and a failure reads as ``None`` (unknown)
or ``False`` (not stored), never as an exception.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from actors.cache.breaker import CircuitBreaker
from actors.cache.client import GuardedRedis
from actors.domain.quotes import Quote
from actors.market import keys
from actors.market.catalogue import Asset
from actors.market.history import PricePoint

log = logging.getLogger(__name__)
T = TypeVar("T")
CATALOGUE_TTL_S = 3600


class PriceStore(Protocol):
    """What the feed writes and the ingress reads."""

    async def save_tick(
        self, quotes: Sequence[Quote], points: Mapping[str, PricePoint], keep: int
    ) -> bool:
        """Store ``quotes`` as the latest, put each asset's point of the current interval in its
        history (keeping the newest ``keep``), publish the tick; False if not stored."""
        ...

    async def load_latest(self) -> dict[str, Quote] | None:
        """The latest quote of every asset stored (empty if none); None if unreachable."""
        ...

    async def history(
        self, asset_id: str, since: datetime | None, limit: int
    ) -> list[PricePoint] | None:
        """The newest ``limit`` points from ``since`` on, oldest first; None if unreachable."""
        ...

    async def first_points_since(
        self, asset_ids: Sequence[str], since: datetime
    ) -> dict[str, PricePoint] | None:
        """Each asset's oldest point from ``since`` on (if it has one); None if unreachable."""
        ...

    async def save_catalogue(self, assets: Sequence[Asset]) -> bool:
        """Cache the catalogue for the ingress replicas; False if not stored."""
        ...

    async def load_catalogue(self) -> list[Asset] | None:
        """The cached catalogue; None on a miss or if unreachable."""
        ...


def quote_json(quote: Quote) -> dict[str, str]:
    """A quote as the JSON the pub/sub channel carries."""
    return {"asset_id": quote.asset_id, "price": str(quote.price), "at": quote.at.isoformat()}


def latest_json(quote: Quote) -> str:
    """A quote as its latest-price field (the asset id is the field's name)."""
    return json.dumps({"price": str(quote.price), "at": quote.at.isoformat()})


def quote_from_json(asset_id: str, text: str) -> Quote:
    """A quote from a latest-price field (``{"price", "at"}``)."""
    value = json.loads(text)
    return Quote(asset_id, Decimal(value["price"]), datetime.fromisoformat(value["at"]))


def point_json(point: PricePoint) -> str:
    """A history point as stored (the text is also its identity in the sorted set)."""
    fields = {"open": point.open, "high": point.high, "low": point.low, "close": point.close}
    return json.dumps({"at": point.at.isoformat(), **{k: str(v) for k, v in fields.items()}})


def point_from_json(text: str) -> PricePoint:
    """A history point from its stored text."""
    value = json.loads(text)
    prices = [Decimal(value[k]) for k in ("open", "high", "low", "close")]
    return PricePoint(datetime.fromisoformat(value["at"]), *prices)


def _score(at: datetime) -> float:
    return at.astimezone(UTC).timestamp()


class RedisPriceStore:
    """``PriceStore`` on ``redis.asyncio``: a hash of latest prices, one sorted set of points per
    asset (scored by interval start, so a point is replaced within its interval), a channel."""

    def __init__(
        self, redis_url: str, timeout_s: float, breaker: CircuitBreaker | None = None
    ) -> None:
        self._guard = GuardedRedis(redis_url, timeout_s, retries=0, breaker=breaker)

    def _redis(self) -> Any:
        return self._guard.client

    async def _guarded(self, call: Awaitable[T]) -> T | None:
        return await self._guard.call(call)  # any Redis failure reads as unknown

    async def save_tick(
        self, quotes: Sequence[Quote], points: Mapping[str, PricePoint], keep: int
    ) -> bool:
        if not quotes and not points:
            return True
        pipe = self._redis().pipeline(transaction=True)
        if quotes:
            latest = {q.asset_id: latest_json(q) for q in quotes}
            pipe.hset(keys.LATEST_PRICES_KEY, mapping=latest)
        for asset_id, point in points.items():
            key, score = keys.price_history_key(asset_id), _score(point.at)
            pipe.zremrangebyscore(key, score, score)
            pipe.zadd(key, {point_json(point): score})
            pipe.zremrangebyrank(key, 0, -(keep + 1))
        if quotes:
            pipe.publish(keys.PRICES_CHANNEL, json.dumps([quote_json(q) for q in quotes]))
        return await self._guarded(pipe.execute()) is not None

    async def load_latest(self) -> dict[str, Quote] | None:
        fields: dict[str, str] | None = await self._guarded(
            self._redis().hgetall(keys.LATEST_PRICES_KEY)
        )
        if fields is None:
            return None
        return {asset_id: quote_from_json(asset_id, text) for asset_id, text in fields.items()}

    async def history(
        self, asset_id: str, since: datetime | None, limit: int
    ) -> list[PricePoint] | None:
        low = _score(since) if since is not None else "-inf"
        call = self._redis().zrevrangebyscore(
            keys.price_history_key(asset_id), "+inf", low, start=0, num=limit
        )
        texts: list[str] | None = await self._guarded(call)
        if texts is None:
            return None
        return [point_from_json(t) for t in reversed(texts)]

    async def first_points_since(
        self, asset_ids: Sequence[str], since: datetime
    ) -> dict[str, PricePoint] | None:
        pipe = self._redis().pipeline(transaction=False)
        for asset_id in asset_ids:
            pipe.zrangebyscore(keys.price_history_key(asset_id), _score(since), "+inf", 0, 1)
        found: list[list[str]] | None = await self._guarded(pipe.execute())
        if found is None:
            return None
        return {a: point_from_json(f[0]) for a, f in zip(asset_ids, found, strict=True) if f}

    async def save_catalogue(self, assets: Sequence[Asset]) -> bool:
        text = json.dumps([a.to_record() for a in assets])
        call = self._redis().set(keys.CATALOGUE_KEY, text, ex=CATALOGUE_TTL_S)
        return await self._guarded(call) is not None

    async def load_catalogue(self) -> list[Asset] | None:
        text: str | None = await self._guarded(self._redis().get(keys.CATALOGUE_KEY))
        if not text:
            return None
        try:
            return [Asset.from_record(record) for record in json.loads(text)]
        except ValueError as error:  # a bad copy is a miss: the table has the catalogue
            log.warning("ignoring the cached catalogue: %s", error)
            return None

    async def close(self) -> None:
        """Close the connections (inside the event loop that opened them)."""
        await self._guard.close()
