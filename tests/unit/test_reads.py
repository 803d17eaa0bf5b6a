"""``LedgerReader``: cache first, the store on a miss (plus the log's tail above the projection
watermark, so a read right after a reply shows it), refilled with the version read, and
transaction pages that agree with the store whether they come from the cache or not."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from actors.cache.read_cache import NullReadCache
from actors.domain.commands import Deposit, Withdraw
from actors.ledger.reads import RECENT_WINDOW, KnownVersions, LedgerReader, empty_account
from actors.ledger.service import LedgerService
from actors.settings import LedgerSettings
from actors.store import keys
from actors.store.memory import InMemoryLedgerStore
from actors.store.records import (
    AccountView,
    OrderView,
    Page,
    ReadModel,
    TransactionPage,
    TransactionView,
)
from actors.store.views import account_view_dict
from tests.unit.doubles import Clock, VersionedCache, synchronously

T = TypeVar("T")
USER = "alice"
AT = datetime(2024, 3, 1, tzinfo=UTC).isoformat()


def run(call: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(call)


class CountingStore(InMemoryLedgerStore):
    def __init__(self) -> None:
        super().__init__()
        self.account_reads = 0
        self.page_reads: list[tuple[int, int | None]] = []

    async def get_account(self, username: str) -> AccountView | None:
        self.account_reads += 1
        return await super().get_account(username)

    async def list_transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> Page[TransactionView]:
        self.page_reads.append((limit, before_seq))
        return await super().list_transactions(username, limit, before_seq)


class HeldReadModels(InMemoryLedgerStore):
    """A store whose read-model writes wait until the test lets them through: the projector
    is behind the replies."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        await self.gate.wait()
        await super().write_rows(rows)


def transaction(seq: int) -> TransactionView:
    return TransactionView(
        seq, f"tx-{seq}", "DEPOSIT", Decimal("1.00"), Decimal(seq), "COMPLETED", AT
    )


def history(store: InMemoryLedgerStore, count: int, username: str = USER) -> None:
    """``count`` deposits of 1.00 written straight into the store's read models, as the
    projector writes them: the rows, then the account view at the last version."""

    async def write() -> None:
        await store.write_rows([(username, transaction(seq)) for seq in range(1, count + 1)])
        balance = Decimal(count)
        await store.put_account(AccountView(username, balance, Decimal(0), count, count, AT))

    run(write())


def ledger(store: InMemoryLedgerStore, cache: VersionedCache | NullReadCache) -> LedgerService:
    return LedgerService(store, cache, LedgerSettings(), clock=Clock())


def test_an_account_miss_reads_the_store_and_fills_the_cache_at_the_version_read() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 3)
    reader = LedgerReader(store, cache)

    view = run(reader.account(USER))

    assert view.balance == Decimal(3)
    assert cache.puts == [(keys.balance_cache_key(USER), 3, account_view_dict(view))]


def test_an_account_hit_does_not_touch_the_store() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 2)
    reader = LedgerReader(store, cache)
    run(reader.account(USER))

    view = run(reader.account(USER))

    assert store.account_reads == 1
    assert view == run(store.get_account(USER))


def test_an_unknown_users_account_is_empty_at_version_0_and_cached_so_it_stays_warm() -> None:
    store, cache = CountingStore(), VersionedCache()
    reader = LedgerReader(store, cache)

    first = run(reader.account("nobody"))
    second = run(reader.account("nobody"))

    assert first == second == empty_account("nobody")
    assert (first.balance, first.version, first.holdings, first.updated_at) == (
        Decimal("0.00"),
        0,
        {},
        None,
    )
    assert cache.puts == [(keys.balance_cache_key("nobody"), 0, account_view_dict(first))]
    assert store.account_reads == 1


@synchronously
async def test_the_first_operation_replaces_the_cached_empty_account() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    service, reader = ledger(store, cache), LedgerReader(store, cache)

    empty = await reader.account(USER)
    await service.execute(USER, Deposit(Decimal("4.00")), "k1")
    after = await reader.account(USER)

    assert empty.version == 0
    assert (after.version, after.balance) == (1, Decimal("4.00"))


def test_without_a_cache_every_read_goes_to_the_store() -> None:
    store = CountingStore()
    history(store, 2)
    reader = LedgerReader(store, NullReadCache())

    run(reader.account(USER))
    run(reader.account(USER))

    assert store.account_reads == 2


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


@synchronously
async def test_a_write_invalidates_the_cached_window_and_the_next_read_sees_it() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    service, reader = ledger(store, cache), LedgerReader(store, cache)

    await service.execute(USER, Deposit(Decimal("1.00")), "k1")
    before = await reader.transactions(USER, limit=10)
    await service.execute(USER, Deposit(Decimal("2.00")), "k2")
    after = await reader.transactions(USER, limit=10)
    account = await reader.account(USER)

    assert [t.seq for t in before.items] == [1]
    assert [t.seq for t in after.items] == [2, 1]
    assert account.balance == Decimal("3.00")


@synchronously
async def test_reads_show_the_operations_answered_before_the_projector_writes_them() -> None:
    store = HeldReadModels()
    service, reader = ledger(store, NullReadCache()), LedgerReader(store, NullReadCache())

    await service.execute(USER, Deposit(Decimal("10.00")), "k1")
    await service.execute(USER, Withdraw(Decimal("20.00")), "k2")  # refused: no row
    await service.execute(USER, Withdraw(Decimal("4.00")), "k3")
    head = await reader.head(USER)
    account = await reader.account(USER)
    page = await reader.transactions(USER, limit=10)
    nothing_written = (await store.get_account(USER), dict(store.transactions))
    store.gate.set()
    await service.flush()

    assert nothing_written == (None, {})
    assert (account.balance, account.version, account.transaction_count) == (
        Decimal("6.00"),
        3,
        2,
    )
    assert [(t.seq, t.transaction_type) for t in page.items] == [(3, "WITHDRAW"), (1, "DEPOSIT")]
    assert [row.seq for row in head.tail] == [1, 3]
    assert await reader.head(USER) == type(head)(account, ())  # the same, now from the store
    assert await reader.transactions(USER, limit=10) == page


@synchronously
async def test_written_and_unwritten_rows_merge_into_one_page_without_duplicates() -> None:
    store = InMemoryLedgerStore()
    service, reader = ledger(store, NullReadCache()), LedgerReader(store, NullReadCache())
    for i in range(1, 4):
        await service.execute(USER, Deposit(Decimal("1.00")), f"k{i}")
    await service.flush()
    store.fail_next_projection = True  # events 4 and 5 stay above the watermark for a while
    for i in range(4, 6):
        await service.execute(USER, Deposit(Decimal("1.00")), f"k{i}")

    first = await reader.transactions(USER, limit=2)
    second = await reader.transactions(USER, limit=2, before_seq=first.items[-1].seq)
    third = await reader.transactions(USER, limit=2, before_seq=second.items[-1].seq)
    await service.flush()

    assert [[t.seq for t in p.items] for p in (first, second, third)] == [[5, 4], [3, 2], [1]]
    assert [p.has_more for p in (first, second, third)] == [True, True, False]
    assert (await store.get_account(USER)).version == 5  # type: ignore[union-attr]


def test_the_null_cache_misses_and_ignores_writes() -> None:
    cache = NullReadCache()

    async def use() -> object:
        await cache.put("k", 1, {"a": 1})
        await cache.publish("c", {"a": 1})
        return await cache.get("k")

    assert run(use()) is None


class ProjectedMeanwhile(InMemoryLedgerStore):
    """The projector writes the order's row (and moves the watermark past it) between the
    reader's first look for the row and its look at the log's tail."""

    def __init__(self, order: OrderView) -> None:
        super().__init__()
        self.order, self.looks = order, 0

    async def get_order(self, username: str, order_id: str) -> OrderView | None:
        self.looks += 1
        if self.looks == 1:
            await self.write_rows([(username, self.order)])  # just after this read
            return None
        return await super().get_order(username, order_id)


def test_an_order_projected_between_the_readers_two_looks_is_still_found() -> None:
    order = OrderView(
        1, "o-1", None, "market_buy", "BTC", Decimal("0.1"), Decimal("100.00"),
        "completed", Decimal("100.00"), Decimal("10.00"), AT, AT,
    )  # fmt: skip
    store = ProjectedMeanwhile(order)
    reader = LedgerReader(store, NullReadCache())

    assert run(reader.order(USER, "o-1")) == order
    assert run(reader.order(USER, "o-2")) is None


def test_a_cached_account_older_than_a_version_this_process_saw_committed_is_a_miss() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 2)
    reader = LedgerReader(store, cache)
    run(reader.account(USER))  # cached at version 2
    history(store, 5)  # three more committed, and the cache missed their writes (Redis stalled)
    reader.known.note(USER, 5)

    view = run(reader.account(USER))

    assert (view.balance, view.version) == (Decimal(5), 5)
    assert store.account_reads == 2  # the stale value was passed over for the store
    assert cache.entries[keys.balance_cache_key(USER)][0] == 5  # and repaired at the newer one
    run(reader.account(USER))
    assert store.account_reads == 2  # a hit again, now that it is fresh enough


def test_a_cached_transactions_window_older_than_a_version_seen_is_a_miss() -> None:
    store, cache = CountingStore(), VersionedCache()
    history(store, 2)
    reader = LedgerReader(store, cache)
    run(reader.transactions(USER, 10))
    history(store, 3)
    reader.known.note(USER, 3)

    page = run(reader.transactions(USER, 10))

    assert [t.seq for t in page.items] == [3, 2, 1]


def test_known_versions_keep_the_newest_of_the_most_recently_noted_users() -> None:
    known = KnownVersions(capacity=2)
    known.note("a", 5)
    known.note("a", 3)  # a replay's older seq
    known.note("b", 1)
    known.note("a", 6)  # a, now the most recent
    known.note("c", 2)  # b, the least recent, makes room

    assert (known.floor("a"), known.floor("b"), known.floor("c")) == (6, 0, 2)
