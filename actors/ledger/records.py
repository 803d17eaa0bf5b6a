"""Records that cross the store boundary: event log entries, snapshots, receipts and read models."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from actors.domain.accounts import Account
from actors.domain.errors import DomainError

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Receipt:
    """The stored answer to one idempotent request: replayed for every repeat of its key."""

    idempotency_key: str
    request_hash: str
    status_code: int
    body: JsonDict
    at: str
    replayed: bool = False


@dataclass(frozen=True)
class EventRecord:
    """One entry of a user's event log: the commit point of an operation."""

    username: str
    seq: int
    event_type: str
    payload: JsonDict
    receipt: Receipt


@dataclass(frozen=True)
class Snapshot:
    """The account at ``account.version`` with the receipts still inside their retention."""

    account: Account
    receipts: dict[str, Receipt] = field(default_factory=dict)


@dataclass(frozen=True)
class BalanceView:
    """The balance read model (``version`` is the last event projected into it)."""

    username: str
    balance: Decimal
    held: Decimal
    version: int
    transaction_count: int
    updated_at: str


@dataclass(frozen=True)
class TransactionView:
    """One cash transaction in the user's history."""

    seq: int
    transaction_id: str
    transaction_type: str
    amount: Decimal
    balance_after: Decimal
    status: str
    created_at: str


@dataclass(frozen=True)
class TransactionPage:
    """A page of transactions, newest first."""

    items: list[TransactionView]
    has_more: bool


@dataclass(frozen=True)
class Rejection:
    """A refused operation: nothing was recorded."""

    error: DomainError


Outcome = Receipt | Rejection
