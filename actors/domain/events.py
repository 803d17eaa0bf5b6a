"""Events: what happened to an account (past tense, frozen, the content of the event log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.domain.commands import Side


@dataclass(frozen=True)
class Deposited:
    """Cash was added."""

    transaction_id: str
    amount: Decimal
    balance_after: Decimal
    at: datetime

    kind = "Deposited"


@dataclass(frozen=True)
class Withdrew:
    """Cash was taken out."""

    transaction_id: str
    amount: Decimal
    balance_after: Decimal
    at: datetime

    kind = "Withdrew"


@dataclass(frozen=True)
class OrderFilled:
    """A market order executed: ``quantity`` at ``price``; ``amount`` is the cash that moved
    (the cost of a buy rounded up to the cent, the proceeds of a sale rounded down)."""

    order_id: str
    client_order_id: str | None
    side: Side
    asset_id: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    balance_after: Decimal
    holding_after: Decimal
    at: datetime

    kind = "OrderFilled"

    @property
    def order_type(self) -> str:
        """``market_buy`` or ``market_sell``."""
        return f"market_{self.side}"


Event = Deposited | Withdrew | OrderFilled
