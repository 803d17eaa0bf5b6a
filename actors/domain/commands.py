"""Commands: what a user asks of an account (imperative, frozen, serializable).

Each command states its ``kind`` and its ``canonical()`` form; the hash of the canonical form is
stored with the idempotency key, so the same key sent with a different request is detected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Deposit:
    """Add cash to the account."""

    amount: Decimal

    kind = "deposit"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        return f"{self.kind}|{self.amount.normalize()}"


@dataclass(frozen=True)
class Withdraw:
    """Take cash out of the account, never below zero."""

    amount: Decimal

    kind = "withdraw"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        return f"{self.kind}|{self.amount.normalize()}"


@dataclass(frozen=True)
class PlaceMarketOrder:
    """Buy or sell ``quantity`` of an asset at once, at the current price."""

    side: Side
    asset_id: str
    quantity: Decimal
    client_order_id: str | None = None

    kind = "market_order"

    @property
    def order_type(self) -> str:
        """``market_buy`` or ``market_sell`` (API.md's names)."""
        return f"market_{self.side}"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        client = self.client_order_id or ""
        return f"{self.kind}|{self.side}|{self.asset_id}|{self.quantity.normalize()}|{client}"


@dataclass(frozen=True)
class PlaceLimitOrder:
    """Buy or sell ``quantity`` when the market reaches ``limit_price``; until then the order
    waits (``queued``) with what it needs reserved, or until ``expires_at``."""

    side: Side
    asset_id: str
    quantity: Decimal
    limit_price: Decimal
    client_order_id: str | None = None
    expires_at: datetime | None = None

    kind = "limit_order"

    @property
    def order_type(self) -> str:
        """``limit_buy`` or ``limit_sell`` (API.md's names)."""
        return f"limit_{self.side}"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        client = self.client_order_id or ""
        expiry = self.expires_at.isoformat() if self.expires_at else ""
        return (
            f"{self.kind}|{self.side}|{self.asset_id}|{self.quantity.normalize()}"
            f"|{self.limit_price.normalize()}|{client}|{expiry}"
        )


@dataclass(frozen=True)
class CancelOrder:
    """Cancel an open limit order, releasing what it reserved."""

    order_id: str

    kind = "cancel_order"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        return f"{self.kind}|{self.order_id}"


@dataclass(frozen=True)
class FillOrder:
    """The matcher's command: fill an open limit order at a market price that crosses it
    (``quoted_at`` is when the feed published that price)."""

    order_id: str
    price: Decimal
    quoted_at: datetime

    kind = "fill_order"

    def canonical(self) -> str:
        """An order fills once: its identity is the order alone, whatever the price."""
        return f"{self.kind}|{self.order_id}"


@dataclass(frozen=True)
class ExpireOrder:
    """The matcher's command: close an open limit order whose expiry has come."""

    order_id: str

    kind = "expire_order"

    def canonical(self) -> str:
        """The request's identity for idempotency."""
        return f"{self.kind}|{self.order_id}"


Command = (
    Deposit | Withdraw | PlaceMarketOrder | PlaceLimitOrder | CancelOrder | FillOrder | ExpireOrder
)


def request_fingerprint(command: Command) -> str:
    """A stable hash of a command, stored with its idempotency key to detect a reused key."""
    return hashlib.sha256(command.canonical().encode()).hexdigest()
