"""Small factories for the market tests: assets, quotes, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from actors.domain.quotes import Quote
from actors.market.catalogue import Asset

T0 = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)


def asset_record(asset_id: str = "BTC", **overrides: Any) -> dict[str, Any]:
    """A catalogue record in the shape of ``cluster/data/assets.json``."""
    record: dict[str, Any] = {
        "asset_id": asset_id,
        "symbol": asset_id.lower(),
        "name": f"{asset_id} coin",
        "category": "layer1",
        "description": f"The {asset_id} coin.",
        "initial_price_usd": "100.00",
        "market_cap_rank": 1,
        "circulating_supply": 1000,
        "max_supply": None,
        "is_active": True,
    }
    record.update(overrides)
    return record


def make_asset(asset_id: str = "BTC", **overrides: Any) -> Asset:
    return Asset.from_record(asset_record(asset_id, **overrides))


def quote(asset_id: str = "BTC", price: str = "100.00000000", at: datetime = T0) -> Quote:
    return Quote(asset_id, Decimal(price), at)


@dataclass
class Clock:
    """A wall clock (aware datetimes) and a monotonic one, moved together by the test."""

    now: datetime = T0
    mono: float = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds
