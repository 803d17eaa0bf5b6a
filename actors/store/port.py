"""The ledger store's narrow interface (its DynamoDB and in-memory adapters sit beside it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    OrderFilter,
    OrderView,
    Page,
    ReadModel,
    Snapshot,
    TransactionView,
)


class LedgerStore(Protocol):
    """Where the truth lives: the per-user event log, snapshots and read models."""

    async def append(self, record: EventRecord) -> None:
        """Append ``record`` at its sequence number (the one write before an operation's
        reply); raise ``SequenceTakenError`` if the number is taken."""

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        """The user's events with a sequence number above ``seq``, oldest first."""

    async def load_snapshot(self, username: str) -> Snapshot | None:
        """The newest snapshot of the user's account, if any."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot unless a newer one exists, as it is now (the caller keeps adding
        receipts to its own dict afterwards)."""

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        """Write history rows of any users, ``(username, row)``, in as few requests as it can
        (idempotent: a row is fully determined by its event)."""

    async def put_account(self, view: AccountView) -> None:
        """Write the account view unless a newer version is there (the watermark never moves
        backwards)."""

    async def put_accounts(self, views: Sequence[AccountView]) -> None:
        """Write the account views of many users in as few requests as it can (the
        projector's, once per round after the rows). Unconditional where the store cannot
        batch conditions: a watermark may then move backwards when two writers race for one
        user (a shard and its restarted self), which only makes readers and activation
        project a longer tail of the log."""

    async def get_account(self, username: str) -> AccountView | None:
        """The account view (strongly consistent), None before the first operation."""

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> Page[TransactionView]:
        """The user's cash transactions newest first, those below ``before_seq`` when given."""

    async def list_orders(
        self, username: str, limit: int, after_id: str | None, where: OrderFilter
    ) -> Page[OrderView]:
        """The user's orders newest first, those older than ``after_id`` when given."""

    async def get_order(self, username: str, order_id: str) -> OrderView | None:
        """One of the user's orders (None when it is not theirs or does not exist)."""

    async def list_asset_transactions(
        self, username: str, asset_id: str, limit: int, before_seq: int | None = None
    ) -> Page[AssetTransactionView]:
        """The user's movements of one asset newest first."""

    async def open_orders(self) -> list[tuple[str, OrderView]]:
        """Every queued limit order of every user, ``(username, order)``: the matcher's
        rebuild (read from the sparse index, so it costs what is open, not what was ever
        placed; eventually consistent: an order just placed may be missing)."""
