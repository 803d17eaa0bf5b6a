"""The open-order book and the matcher, against real ``LedgerService``s on the in-memory store:
crossing ticks fill exactly once, expiries close, a shard that fails is retried, a closed
entry is dropped, and the book is rebuilt from the store's open-orders index."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from actors.domain.commands import Deposit, PlaceLimitOrder, Side
from actors.domain.quotes import Quote
from actors.domain.reservations import OpenOrder
from actors.ledger.results import Committed, Outcome
from actors.ledger.service import LedgerService
from actors.matching.book import IndexedOrder, OpenOrderBook
from actors.matching.matcher import Matcher, Request, from_view
from actors.operations.limit_orders import limit_order_view
from actors.routing import shard_index
from actors.settings import LedgerSettings
from actors.store.memory import InMemoryLedgerStore
from tests.unit.doubles import FixedPrices, RecordingOrderIndex

D = Decimal
NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
ROUTE = functools.partial(shard_index, shard_count=2)  # the pool of two shards


def entry(order_id: str, side: Side, price: str, expires_in_s: float | None = None) -> IndexedOrder:
    expiry = NOW + timedelta(seconds=expires_in_s) if expires_in_s is not None else None
    return IndexedOrder("alice", order_id, side, "BTC", D(price), expiry)


def test_the_book_finds_the_orders_a_price_crosses_best_first() -> None:
    book = OpenOrderBook()
    for order in [
        entry("b1", "buy", "100"),
        entry("b2", "buy", "105"),
        entry("b3", "buy", "95"),
        entry("s1", "sell", "110"),
        entry("s2", "sell", "101"),
    ]:
        assert book.add(order)
    assert not book.add(entry("b1", "buy", "100")) and len(book) == 5
    assert [o.order_id for o in book.crossed("BTC", D("100"))] == ["b2", "b1"]
    assert [o.order_id for o in book.crossed("BTC", D("101"))] == ["b2", "s2"]
    assert [o.order_id for o in book.crossed("BTC", D("120"))] == ["s2", "s1"]
    assert book.crossed("ETH", D("1")) == []
    assert book.remove("b2") and not book.remove("b2") and "b2" not in book
    assert [o.order_id for o in book.crossed("BTC", D("100"))] == ["b1"]
    assert book.get("b1") == entry("b1", "buy", "100") and book.get("b2") is None


def test_the_book_pops_due_expiries_once_and_can_put_one_back() -> None:
    book = OpenOrderBook()
    book.add(entry("late", "buy", "1", 60))
    book.add(entry("soon", "buy", "1", 10))
    book.add(entry("gone", "buy", "1", 5))
    book.add(entry("never", "buy", "1"))
    book.remove("gone")
    assert [o.order_id for o in book.pop_due(NOW + timedelta(seconds=30))] == ["soon"]
    assert book.pop_due(NOW + timedelta(seconds=30)) == []
    book.expire_later(book.get("soon") or entry("x", "buy", "1"))
    assert [o.order_id for o in book.pop_due(NOW + timedelta(seconds=90))] == ["soon", "late"]
    book.expire_later(entry("never", "buy", "1"))  # no expiry: nothing to put back
    assert book.pop_due(NOW + timedelta(days=1)) == []


class Shards:
    """Two shards, each a ``LedgerService`` over one in-memory store; ``down`` fails a shard."""

    def __init__(
        self, store: InMemoryLedgerStore, index: RecordingOrderIndex, clock: Callable[[], datetime]
    ) -> None:
        settings = LedgerSettings(shard_count=2)
        self.services = [
            LedgerService(
                store, settings=settings, clock=clock, prices=FixedPrices(), order_index=index
            )
            for _ in range(2)
        ]
        self.down: set[int] = set()
        self.calls = 0

    def of(self, username: str) -> LedgerService:
        return self.services[shard_index(username, 2)]

    async def run(self, shard: Hashable, requests: Sequence[Request]) -> Sequence[Outcome]:
        self.calls += 1
        if shard in self.down:
            raise ConnectionError("shard restarting")
        service = self.services[int(str(shard))]
        return await asyncio.gather(*(service.execute(u, c, k) for u, c, k in requests))


class World:
    def __init__(self) -> None:
        self.store = InMemoryLedgerStore()
        self.index = RecordingOrderIndex()
        self.now = NOW
        self.shards = Shards(self.store, self.index, lambda: self.now)
        self.matcher = Matcher(self.shards, ROUTE, self.store.open_orders, clock=lambda: self.now)

    async def place(
        self, username: str, side: Side, price: str, expires_at: datetime | None = None
    ) -> str:
        service = self.shards.of(username)
        await service.execute(username, Deposit(D("10000")), f"d-{username}-{price}-{side}")
        command = PlaceLimitOrder(side, "BTC", D("1"), D(price), None, expires_at)
        outcome = await service.execute(username, command, f"p-{username}-{price}-{side}")
        assert isinstance(outcome, Committed), outcome
        self.matcher.changed(list(self.index.open.values()), [])
        order_id: str = outcome.event.order.order_id
        return order_id

    async def tick(self, price: str) -> list[str]:
        report = await self.matcher.match({"BTC": Quote("BTC", D(price), self.now)})
        return report.filled

    async def held(self, username: str) -> Decimal:
        account = self.shards.of(username).users[username].account
        assert account is not None
        return account.held


def test_a_crossing_tick_fills_once_even_when_it_comes_twice() -> None:
    async def go() -> None:
        world = World()
        buy = await world.place("alice", "buy", "100")
        other = await world.place("bob", "buy", "90")
        assert await world.tick("100.01") == []
        assert await world.tick("99.5") == [buy]
        assert await world.held("alice") == 0
        assert await world.tick("99") == [] and buy not in world.matcher.book
        # a second matcher with a stale book (a restart before the index caught up)
        stale = Matcher(world.shards, ROUTE, world.store.open_orders)
        stale.changed([world.matcher.book.get(other) or entry("x", "buy", "1")], [])
        stale.book.add(IndexedOrder("alice", buy, "buy", "BTC", D("100")))
        report = await stale.match({"BTC": Quote("BTC", D("89"), NOW)})
        assert report.filled == [other] and report.dropped == [buy]
        account = world.shards.of("alice").users["alice"].account
        assert account is not None and account.holding("BTC").quantity == 1

    asyncio.run(go())


def test_two_ticks_at_once_fill_an_order_once() -> None:
    async def go() -> None:
        world = World()
        buy = await world.place("alice", "buy", "100")
        first, second = await asyncio.gather(world.tick("99"), world.tick("98"))
        assert sorted(first + second) == [buy]  # one fill; the other saw it replayed or gone
        events = [r.event_type for r in world.store.events["alice"].values()]
        assert events.count("LimitOrderFilled") == 1

    asyncio.run(go())


def test_a_shard_that_fails_is_retried_on_the_next_tick() -> None:
    async def go() -> None:
        world = World()
        sell_side = await world.place("alice", "buy", "100")
        world.shards.down.add(shard_index("alice", 2))
        report = await world.matcher.match({"BTC": Quote("BTC", D("99"), NOW)})
        assert report.retried == [sell_side] and sell_side in world.matcher.book
        world.shards.down.clear()
        assert await world.tick("99") == [sell_side]

    asyncio.run(go())


def test_a_cancelled_order_reported_closed_is_not_filled() -> None:
    async def go() -> None:
        world = World()
        buy = await world.place("alice", "buy", "100")
        world.matcher.changed([], [buy])
        assert buy not in world.matcher.book
        world.matcher.changed([IndexedOrder("alice", buy, "buy", "BTC", D("100"))], [])
        assert buy not in world.matcher.book  # a late report of its opening is ignored
        assert await world.tick("50") == [] and world.shards.calls == 0

    asyncio.run(go())


def test_due_orders_expire_and_not_yet_due_ones_wait() -> None:
    async def go() -> None:
        world = World()
        soon = await world.place("alice", "buy", "100", NOW + timedelta(seconds=10))
        report = await world.matcher.match({})
        assert report.expired == []
        world.now = NOW + timedelta(seconds=11)
        # the owner's clock has not reached the expiry yet: tried again later
        world.shards.services[shard_index("alice", 2)]._clock = lambda: NOW
        report = await world.matcher.match({})
        assert report.retried == [soon] and soon in world.matcher.book
        world.shards.services[shard_index("alice", 2)]._clock = lambda: world.now
        report = await world.matcher.match({})
        assert report.expired == [soon] and soon not in world.matcher.book
        assert await world.held("alice") == 0

    asyncio.run(go())


def test_an_expiry_whose_shard_fails_is_tried_again() -> None:
    async def go() -> None:
        world = World()
        soon = await world.place("alice", "buy", "100", NOW + timedelta(seconds=1))
        world.now = NOW + timedelta(seconds=5)
        world.shards.down.add(shard_index("alice", 2))
        assert (await world.matcher.match({})).retried == [soon]
        world.shards.down.clear()
        world.shards.services[shard_index("alice", 2)]._clock = lambda: world.now
        assert (await world.matcher.match({})).expired == [soon]

    asyncio.run(go())


def test_the_book_is_rebuilt_from_the_stores_open_orders_index() -> None:
    async def go() -> None:
        world = World()
        buy = await world.place("alice", "buy", "100")
        for service in world.shards.services:
            await service.flush()
        fresh = Matcher(world.shards, ROUTE, world.store.open_orders)
        assert await fresh.rebuild() == 1
        indexed = fresh.book.get(buy)
        assert indexed == IndexedOrder("alice", buy, "buy", "BTC", D("100"))
        assert (await fresh.match({"BTC": Quote("BTC", D("0"), NOW)})).filled == []
        assert (await fresh.match({"BTC": Quote("BTC", D("100"), NOW)})).filled == [buy]

    asyncio.run(go())


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_an_index_entry_reads_its_side_and_expiry(side: Side) -> None:
    order = OpenOrder("o", None, side, "BTC", D("1"), D("7"), D("7"), NOW, NOW)
    view = limit_order_view(order, 1, "queued", NOW.isoformat())
    assert from_view("alice", view) == IndexedOrder("alice", "o", side, "BTC", D("7"), NOW)


def test_an_order_of_a_passivated_owner_fills_from_the_store() -> None:
    async def go() -> None:
        world = World()
        buy = await world.place("alice", "buy", "100")
        service = world.shards.of("alice")
        await service.flush()
        service.users.clear()  # passivated: nothing of alice is in memory
        assert await world.tick("99") == [buy]
        account = service.users["alice"].account
        assert account is not None and account.held == 0 and account.open_orders == {}
        assert account.holding("BTC").quantity == 1

    asyncio.run(go())
