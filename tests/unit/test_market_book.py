"""The shard's price book: a quote is usable only while positive and fresh; otherwise
``PriceUnavailableError`` says which asset and when to retry. Refreshes never go backwards and
survive a feed that does not answer."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import pytest

from actors.domain.quotes import Quote
from actors.market.book import PriceBook
from actors.market.errors import PriceUnavailableError
from actors.settings import LedgerSettings
from tests.unit.market import T0, quote


class Feed:
    """A feed whose answer the test sets; ``None`` makes it fail."""

    def __init__(self, quotes: Mapping[str, Quote] | None = None) -> None:
        self.quotes = quotes
        self.calls = 0

    async def latest(self) -> Mapping[str, Quote]:
        self.calls += 1
        if self.quotes is None:
            raise ConnectionError("the feed is restarting")
        return self.quotes


def book_with(*quotes: Quote, max_age_s: float = 10.0) -> PriceBook:
    book = PriceBook(Feed({q.asset_id: q for q in quotes}).latest, 1.0, max_age_s)
    assert asyncio.run(book.refresh())
    return book


def test_a_fresh_positive_quote_is_usable() -> None:
    book = book_with(quote("BTC", "97000"))

    assert book.quote("BTC", T0 + timedelta(seconds=10)) == quote("BTC", "97000")


def test_an_asset_without_a_quote_is_unavailable_for_one_refresh_interval() -> None:
    book = book_with(quote("BTC"))

    with pytest.raises(PriceUnavailableError) as raised:
        book.quote("ETH", T0)

    assert (raised.value.asset_id, raised.value.retry_after_s) == ("ETH", 1.0)
    assert "no price" in raised.value.reason


def test_a_quote_older_than_the_maximum_age_is_unavailable() -> None:
    book = book_with(quote("BTC"), max_age_s=10.0)

    with pytest.raises(PriceUnavailableError) as raised:
        book.quote("BTC", T0 + timedelta(seconds=10.001))

    assert raised.value.retry_after_s == 1.0
    assert "older than 10 s" in raised.value.reason


@pytest.mark.parametrize("price", ["0", "-1.5"])
def test_a_quote_that_is_not_positive_is_unavailable(price: str) -> None:
    book = book_with(quote("BTC", price))

    with pytest.raises(PriceUnavailableError, match="not positive"):
        book.quote("BTC", T0)


def test_a_refresh_keeps_the_newer_quote_of_each_asset() -> None:
    feed = Feed({"BTC": quote("BTC", "2", T0 + timedelta(seconds=5)), "ETH": quote("ETH")})
    book = PriceBook(feed.latest, 1.0, 10.0)
    asyncio.run(book.refresh())
    feed.quotes = {"BTC": quote("BTC", "1", T0), "SOL": quote("SOL")}  # a restarted, older feed

    asyncio.run(book.refresh())

    assert {a: q.price for a, q in book.quotes.items()} == {"BTC": 2, "ETH": 100, "SOL": 100}


def test_a_failing_feed_keeps_the_known_quotes_which_then_age_out() -> None:
    feed = Feed({"BTC": quote("BTC")})
    book = PriceBook(feed.latest, 1.0, 10.0)
    asyncio.run(book.refresh())
    feed.quotes = None

    refreshed = asyncio.run(book.refresh())

    assert refreshed is False
    assert book.quote("BTC", T0 + timedelta(seconds=5)) == quote("BTC")
    with pytest.raises(PriceUnavailableError):
        book.quote("BTC", T0 + timedelta(seconds=11))


def test_a_feed_that_hangs_is_given_up_on() -> None:
    async def hang() -> Mapping[str, Quote]:
        await asyncio.sleep(60)
        return {}

    book = PriceBook(hang, 0.01, 10.0, fetch_timeout_s=0.05)

    assert asyncio.run(book.refresh()) is False


def test_the_book_refreshes_in_the_background_once_started() -> None:
    feed = Feed({"BTC": quote("BTC")})

    async def scenario() -> int:
        book = PriceBook.from_settings(feed.latest, LedgerSettings(price_tick_interval_s=0.01))
        with pytest.raises(PriceUnavailableError):
            book.quote("BTC", T0)  # starts the refreshes (inside the event loop)
        book.start()  # idempotent
        await asyncio.sleep(0.1)
        assert book.quote("BTC", T0) == quote("BTC")
        await book.close()
        return feed.calls

    assert asyncio.run(scenario()) >= 3


def test_the_book_is_built_from_the_settings_tick_and_maximum_age() -> None:
    settings = LedgerSettings(price_tick_interval_s=0.5, price_max_age_s=3.0)
    book = PriceBook.from_settings(Feed({"BTC": quote("BTC")}).latest, settings)
    asyncio.run(book.refresh())

    with pytest.raises(PriceUnavailableError) as raised:
        book.quote("BTC", T0 + timedelta(seconds=3.5))  # outside an event loop: no start

    assert raised.value.retry_after_s == 0.5
