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
