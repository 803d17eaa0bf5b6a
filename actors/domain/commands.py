"""Commands: what a user asks of an account (imperative, frozen, serializable).

Each command states its ``kind`` and its ``canonical()`` form; the hash of the canonical form is
stored with the idempotency key, so the same key sent with a different request is detected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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


Command = Deposit | Withdraw | PlaceMarketOrder


def request_fingerprint(command: Command) -> str:
    """A stable hash of a command, stored with its idempotency key to detect a reused key."""
    return hashlib.sha256(command.canonical().encode()).hexdigest()
