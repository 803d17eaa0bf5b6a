"""Price sources: the seeded random walk is reproducible, positive and exact to 8 places; the
CoinGecko adapter (only ever over a mocked transport here) parses exactly and skips junk."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import httpx
import pytest

from actors.domain.quotes import PRICE_QUANTUM, Quote
from actors.market.catalogue import Asset
from actors.market.coingecko import CoinGeckoSource
from actors.market.sources import RandomWalkSource, build_source
from actors.settings import LedgerSettings
from tests.unit.market import T0, make_asset, quote

ASSETS = [
    make_asset("BTC", initial_price_usd="97000.00"),
    make_asset("PEPE", initial_price_usd="0.000018"),
    make_asset("ETH", initial_price_usd="3400.00"),
]


def walk(seed: int, ticks: int, volatility: float = 0.01) -> list[dict[str, Quote]]:
    source = RandomWalkSource(seed, volatility)
    current: dict[str, Quote] = {}
    path = []
    for _ in range(ticks):
        current = asyncio.run(source.next_quotes(ASSETS, current, T0))
        path.append(current)
    return path


def test_the_same_seed_gives_the_same_prices_and_another_seed_others() -> None:
    assert walk(7, 50) == walk(7, 50)
    assert walk(7, 50)[-1] != walk(8, 50)[-1]


def test_the_walk_starts_from_the_initial_prices_and_moves_every_price() -> None:
    first = walk(1, 1)[0]

    for asset in ASSETS:
        moved = first[asset.asset_id].price
        assert moved != asset.initial_price
        assert abs(moved / asset.initial_price - 1) < Decimal("0.06")  # 6 sigma of 1 %


def test_walked_prices_are_exact_decimals_of_8_places_stamped_now() -> None:
    for tick in walk(3, 20):
        for q in tick.values():
            assert isinstance(q.price, Decimal)
            assert q.price == q.price.quantize(PRICE_QUANTUM)
            assert q.price.as_tuple().exponent == -8
            assert q.at == T0


def test_the_walk_continues_from_the_current_prices() -> None:
    source = RandomWalkSource(5, 0.001)
    current = {"BTC": quote("BTC", "50000.00000000")}

    moved = asyncio.run(source.next_quotes(ASSETS[:1], current, T0))["BTC"].price

    assert abs(moved - Decimal(50000)) < Decimal(300)


def test_prices_never_reach_zero_even_under_extreme_volatility_or_a_bad_start() -> None:
    source = RandomWalkSource(11, 0.49)
    price = Decimal("0.00000002")

    for _ in range(2000):
        price = source.step(price)
        assert price >= PRICE_QUANTUM
    assert source.step(Decimal("-5")) == PRICE_QUANTUM
    assert source.step(Decimal(0)) == PRICE_QUANTUM


def test_without_volatility_prices_stand_still() -> None:
    assert RandomWalkSource(1, 0.0).step(Decimal("123.45000000")) == Decimal("123.45000000")


def test_the_settings_pick_the_source() -> None:
    walk_source = build_source(LedgerSettings(price_source="random_walk"))
    gecko = build_source(LedgerSettings(price_source="coingecko"))

    assert isinstance(walk_source, RandomWalkSource)
    assert isinstance(gecko, CoinGeckoSource)
    asyncio.run(gecko.close())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gecko(body: object, seen: list[httpx.Request], clock: Clock | None = None) -> CoinGeckoSource:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text=json.dumps(body) if not isinstance(body, str) else body)

    return CoinGeckoSource(
        base_url="https://gecko.test/api/v3",
        transport=httpx.MockTransport(answer),
        clock=clock or Clock(),
    )


def fetch(source: CoinGeckoSource, assets: list[Asset]) -> dict[str, Quote]:
    async def scenario() -> dict[str, Quote]:
        try:
            return await source.next_quotes(assets, {}, T0)
        finally:
            await source.close()

    return asyncio.run(scenario())


def test_coingecko_prices_are_asked_by_symbol_and_parsed_exactly() -> None:
    seen: list[httpx.Request] = []
    body = '{"btc": {"usd": 97123.123456789123}, "pepe": {"usd": 0.0000181234}}'

    quotes = fetch(gecko(body, seen), ASSETS)

    assert seen[0].url.path == "/api/v3/simple/price"
    assert seen[0].url.params["symbols"] == "btc,eth,pepe"
    assert seen[0].url.params["vs_currencies"] == "usd"
    assert quotes["BTC"] == Quote("BTC", Decimal("97123.12345679"), T0)
    assert quotes["PEPE"].price == Decimal("0.00001812")
    assert "ETH" not in quotes  # not priced: the feed keeps its last quote, which ages


@pytest.mark.parametrize(
    "entry", [{"usd": 0}, {"usd": -3}, {"usd": True}, {"usd": "12"}, {"eur": 5}, "12", None]
)
def test_coingecko_entries_without_a_positive_usd_number_are_skipped(entry: object) -> None:
    quotes = fetch(gecko({"btc": entry, "doge": {"usd": 1}}, []), ASSETS)

    assert quotes == {}


def test_coingecko_is_asked_at_most_once_per_interval() -> None:
    seen: list[httpx.Request] = []
    clock = Clock()
    source = gecko({"btc": {"usd": 1}}, seen, clock)

    async def scenario() -> list[int]:
        sizes = []
        for step in (0.0, 29.0, 31.0):
            clock.now = step
            sizes.append(len(await source.next_quotes(ASSETS, {}, T0)))
        await source.close()
        return sizes

    assert asyncio.run(scenario()) == [1, 0, 1]
    assert len(seen) == 2


def test_a_coingecko_error_raises_for_the_feed_to_skip_the_tick() -> None:
    source = CoinGeckoSource(transport=httpx.MockTransport(lambda r: httpx.Response(429)))

    with pytest.raises(httpx.HTTPStatusError):
        fetch(source, ASSETS)
