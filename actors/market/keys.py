"""Redis key and channel names of the market: the only place they are spelled."""

from __future__ import annotations

LATEST_PRICES_KEY = "op:price:latest"  # hash: asset_id -> {"price", "at"} (json)
PRICES_CHANNEL = "op:prices"  # pub/sub: every tick, a json list of {"asset_id", "price", "at"}
CATALOGUE_KEY = "op:catalogue"  # string: the catalogue as a json list of asset records


def price_history_key(asset_id: str) -> str:
    """Sorted set of one asset's price points, scored by the start of their interval (epoch s)."""
    return f"op:price:history:{asset_id}"
