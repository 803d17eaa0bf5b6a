"""The ledger store's narrow interface (its DynamoDB and in-memory adapters sit beside it)."""

from __future__ import annotations

from typing import Protocol

from actors.ledger.projection import Projection
from actors.ledger.records import (
    BalanceView,
    EventRecord,
    Snapshot,
    TransactionPage,
)


class LedgerStore(Protocol):
    """Where the truth lives: the per-user event log, snapshots and read models."""

    async def append(self, record: EventRecord) -> None:
        """Append ``record`` at its sequence number; raise ``SequenceTakenError`` if taken."""

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        """The user's events with a sequence number above ``seq``, oldest first."""

    async def load_snapshot(self, username: str) -> Snapshot | None:
        """The newest snapshot of the user's account, if any."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot unless a newer one exists, as it is now (the caller keeps adding
        receipts to its own dict afterwards)."""

    async def apply_projection(self, projection: Projection) -> None:
        """Write the read models of one event (idempotent, never moving a version backwards).

        The transaction and balance items may be written concurrently: after a failure either
        may exist without the other.
        """

    async def get_balance(self, username: str) -> BalanceView | None:
        """The balance read model (strongly consistent)."""

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> TransactionPage:
        """The user's transactions newest first, those below ``before_seq`` when given."""
