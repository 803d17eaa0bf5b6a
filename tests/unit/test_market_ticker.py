"""The price feed's core, without Ray: it recovers the last stored prices (the initial ones
where there are none), ticks, stores and publishes every tick, keeps ticking in memory with
Redis down, and its test hooks are refused unless fault injection is allowed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from actors.domain.quotes import Quote
from actors.market.catalogue import Asset
from actors.market.errors import CatalogueUnavailableError
from actors.market.history import PricePoint
from actors.market.memory import InMemoryPriceStore
from actors.market.sources import RandomWalkSource
from actors.market.store import RedisPriceStore
from actors.market.ticker import CatalogueLoader, PriceTicker
from actors.settings import LedgerSettings
from tests.unit.market import T0, Clock, make_asset, quote

CATALOGUE = [make_asset("BTC", initial_price_usd="100"), make_asset("ETH", initial_price_usd="10")]


class StepSource:
    """Adds 1 to every price each tick; fails while ``failing``."""

    def __init__(self) -> None:
        self.failing = False

    async def next_quotes(
        self, assets: Sequence[Asset], current: Mapping[str, Quote], now: datetime
    ) -> dict[str, Quote]:
        if self.failing:
            raise ConnectionError("source down")
        return {a.asset_id: Quote(a.asset_id, current[a.asset_id].price + 1, now) for a in assets}


def ticker(
    store: InMemoryPriceStore | None = None,
    catalogue: list[Asset] | None = None,
    allow_fault_injection: bool = True,
    tick_interval_s: float = 1.0,
    clock: Clock | None = None,
    load: CatalogueLoader | None = None,
) -> tuple[PriceTicker, InMemoryPriceStore, StepSource]:
    store = store if store is not None else InMemoryPriceStore()
    source = StepSource()

    async def load_catalogue() -> list[Asset]:
        if catalogue is None:
            raise CatalogueUnavailableError("dynamodb down")
        return list(catalogue)

    subject = PriceTicker(
        source,
        store,
        load or load_catalogue,
        tick_interval_s=tick_interval_s,
        history_interval_s=60,
        history_points=3,
        allow_fault_injection=allow_fault_injection,
        clock=clock or Clock(),
    )
    return subject, store, source


def prices(quotes: Mapping[str, Quote]) -> dict[str, Decimal]:
    return {a: q.price for a, q in quotes.items()}


def test_a_first_start_begins_from_the_initial_prices_and_stores_the_catalogue() -> None:
    subject, store, _ = ticker(catalogue=CATALOGUE)

    assert asyncio.run(subject.recover())

    assert prices(asyncio.run(subject.tick())) == {"BTC": 101, "ETH": 11}  # initial + 1
    assert store.catalogue == CATALOGUE


def test_a_restart_resumes_from_the_stored_prices_not_the_initial_ones() -> None:
    store = InMemoryPriceStore(latest={"BTC": quote("BTC", "123.45", T0 - timedelta(hours=1))})
    subject, _, _ = ticker(store, CATALOGUE)

    asyncio.run(subject.recover())
    ticked = asyncio.run(subject.tick())

    assert prices(ticked) == {"BTC": Decimal("124.45"), "ETH": 11}


def test_with_redis_down_at_start_the_feed_starts_from_the_initial_prices_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, _, _ = ticker(InMemoryPriceStore(available=False), CATALOGUE)

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(subject.recover())

    assert prices(asyncio.run(subject.tick())) == {"BTC": 101, "ETH": 11}
    assert "initial prices" in caplog.text


def test_without_dynamodb_the_catalogue_copy_in_redis_is_used() -> None:
    subject, _, _ = ticker(InMemoryPriceStore(catalogue=CATALOGUE[:1]), catalogue=None)

    assert asyncio.run(subject.recover())

    assert subject.status()["assets"] == 1


def test_without_any_catalogue_the_feed_waits_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, _, _ = ticker(catalogue=None)

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(subject.recover()) is False

    assert "waits for the catalogue" in caplog.text


def test_every_tick_stores_the_latest_prices_a_bounded_history_and_publishes() -> None:
    clock = Clock()
    subject, store, _ = ticker(catalogue=CATALOGUE, clock=clock)
    asyncio.run(subject.recover())

    for _ in range(5):
        asyncio.run(subject.tick())
        clock.advance(60)

    assert prices(store.latest) == {"BTC": 105, "ETH": 15}
    assert [p[0]["price"] for p in store.published] == ["101", "102", "103", "104", "105"]
    history = store.points["BTC"]
    assert sorted(history) == [T0 + timedelta(minutes=m) for m in (2, 3, 4)]  # the newest 3
    assert history[T0 + timedelta(minutes=4)] == PricePoint.first(
        T0 + timedelta(minutes=4), Decimal(105)
    )
    assert subject.ticks == 5


def test_with_redis_down_the_feed_keeps_ticking_in_memory_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, store, _ = ticker(catalogue=CATALOGUE)
    asyncio.run(subject.recover())
    store.available = False

    with caplog.at_level(logging.INFO):
        for _ in range(3):
            asyncio.run(subject.tick())
        store.available = True
        asyncio.run(subject.tick())

    assert prices(store.latest) == {"BTC": 104, "ETH": 14}
    assert caplog.text.count("Redis unavailable") == 1
    assert "Redis is back" in caplog.text
    assert subject.status()["redis"] is True


def test_a_failing_source_skips_the_tick_and_keeps_the_prices(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, store, source = ticker(catalogue=CATALOGUE)
    asyncio.run(subject.recover())
    source.failing = True

    with caplog.at_level(logging.WARNING):
        assert asyncio.run(subject.tick()) == {}

    assert subject.ticks == 0 and store.published == []
    assert "price source failed" in caplog.text


def test_in_the_background_it_ticks_every_interval_and_pause_stops_it() -> None:
    subject, _, _ = ticker(catalogue=CATALOGUE, tick_interval_s=0.01)

    async def scenario() -> tuple[Decimal, int, int, int]:
        first = (await subject.latest())["BTC"].price  # starts it, waits for the first tick
        subject.start()  # idempotent
        await asyncio.sleep(0.1)
        subject.pause()
        paused_at = subject.ticks
        await asyncio.sleep(0.1)
        still = subject.ticks
        subject.resume()
        await asyncio.sleep(0.1)
        await subject.stop()
        return first, paused_at, still, subject.ticks

    first, paused_at, still, final = asyncio.run(scenario())

    assert first == 101
    assert paused_at >= 3
    assert still == paused_at
    assert final > still


def test_it_retries_the_catalogue_until_it_can_be_read() -> None:
    subject, _, _ = ticker(tick_interval_s=0.01, load=_flaky(CATALOGUE))

    async def scenario() -> dict[str, Quote]:
        quotes = await subject.latest()
        await subject.stop()
        return quotes

    assert set(asyncio.run(scenario())) == {"BTC", "ETH"}


def _flaky(catalogue: list[Asset]) -> CatalogueLoader:
    calls = 0

    async def load() -> list[Asset]:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise CatalogueUnavailableError("not yet")
        return catalogue

    return load


def test_a_set_price_is_published_at_once_and_the_walk_goes_on_from_it() -> None:
    subject, store, _ = ticker(catalogue=CATALOGUE, tick_interval_s=60)

    async def scenario() -> tuple[Quote, dict[str, Quote]]:
        await subject.latest()
        subject.pause()
        set_quote = await subject.set_price("ETH", Decimal("55.123456789"))
        ticked = await subject.tick()
        await subject.stop()
        return set_quote, ticked

    set_quote, ticked = asyncio.run(scenario())

    assert set_quote.price == Decimal("55.12345679")
    assert store.published[-2] == [
        {"asset_id": "ETH", "price": "55.12345679", "at": T0.isoformat()}
    ]
    assert ticked["ETH"].price == Decimal("56.12345679")


def test_setting_the_price_of_an_unknown_asset_is_refused() -> None:
    subject, _, _ = ticker(catalogue=CATALOGUE, tick_interval_s=60)

    async def scenario() -> None:
        try:
            await subject.set_price("NOPE", Decimal(1))
        finally:
            await subject.stop()

    with pytest.raises(KeyError):
        asyncio.run(scenario())


def test_the_test_hooks_are_refused_unless_fault_injection_is_allowed() -> None:
    subject, _, _ = ticker(catalogue=CATALOGUE, allow_fault_injection=False)

    with pytest.raises(PermissionError, match="OP_ALLOW_FAULT_INJECTION"):
        subject.pause()
    with pytest.raises(PermissionError):
        subject.resume()
    with pytest.raises(PermissionError):
        asyncio.run(subject.set_price("BTC", Decimal(1)))


def test_the_feed_is_built_from_the_settings_without_touching_the_network() -> None:
    settings = LedgerSettings(
        price_tick_interval_s=0.5, redis_timeout_s=0.01, price_history_points=10
    )

    subject = PriceTicker.from_settings(settings)

    assert isinstance(subject._source, RandomWalkSource)
    assert isinstance(subject._store, RedisPriceStore)
    assert subject._store._guard.timeout_s == 0.25  # the feed writes with a looser timeout
    assert (subject._tick_s, subject._history_points) == (0.5, 10)


class BrokenStore(InMemoryPriceStore):
    async def save_tick(
        self, quotes: Sequence[Quote], points: Mapping[str, PricePoint], keep: int
    ) -> bool:
        raise RuntimeError("a bug in the store")


def test_a_bug_in_one_tick_is_logged_and_the_prices_keep_moving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subject, _, _ = ticker(BrokenStore(), CATALOGUE, tick_interval_s=0.01)

    async def scenario() -> None:
        await subject.latest()
        await asyncio.sleep(0.05)
        await subject.stop()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())

    assert subject.ticks >= 3
    assert "price tick failed" in caplog.text


def test_quotes_after_is_a_long_poll_for_the_next_publication() -> None:
    subject, _, _ = ticker(catalogue=CATALOGUE, tick_interval_s=60)

    async def scenario() -> tuple[int, int, int, Decimal]:
        await subject.latest()
        subject.pause()
        now, _ = await subject.quotes_after(-1, 5)  # one published already: at once
        empty, _ = await subject.quotes_after(now, 0.01)  # none after it: the timeout
        waiting = asyncio.ensure_future(subject.quotes_after(now, 5))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await subject.set_price("ETH", Decimal("42"))
        later, quotes = await waiting
        await subject.stop()
        return now, empty, later, quotes["ETH"].price

    now, empty, later, price = asyncio.run(scenario())
    assert (empty, later, price) == (now, now + 1, Decimal("42.00000000"))
