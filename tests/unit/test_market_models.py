"""Quotes and the catalogue model: exact decimals, aware times, the shipped catalogue parses,
and the market's errors survive a trip between Ray workers."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.quotes import PRICE_QUANTUM, Quote, quantize_price
from actors.market.catalogue import Asset, by_market_cap_rank
from actors.market.errors import CatalogueUnavailableError, PriceUnavailableError
from cluster.seed import load_assets
from tests.unit.market import T0, asset_record, make_asset


def test_a_quote_needs_a_decimal_price_and_an_aware_time() -> None:
    with pytest.raises(TypeError):
        Quote("BTC", 1.5, T0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        Quote("BTC", Decimal("1.5"), datetime(2025, 1, 1))


def test_a_quote_knows_its_age() -> None:
    q = Quote("BTC", Decimal("1"), T0)

    assert q.age_s(T0 + timedelta(seconds=7.5)) == 7.5


def test_prices_are_quantized_half_even_to_8_places() -> None:
    assert quantize_price(Decimal("1.000000005")) == Decimal("1.00000000")
    assert quantize_price(Decimal("1.000000015")) == Decimal("1.00000002")
    assert Decimal("0.00000001") == PRICE_QUANTUM


def test_every_asset_of_the_shipped_catalogue_parses_and_round_trips() -> None:
    records = load_assets()

    assets = [Asset.from_record(r) for r in records]

    assert len(assets) == len(records) > 20
    assert all(a.initial_price > 0 for a in assets)
    assert [Asset.from_record(a.to_record()) for a in assets] == assets
    btc = next(a for a in assets if a.asset_id == "BTC")
    assert btc.initial_price == Decimal("97000.00")
    assert btc.max_supply == Decimal(21000000)


def test_an_asset_id_is_upper_case_and_a_float_never_goes_through_binary() -> None:
    asset = make_asset("btc", initial_price_usd=0.1, circulating_supply=1.5)

    assert asset.asset_id == "BTC"
    assert asset.initial_price == Decimal("0.1")
    assert asset.circulating_supply == Decimal("1.5")


@pytest.mark.parametrize(
    "overrides",
    [
        {"initial_price_usd": "0"},
        {"initial_price_usd": "-1"},
        {"initial_price_usd": "NaN"},
        {"initial_price_usd": True},
        {"initial_price_usd": "lots"},
        {"market_cap_rank": 1.5},
        {"market_cap_rank": True},
    ],
)
def test_a_malformed_asset_record_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_asset(**overrides)


def test_an_asset_record_without_a_required_field_is_refused() -> None:
    record = asset_record()
    del record["name"]

    with pytest.raises(ValueError, match="malformed"):
        Asset.from_record(record)


def test_assets_sort_by_market_cap_rank_with_the_unranked_last() -> None:
    assets = [
        make_asset("ZZZ", market_cap_rank=None),
        make_asset("ETH", market_cap_rank=2),
        make_asset("AAA", market_cap_rank=None),
        make_asset("BTC", market_cap_rank=1),
    ]

    assert [a.asset_id for a in by_market_cap_rank(assets)] == ["BTC", "ETH", "AAA", "ZZZ"]


def test_the_market_errors_survive_a_pickle_round_trip() -> None:
    error = PriceUnavailableError("BTC", 1.5, "the price is older than 10 s")

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.asset_id, copy.retry_after_s, copy.reason) == ("BTC", 1.5, error.reason)
    assert str(copy) == "No usable price for BTC (the price is older than 10 s); retry in 1.5 s."
    assert not isinstance(copy, ValueError)
    assert pickle.loads(pickle.dumps(CatalogueUnavailableError("down"))).reason == "down"
