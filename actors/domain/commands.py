"""Commands: what a user asks of an account (imperative, frozen, serializable)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Deposit:
    """Add cash to the account."""

    amount: Decimal

    kind = "deposit"


@dataclass(frozen=True)
class Withdraw:
    """Take cash out of the account, never below zero."""

    amount: Decimal

    kind = "withdraw"


Command = Deposit | Withdraw


def request_fingerprint(command: Command) -> str:
    """A stable hash of a command, stored with its idempotency key to detect a reused key."""
    canonical = f"{command.kind}|{command.amount.normalize()}"
    return hashlib.sha256(canonical.encode()).hexdigest()
