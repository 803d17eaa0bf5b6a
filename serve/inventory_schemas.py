"""Response schemas of the inventory (the public catalogue and its prices).

Field names follow the original inventory service (``price_usd``, ``market_cap_rank``,
``price_change_percentage_24h``...); prices, amounts and supplies are decimal strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AssetData(BaseModel):
    asset_id: str = Field(examples=["BTC"])
    symbol: str = Field(examples=["btc"])
    name: str
    description: str
    category: str
    is_active: bool
    market_cap_rank: int | None
    price_usd: str = Field(description="The latest price, 8 decimal places.")
    price_updated_at: str | None = Field(
        description="When the price was published; null when no price could be read and "
        "price_usd is the catalogue's initial price."
    )
    price_change_percentage_24h: str | None = Field(
        description="Change over 24 hours (or since the history starts), in percent; null "
        "when the history is unavailable."
    )
    market_cap: str = Field(description="price_usd times circulating_supply, 2 places.")


class AssetsPublic(BaseModel):
    data: list[AssetData]
    total_count: int = Field(description="Assets of the catalogue (of the category, if given).")
    active_count: int = Field(description="How many of them are active (tradable).")


class AssetDetailData(AssetData):
    availability_status: Literal["available", "unavailable"]
    price_change_24h: str | None = Field(description="Absolute change over 24 hours.")
    high_24h: str | None
    low_24h: str | None
    circulating_supply: str
    max_supply: str | None


class AssetDetailPublic(BaseModel):
    data: AssetDetailData


class PricePointPublic(BaseModel):
    timestamp: str = Field(description="Start of the interval.")
    price: str = Field(description="The last price of the interval.")
    open: str
    high: str
    low: str


class PriceHistoryPublic(BaseModel):
    asset_id: str
    data: list[PricePointPublic] = Field(description="Oldest first; empty when unavailable.")
