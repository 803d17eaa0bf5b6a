"""``OpenOrder``: a limit order waiting for its price, and what it reserves meanwhile.

A limit buy reserves cash (its cost at the limit price, rounded up to the cent); a limit sell
reserves the quantity it sells. The reservation is part of ``held`` (of the cash or of the
holding) until the order fills, is cancelled or expires; ``available`` is what is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.domain.commands import Side


@dataclass(frozen=True)
class OpenOrder:
    """One queued limit order: ``reserved`` is cash for a buy and a quantity for a sell."""

    order_id: str
    client_order_id: str | None
    side: Side
    asset_id: str
    quantity: Decimal
    limit_price: Decimal
    reserved: Decimal
    placed_at: datetime
    expires_at: datetime | None = None

    @property
    def order_type(self) -> str:
        """``limit_buy`` or ``limit_sell`` (API.md's names)."""
        return f"limit_{self.side}"

    def crosses(self, price: Decimal) -> bool:
        """Whether a market price lets the order fill: a buy at or below its limit, a sell at
        or above."""
        return price <= self.limit_price if self.side == "buy" else price >= self.limit_price

    def expired_at(self, now: datetime) -> bool:
        """Whether the order's expiry has come at ``now``."""
        return self.expires_at is not None and self.expires_at <= now
