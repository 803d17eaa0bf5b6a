"""``InMemoryLedgerStore``: the store in a dict, for fast service tests and the in-memory bench."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from actors.ledger.projection import Projection
from actors.ledger.records import (
    BalanceView,
    EventRecord,
    Snapshot,
    TransactionPage,
    TransactionView,
)
from actors.store.errors import SequenceTakenError


class InMemoryLedgerStore:
    """A ``LedgerStore`` in a dict: the double for service tests and the contract's reference."""

    def __init__(self) -> None:
        self.events: dict[str, dict[int, EventRecord]] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.balances: dict[str, BalanceView] = {}
        self.transactions: dict[str, dict[int, TransactionView]] = {}
        self.fail_next_projection = False

    async def append(self, record: EventRecord) -> None:
        await asyncio.sleep(0)
        log = self.events.setdefault(record.username, {})
        if record.seq in log:
            raise SequenceTakenError(record.username, record.seq)
        log[record.seq] = record

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        log = self.events.get(username, {})
        return [log[s] for s in sorted(log) if s > seq]

    async def load_snapshot(self, username: str) -> Snapshot | None:
        return self.snapshots.get(username)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        current = self.snapshots.get(snapshot.account.username)
        if current is None or current.account.version < snapshot.account.version:
            # Copy: the caller keeps adding receipts to its dict; a stored snapshot must not change.
            self.snapshots[snapshot.account.username] = replace(
                snapshot, receipts=dict(snapshot.receipts)
            )

    async def apply_projection(self, projection: Projection) -> None:
        if self.fail_next_projection:
            self.fail_next_projection = False
            raise ConnectionError("injected projection failure")
        history = self.transactions.setdefault(projection.username, {})
        history[projection.transaction.seq] = projection.transaction
        current = self.balances.get(projection.username)
        if current is None or current.version < projection.balance.version:
            self.balances[projection.username] = projection.balance

    async def get_balance(self, username: str) -> BalanceView | None:
        view = self.balances.get(username)
        return replace(view) if view else None

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> TransactionPage:
        history = self.transactions.get(username, {})
        seqs = sorted((s for s in history if before_seq is None or s < before_seq), reverse=True)
        return TransactionPage([history[s] for s in seqs[:limit]], has_more=len(seqs) > limit)
