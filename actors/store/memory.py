"""``InMemoryLedgerStore``: the store in dicts, for fast service tests and the in-memory bench."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from actors.store.errors import SequenceTakenError
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


class InMemoryLedgerStore:
    """A ``LedgerStore`` in dicts: the double for service tests and the contract's reference."""

    def __init__(self) -> None:
        self.events: dict[str, dict[int, EventRecord]] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.accounts: dict[str, AccountView] = {}
        self.transactions: dict[str, dict[int, TransactionView]] = {}
        self.orders: dict[str, dict[str, OrderView]] = {}
        self.asset_transactions: dict[str, dict[tuple[str, int], AssetTransactionView]] = {}
        self.fail_next_projection = False
        self.requests = 0

    async def append(self, record: EventRecord) -> None:
        await asyncio.sleep(0)
        self.requests += 1
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

    def _fail_if_asked(self) -> None:
        if self.fail_next_projection:
            self.fail_next_projection = False
            raise ConnectionError("injected projection failure")

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        await asyncio.sleep(0)
        self._fail_if_asked()
        self.requests += (len(rows) + 24) // 25
        for username, row in rows:
            if isinstance(row, TransactionView):
                self.transactions.setdefault(username, {})[row.seq] = row
            elif isinstance(row, OrderView):
                self.orders.setdefault(username, {})[row.order_id] = row
            else:
                self.asset_transactions.setdefault(username, {})[(row.asset_id, row.seq)] = row

    async def put_account(self, view: AccountView) -> None:
        await asyncio.sleep(0)
        self._fail_if_asked()
        self.requests += 1
        current = self.accounts.get(view.username)
        if current is None or current.version < view.version:
            self.accounts[view.username] = view

    async def put_accounts(self, views: Sequence[AccountView]) -> None:
        await asyncio.sleep(0)
        self._fail_if_asked()
        self.requests += (len(views) + 24) // 25
        for view in views:
            current = self.accounts.get(view.username)
            if current is None or current.version < view.version:
                self.accounts[view.username] = view

    async def get_account(self, username: str) -> AccountView | None:
        return self.accounts.get(username)

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> Page[TransactionView]:
        history = self.transactions.get(username, {})
        seqs = sorted((s for s in history if before_seq is None or s < before_seq), reverse=True)
        return Page([history[s] for s in seqs[:limit]], has_more=len(seqs) > limit)

    async def list_orders(
        self, username: str, limit: int, after_id: str | None, where: OrderFilter
    ) -> Page[OrderView]:
        orders = self.orders.get(username, {})
        ids = sorted((i for i in orders if after_id is None or i < after_id), reverse=True)
        matching = [orders[i] for i in ids if where.matches(orders[i])]
        return Page(matching[:limit], has_more=len(matching) > limit)

    async def get_order(self, username: str, order_id: str) -> OrderView | None:
        return self.orders.get(username, {}).get(order_id)

    async def open_orders(self) -> list[tuple[str, OrderView]]:
        return [
            (username, order)
            for username, orders in sorted(self.orders.items())
            for order in orders.values()
            if order.status == "queued"
        ]

    async def list_asset_transactions(
        self, username: str, asset_id: str, limit: int, before_seq: int | None = None
    ) -> Page[AssetTransactionView]:
        moves = self.asset_transactions.get(username, {})
        seqs = sorted(
            (s for a, s in moves if a == asset_id and (before_seq is None or s < before_seq)),
            reverse=True,
        )
        return Page([moves[(asset_id, s)] for s in seqs[:limit]], has_more=len(seqs) > limit)
