"""What crosses the store boundary: event log entries, snapshots, and the read models.

The read models are plain frozen dataclasses of JSON-friendly fields (decimals, strings, ints);
``actors.store.items`` turns them into DynamoDB items with boto3's serializer, and the cache and
the HTTP layer read the same types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from actors.domain.accounts import Account

JsonDict = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class EventRecord:
    """One entry of a user's event log, the commit point of an operation: what happened (an
    event, or ``Refused`` with the refusal), under which idempotency key, for which request."""

    username: str
    seq: int
    event_type: str
    payload: JsonDict
    idempotency_key: str
    request_hash: str
    at: str


@dataclass(frozen=True)
class Snapshot:
    """The account at ``account.version`` with the receipts still inside their retention."""

    account: Account
    receipts: dict[str, EventRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class HoldingView:
    """One holding as the reads show it."""

    asset_id: str
    quantity: Decimal
    held: Decimal
    cost: Decimal
    created_at: str | None
    updated_at: str | None


@dataclass(frozen=True)
class AccountView:
    """The account read model: cash and holdings. ``version`` is the explicit projection
    watermark: every read model of the events up to ``version`` exists."""

    username: str
    balance: Decimal
    held: Decimal
    version: int
    transaction_count: int
    updated_at: str | None
    holdings: dict[str, HoldingView] = field(default_factory=dict)


@dataclass(frozen=True)
class TransactionView:
    """One cash transaction in the user's history (``order_id`` for an order's payment)."""

    seq: int
    transaction_id: str
    transaction_type: str
    amount: Decimal
    balance_after: Decimal
    status: str
    created_at: str
    order_id: str | None = None


@dataclass(frozen=True)
class OrderView:
    """One order as the user sees it."""

    seq: int
    order_id: str
    client_order_id: str | None
    order_type: str
    asset_id: str
    quantity: Decimal
    price: Decimal
    status: str
    filled_price: Decimal | None
    total_amount: Decimal | None
    created_at: str
    updated_at: str
    expires_at: str | None = None


@dataclass(frozen=True)
class AssetTransactionView:
    """One movement of an asset in the user's holding (a fill)."""

    seq: int
    asset_id: str
    order_id: str
    transaction_type: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    holding_after: Decimal
    created_at: str


ReadModel = TransactionView | OrderView | AssetTransactionView


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a list, newest first."""

    items: list[T]
    has_more: bool


TransactionPage = Page[TransactionView]


@dataclass(frozen=True)
class OrderFilter:
    """The filters of the order list (``None``: any)."""

    asset_id: str | None = None
    order_type: str | None = None
    status: str | None = None

    def matches(self, order: OrderView) -> bool:
        """Whether ``order`` passes every filter."""
        return (
            (self.asset_id is None or order.asset_id == self.asset_id)
            and (self.order_type is None or order.order_type == self.order_type)
            and (self.status is None or order.status == self.status)
        )
