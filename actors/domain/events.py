"""Events: what happened to an account (past tense, frozen, the content of the event log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.domain.commands import Side
from actors.domain.reservations import OpenOrder


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


@dataclass(frozen=True)
class LimitOrderPlaced:
    """A limit order was queued; what it needs is reserved (``order.reserved``)."""

    order: OpenOrder
    at: datetime

    kind = "LimitOrderPlaced"


@dataclass(frozen=True)
class LimitOrderFilled:
    """A queued limit order filled at ``price``: ``amount`` is the cash that moved, ``released``
    what went back to available (of the cash for a buy, the asset's quantity for a sale)."""

    order: OpenOrder
    price: Decimal
    amount: Decimal
    released: Decimal
    balance_after: Decimal
    holding_after: Decimal
    at: datetime

    kind = "LimitOrderFilled"


@dataclass(frozen=True)
class OrderCancelled:
    """A queued limit order was cancelled by its owner; its reservation is released."""

    order: OpenOrder
    at: datetime

    kind = "OrderCancelled"


@dataclass(frozen=True)
class OrderExpired:
    """A queued limit order reached its expiry; its reservation is released."""

    order: OpenOrder
    at: datetime

    kind = "OrderExpired"


Event = (
    Deposited
    | Withdrew
    | OrderFilled
    | LimitOrderPlaced
    | LimitOrderFilled
    | OrderCancelled
    | OrderExpired
)
