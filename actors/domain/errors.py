"""The error tree of the money rules.

Every error passes all its constructor arguments to ``super().__init__`` so that it survives a
pickle round trip between Ray workers.
"""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """Base of every refusal the money rules can make."""


class InvalidAmountError(DomainError, ValueError):
    """An amount that is not a positive, finite decimal within the allowed range and places."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InsufficientFundsError(DomainError):
    """A withdrawal (or later a purchase) larger than the available cash."""

    def __init__(self, requested: Decimal, available: Decimal) -> None:
        super().__init__(requested, available)
        self.requested = requested
        self.available = available

    def __str__(self) -> str:
        return "The available balance is smaller than the amount requested."


class DailyLimitExceededError(DomainError):
    """An operation that would take the user's total for this UTC day past the limit."""

    def __init__(self, kind: str, limit: Decimal, used: Decimal) -> None:
        super().__init__(kind, limit, used)
        self.kind = kind
        self.limit = limit
        self.used = used

    def __str__(self) -> str:
        remaining = max(self.limit - self.used, Decimal(0))
        return (
            f"The daily {self.kind} limit of {self.limit} would be exceeded; "
            f"{remaining} remains for today (UTC)."
        )


class InsufficientHoldingsError(DomainError):
    """A sale of more of an asset than the available quantity held."""

    def __init__(self, asset_id: str, requested: Decimal, available: Decimal) -> None:
        super().__init__(asset_id, requested, available)
        self.asset_id = asset_id
        self.requested = requested
        self.available = available

    def __str__(self) -> str:
        return f"The available {self.asset_id} holding is smaller than the quantity to sell."


class OrderRejectedError(DomainError, ValueError):
    """An order outside the order limits at the price it would fill at (too large, too small):
    bad input like ``InvalidOrderError``, only known once the price is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class InvalidOrderError(DomainError, ValueError):
    """An order whose fields break a rule before any price is known (quantity, places, asset)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class OrderNotCancellableError(DomainError):
    """A cancel of an order that is not open: filled, cancelled or expired already (409)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id

    def __str__(self) -> str:
        return "The order is not open: it was filled, cancelled or expired already."


class OrderNotFillableError(DomainError, ValueError):
    """A fill or an expiry the matcher asked for that does not apply (the order is not open,
    the price does not cross it, its expiry has not come): nothing is recorded, and the
    matcher drops its index entry."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(order_id, reason)
        self.order_id = order_id
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
