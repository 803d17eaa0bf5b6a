"""Holdings: how much of an asset a user owns, what it cost, and what open orders hold of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

QUANTITY_PLACES = 8
QUANTUM = Decimal(1).scaleb(-QUANTITY_PLACES)  # 0.00000001
NO_QUANTITY = Decimal("0E-8")


@dataclass(frozen=True)
class Holding:
    """One asset in one account; ``cost`` is the cash paid for the ``quantity`` still held."""

    quantity: Decimal = NO_QUANTITY
    held: Decimal = NO_QUANTITY
    cost: Decimal = Decimal("0.00")
    opened_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def available(self) -> Decimal:
        """What can be sold now (the quantity less what open orders hold)."""
        return self.quantity - self.held
