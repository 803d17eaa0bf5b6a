"""``LedgerReader``: cache first, the store on a miss, refilled with the version read, and
transaction pages that agree with the store whether they come from the cache or not."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from actors.cache.read_cache import NullReadCache
from actors.domain.commands import Deposit
from actors.ledger.projection import Projection
from actors.ledger.reads import RECENT_WINDOW, LedgerReader
from actors.ledger.records import BalanceView, TransactionPage, TransactionView
from actors.ledger.service import LedgerService
from actors.ledger.views import balance_view_dict
from actors.store import keys
from actors.store.memory import InMemoryLedgerStore
from tests.unit.doubles import Clock, VersionedCache

T = TypeVar("T")
USER = "alice"
AT = datetime(2024, 3, 1, tzinfo=UTC).isoformat()


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


class CountingStore(InMemoryLedgerStore):
    def __init__(self) -> None:
        super().__init__()
        self.balance_reads = 0
        self.page_reads: list[tuple[int, int | None]] = []

    async def get_balance(self, username: str) -> BalanceView | None:
        self.balance_reads += 1
        return await super().get_balance(username)

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> TransactionPage:
        self.page_reads.append((limit, before_seq))
        return await super().list_transactions(username, limit, before_seq)


def history(store: InMemoryLedgerStore, count: int, username: str = USER) -> None:
    """``count`` deposits of 1.00 projected straight into the store's read models."""

    async def write() -> None:
        for seq in range(1, count + 1):
            amount, after = Decimal("1.00"), Decimal(seq)
            transaction = TransactionView(
                seq, f"tx-{seq}", "DEPOSIT", amount, after, "COMPLETED", AT
            )
            balance = BalanceView(username, after, Decimal(0), seq, seq, AT)
            await store.apply_projection(Projection(username, transaction, balance))

    run(write())


def test_a_balance_miss_reads_the_store_and_fills_the_cache_at_the_version_read() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 3)
    reader = LedgerReader(store, cache)

    view = run(reader.balance(USER))

    assert view is not None and view.balance == Decimal(3)
    assert cache.puts == [(keys.balance_cache_key(USER), 3, balance_view_dict(view))]


def test_a_balance_hit_does_not_touch_the_store() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 2)
    reader = LedgerReader(store, cache)
    run(reader.balance(USER))

    view = run(reader.balance(USER))

    assert store.balance_reads == 1
    assert view == run(store.get_balance(USER))


def test_an_unknown_users_balance_is_none_and_nothing_is_cached() -> None:
    cache = VersionedCache()

    assert run(LedgerReader(InMemoryLedgerStore(), cache).balance("nobody")) is None
    assert cache.puts == []


def test_without_a_cache_every_read_goes_to_the_store() -> None:
    store = CountingStore()
    history(store, 2)
    reader = LedgerReader(store, NullReadCache())

    run(reader.balance(USER))
    run(reader.balance(USER))

    assert store.balance_reads == 2


def test_the_first_page_comes_from_the_recent_window_and_is_cached() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 10)
    reader = LedgerReader(store, cache)

    first = run(reader.transactions(USER, limit=4))
    again = run(reader.transactions(USER, limit=4))

    assert [t.seq for t in first.items] == [10, 9, 8, 7]
    assert first.has_more
    assert again == first
    assert store.page_reads == [(RECENT_WINDOW, None)]
    version, _ = cache.entries[keys.transactions_cache_key(USER)]
    assert version == 10


@pytest.mark.parametrize("cache_type", [VersionedCache, NullReadCache])
@pytest.mark.parametrize("limit", [1, 7, 50, 100])
def test_paging_through_a_long_history_returns_every_transaction_once_newest_first(
    cache_type: type[VersionedCache] | type[NullReadCache], limit: int
) -> None:
    store = InMemoryLedgerStore()
    total = RECENT_WINDOW + 37
    history(store, total)
    reader = LedgerReader(store, cache_type())
    seen: list[int] = []
    before: int | None = None

    while True:
        page = run(reader.transactions(USER, limit, before))
        assert len(page.items) <= limit
        seen.extend(t.seq for t in page.items)
        if not page.has_more:
            break
        before = page.items[-1].seq

    assert seen == list(range(total, 0, -1))


def test_a_page_beyond_the_recent_window_comes_from_the_store() -> None:
    store = CountingStore()
    history(store, RECENT_WINDOW + 5)
    reader = LedgerReader(store, VersionedCache())

    page = run(reader.transactions(USER, limit=10, before_seq=8))

    assert [t.seq for t in page.items] == [7, 6, 5, 4, 3, 2, 1]
    assert not page.has_more
    assert store.page_reads == [(RECENT_WINDOW, None), (10, 8)]


def test_a_short_history_is_served_entirely_from_the_window() -> None:
    store = CountingStore()
    history(store, 5)
    reader = LedgerReader(store, VersionedCache())

    page = run(reader.transactions(USER, limit=2, before_seq=3))

    assert [t.seq for t in page.items] == [2, 1]
    assert not page.has_more
    assert store.page_reads == [(RECENT_WINDOW, None)]


def test_an_empty_history_is_an_empty_page() -> None:
    cache = VersionedCache()

    page = run(LedgerReader(InMemoryLedgerStore(), cache).transactions(USER, limit=10))

    assert page == TransactionPage([], has_more=False)
    assert cache.entries[keys.transactions_cache_key(USER)][0] == 0


def test_a_write_invalidates_the_cached_window_and_the_next_read_sees_it() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    ledger = LedgerService(store, cache, clock=Clock())
    reader = LedgerReader(store, cache)

    async def read_write_read() -> tuple[TransactionPage, TransactionPage, BalanceView | None]:
        await ledger.execute(USER, Deposit(Decimal("1.00")), "k1")
        before = await reader.transactions(USER, limit=10)
        await ledger.execute(USER, Deposit(Decimal("2.00")), "k2")
        return before, await reader.transactions(USER, limit=10), await reader.balance(USER)

    before, after, balance = run(read_write_read())

    assert [t.seq for t in before.items] == [1]
    assert [t.seq for t in after.items] == [2, 1]
    assert balance is not None and balance.balance == Decimal("3.00")


def test_the_null_cache_misses_and_ignores_writes() -> None:
    cache = NullReadCache()

    async def use() -> object:
        await cache.put("k", 1, {"a": 1})
        await cache.publish("c", {"a": 1})
        return await cache.get("k")

    assert run(use()) is None
