"""A quote: one asset's price at one instant, as the price feed published it.

Pure: the shards price orders with quotes, the feed produces them, the ingress shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

PRICE_PLACES = 8
PRICE_QUANTUM = Decimal(1).scaleb(-PRICE_PLACES)  # 0.00000001, the smallest price step


def quantize_price(value: Decimal) -> Decimal:
    """``value`` rounded (half even) to the 8 decimal places prices carry."""
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Quote:
    """The price of ``asset_id`` at ``at`` (a timezone-aware instant).

    A quote is a fact as published, so it may carry a price that is not usable (zero, say, from a
    broken source): whoever prices an order checks it (see ``actors.market.book.PriceBook``).
    """

    asset_id: str
    price: Decimal
    at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.price, Decimal):
            raise TypeError("A quote's price must be a Decimal, never a float.")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("A quote's time must be timezone-aware (use datetime.now(UTC)).")

    def age_s(self, now: datetime) -> float:
        """How many seconds old the quote is at ``now`` (negative if ``now`` is earlier)."""
        return (now - self.at).total_seconds()
