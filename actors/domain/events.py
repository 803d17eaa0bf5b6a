"""Events: what happened to an account (past tense, frozen, the content of the event log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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


Event = Deposited | Withdrew

EVENT_TYPES: dict[str, type[Deposited] | type[Withdrew]] = {
    "Deposited": Deposited,
    "Withdrew": Withdrew,
}
