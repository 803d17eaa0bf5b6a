"""The ingress's read path of the market: the catalogue from memory, Redis or DynamoDB; prices
from Redis, else the feed, else the initial ones; 24-hour figures from the history."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from actors.domain.quotes import Quote
from actors.market.catalogue import Asset
from actors.market.errors import CatalogueUnavailableError
from actors.market.history import PricePoint
from actors.market.memory import InMemoryPriceStore
from actors.market.reader import FEED_MEMO_S, MarketReader, PricedAsset
from tests.unit.market import T0, Clock, make_asset, quote

CATALOGUE = [
    make_asset("DOGE", category="meme", market_cap_rank=8, initial_price_usd="0.32"),
    make_asset("BTC", market_cap_rank=1, initial_price_usd="97000", circulating_supply=19800000),
    make_asset("LUNC", category="layer1", market_cap_rank=None, is_active=False),
    make_asset("ETH", market_cap_rank=2, initial_price_usd="3400"),
]


class Dynamo:
    """The table's catalogue; counts its (expensive) scans; ``None`` fails them."""

    def __init__(self, assets: list[Asset] | None = CATALOGUE) -> None:
        self.assets = assets
        self.scans = 0

    async def load(self) -> list[Asset]:
        self.scans += 1
        if self.assets is None:
            raise CatalogueUnavailableError("dynamodb down")
        return list(self.assets)


class Feed:
    def __init__(self, quotes: Mapping[str, Quote] | None) -> None:
        self.quotes = quotes
        self.calls = 0

    async def latest(self) -> Mapping[str, Quote]:
        self.calls += 1
        if self.quotes is None:
            raise ConnectionError("no feed")
        return self.quotes


def reader(
    store: InMemoryPriceStore | None = None,
    dynamo: Dynamo | None = None,
    feed: Feed | None = None,
    clock: Clock | None = None,
) -> MarketReader:
    clock = clock or Clock()
    return MarketReader(
        store if store is not None else InMemoryPriceStore(),
        (dynamo or Dynamo()).load,
        feed.latest if feed else None,
        catalogue_ttl_s=60,
        clock=clock,
        monotonic=clock.monotonic,
    )


def ids(items: Sequence[PricedAsset]) -> list[str]:
    return [p.asset.asset_id for p in items]


def test_assets_are_listed_by_market_cap_rank_active_only_by_default() -> None:
    page = asyncio.run(reader().list_assets())

    assert ids(page.items) == ["BTC", "ETH", "DOGE"]
    assert (page.total_count, page.active_count) == (4, 3)


def test_inactive_assets_are_listed_last_when_asked_for() -> None:
    page = asyncio.run(reader().list_assets(active_only=False))

    assert ids(page.items) == ["BTC", "ETH", "DOGE", "LUNC"]


def test_a_category_filter_in_any_case_and_a_limit_narrow_the_list() -> None:
    subject = reader()

    layer1 = asyncio.run(subject.list_assets(category="LAYER1", active_only=False, limit=2))
    meme = asyncio.run(subject.list_assets(category="meme"))
    none = asyncio.run(subject.list_assets(category="nothing"))

    assert ids(layer1.items) == ["BTC", "ETH"]
    assert (layer1.total_count, layer1.active_count) == (3, 2)
    assert ids(meme.items) == ["DOGE"]
    assert (none.items, none.total_count, none.active_count) == ([], 0, 0)


def test_prices_come_from_redis_with_their_time_and_market_cap() -> None:
    store = InMemoryPriceStore(latest={a.asset_id: quote(a.asset_id, "2.5") for a in CATALOGUE})
    feed = Feed({})

    btc = asyncio.run(reader(store, feed=feed).list_assets()).items[0]

    assert (btc.price, btc.price_at) == (Decimal("2.5"), T0)
    assert btc.market_cap == Decimal("49500000.00")
    assert feed.calls == 0  # Redis had every price: the actor is not asked


def test_with_redis_down_prices_come_from_the_feed_actor_once_per_memo_period() -> None:
    clock = Clock()
    feed = Feed({"BTC": quote("BTC", "98000")})
    subject = reader(InMemoryPriceStore(available=False), feed=feed, clock=clock)

    first = asyncio.run(subject.list_assets())
    asyncio.run(subject.list_assets())
    clock.advance(FEED_MEMO_S)
    asyncio.run(subject.list_assets())

    btc, eth = first.items[0], first.items[1]
    assert (btc.price, btc.price_at) == (Decimal(98000), T0)
    assert (eth.price, eth.price_at) == (Decimal(3400), None)  # the feed had none: initial
    assert btc.change_percent_24h is None  # no history without Redis
    assert feed.calls == 2


def test_with_redis_and_the_feed_down_the_initial_prices_are_shown() -> None:
    subject = reader(InMemoryPriceStore(available=False), feed=Feed(None))

    page = asyncio.run(subject.list_assets())

    assert [(p.price, p.price_at) for p in page.items][:1] == [(Decimal(97000), None)]


def test_the_newer_of_the_redis_and_the_feed_quote_is_shown() -> None:
    later = T0 + timedelta(seconds=5)
    store = InMemoryPriceStore(latest={"BTC": quote("BTC", "1", later), "ETH": quote("ETH", "1")})
    feed = Feed({"BTC": quote("BTC", "2", T0), "ETH": quote("ETH", "2", later)})

    page = asyncio.run(reader(store, feed=feed).list_assets())

    assert [p.price for p in page.items[:2]] == [Decimal(1), Decimal(2)]


def test_the_list_carries_the_24h_change_from_the_first_point_of_the_window() -> None:
    clock = Clock(now=T0 + timedelta(hours=30))
    window_start = clock.now - timedelta(hours=24)
    store = InMemoryPriceStore(latest={"BTC": quote("BTC", "110", clock.now)})
    old = PricePoint.first(window_start - timedelta(minutes=1), Decimal(50))
    first = PricePoint.first(window_start, Decimal(100))
    store.points["BTC"] = {old.at: old, first.at: first}

    btc = asyncio.run(reader(store, clock=clock).list_assets()).items[0]

    assert btc.change_percent_24h == Decimal("10.00")


def test_the_detail_has_the_24h_change_high_and_low_from_the_history() -> None:
    store = InMemoryPriceStore(latest={"BTC": quote("BTC", "105", T0)})
    points = [
        PricePoint(T0 - timedelta(hours=2), Decimal(100), Decimal(120), Decimal(90), Decimal(110)),
        PricePoint(T0 - timedelta(hours=1), Decimal(110), Decimal(111), Decimal(95), Decimal(104)),
    ]
    store.points["BTC"] = {p.at: p for p in points}

    detail = asyncio.run(reader(store).asset("btc"))

    assert detail is not None and detail.day is not None
    assert detail.priced.asset.asset_id == "BTC"
    assert (detail.day.change, detail.day.change_percent) == (Decimal(5), Decimal("5.00"))
    assert (detail.day.high, detail.day.low) == (Decimal(120), Decimal(90))
    assert detail.priced.change_percent_24h == Decimal("5.00")


def test_an_unknown_asset_has_no_detail_and_no_history() -> None:
    subject = reader()

    assert asyncio.run(subject.asset("NOPE")) is None
    assert asyncio.run(subject.history("NOPE", 10)) is None


def test_with_redis_down_the_detail_has_a_price_but_no_24h_figures() -> None:
    detail = asyncio.run(reader(InMemoryPriceStore(available=False)).asset("ETH"))

    assert detail is not None
    assert (detail.priced.price, detail.day) == (Decimal(3400), None)


def test_the_history_is_the_newest_points_of_the_last_hours_oldest_first() -> None:
    store = InMemoryPriceStore()
    points = [PricePoint.first(T0 - timedelta(minutes=m), Decimal(m)) for m in range(0, 180, 30)]
    store.points["ETH"] = {p.at: p for p in points}
    subject = reader(store)

    newest_two = asyncio.run(subject.history("eth", 2)) or []
    last_hour = asyncio.run(subject.history("ETH", 100, hours=1)) or []

    assert [p.close for p in newest_two] == [Decimal(30), Decimal(0)]
    assert [p.close for p in last_hour] == [Decimal(60), Decimal(30), Decimal(0)]


def test_with_redis_down_the_history_is_empty() -> None:
    assert asyncio.run(reader(InMemoryPriceStore(available=False)).history("BTC", 5)) == []


def test_the_catalogue_is_scanned_once_cached_in_redis_and_refreshed_after_its_ttl() -> None:
    clock = Clock()
    store, dynamo = InMemoryPriceStore(), Dynamo()
    subject = reader(store, dynamo, clock=clock)

    async def many_reads() -> None:
        await asyncio.gather(*(subject.list_assets() for _ in range(10)))

    asyncio.run(many_reads())
    other_replica = reader(store, Dynamo(None), clock=clock)
    from_redis = asyncio.run(other_replica.list_assets())
    store.catalogue = CATALOGUE[:1]
    clock.advance(61)
    refreshed = asyncio.run(subject.list_assets(active_only=False))

    assert dynamo.scans == 1
    assert len(from_redis.items) == 3
    assert ids(refreshed.items) == ["DOGE"]


def test_a_failed_catalogue_refresh_keeps_the_copy_in_memory() -> None:
    clock = Clock()
    dynamo = Dynamo()
    subject = reader(InMemoryPriceStore(available=False), dynamo, clock=clock)
    asyncio.run(subject.list_assets())
    dynamo.assets = None
    clock.advance(61)

    page = asyncio.run(subject.list_assets())
    clock.advance(1)
    asyncio.run(subject.list_assets())

    assert len(page.items) == 3
    assert dynamo.scans == 2  # the failed reload counts as a load: not retried per request


def test_without_any_catalogue_the_reader_says_so() -> None:
    subject = reader(InMemoryPriceStore(available=False), Dynamo(None))

    with pytest.raises(CatalogueUnavailableError):
        asyncio.run(subject.list_assets())


def test_the_empty_reader_has_no_assets() -> None:
    page = asyncio.run(MarketReader.empty().list_assets())

    assert (page.items, page.total_count) == ([], 0)


def test_prices_of_some_assets_are_read_without_their_history() -> None:
    store = InMemoryPriceStore(latest={"BTC": quote("BTC", "98000")})
    store.points["BTC"] = {T0: PricePoint.first(T0, Decimal(1))}

    priced = asyncio.run(reader(store).prices(["btc", "ETH", "NOPE", "BTC"]))

    assert set(priced) == {"BTC", "ETH"}
    assert (priced["BTC"].price, priced["BTC"].price_at) == (Decimal(98000), T0)
    assert (priced["ETH"].price, priced["ETH"].price_at) == (Decimal(3400), None)
    assert priced["BTC"].change_percent_24h is None
    assert asyncio.run(reader(store).prices([])) == {}
