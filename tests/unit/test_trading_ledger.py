"""Market orders through the ledger: one write before the reply, refusals kept against their
key, read models behind the reply (and read-your-writes before they land), crash repair."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from decimal import Decimal

import pytest

from actors.cache.read_cache import NullReadCache
from actors.domain.commands import Deposit, PlaceMarketOrder
from actors.domain.errors import InsufficientHoldingsError, InvalidOrderError
from actors.domain.events import OrderFilled
from actors.ledger.reads import LedgerReader
from actors.ledger.results import Committed, Failed, Refused
from actors.ledger.service import LedgerService, _TimeOrderedIds, time_ordered_id
from actors.market.errors import PriceUnavailableError
from actors.operations.registry import UnknownOperationError
from actors.settings import LedgerSettings
from actors.store.memory import InMemoryLedgerStore
from actors.store.records import AccountView, OrderFilter, ReadModel
from tests.unit.doubles import Clock, FixedPrices, VersionedCache, synchronously

D = Decimal
SETTINGS = LedgerSettings(daily_deposit_limit=D("1000000"), daily_withdrawal_limit=D("1000000"))


def ledger(
    store: InMemoryLedgerStore | None = None, cache: VersionedCache | None = None
) -> tuple[LedgerService, InMemoryLedgerStore, FixedPrices]:
    store = store or InMemoryLedgerStore()
    prices = FixedPrices({"BTC": D("40000.00"), "ETH": D("2000.00")})
    service = LedgerService(store, cache or VersionedCache(), SETTINGS, Clock(), prices=prices)
    return service, store, prices


class SlowReadModels(InMemoryLedgerStore):
    """Read-model writes that take a while, as a real store's do: events pile up meanwhile."""

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        await asyncio.sleep(0.01)
        await super().write_rows(rows)

    async def put_accounts(self, views: Sequence[AccountView]) -> None:
        await asyncio.sleep(0.01)
        await super().put_accounts(views)


def buy(quantity: str, asset: str = "BTC", client: str | None = None) -> PlaceMarketOrder:
    return PlaceMarketOrder("buy", asset, D(quantity), client)


def sell(quantity: str, asset: str = "BTC") -> PlaceMarketOrder:
    return PlaceMarketOrder("sell", asset, D(quantity))


@synchronously
async def test_an_order_answers_after_exactly_one_store_write() -> None:
    service, store, _ = ledger()
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    await service.flush()
    before = store.requests
    outcome = await service.execute("alice", buy("0.01"), "k2")
    assert isinstance(outcome, Committed)
    assert store.requests - before == 1  # the event; the read models come behind the reply
    await service.flush()
    assert store.requests - before == 3  # then one batch of rows and one of account views
    order = await store.get_order("alice", outcome.event.order_id)
    assert order is not None and order.status == "completed"


@synchronously
async def test_a_burst_writes_each_account_view_once() -> None:
    store = SlowReadModels()
    service, _, _ = ledger(store)
    deposits = [service.execute(f"u{i % 2}", Deposit(D("10.00")), f"k{i}") for i in range(20)]
    await asyncio.gather(*deposits)
    await service.flush()
    # 20 events, then far fewer read-model writes than the 40 a write per row would take.
    assert store.requests < 20 + 10
    account = await store.get_account("u0")
    assert account is not None and (account.balance, account.version) == (D("100.00"), 10)
    page = await store.list_transactions("u1", 100)
    assert len(page.items) == 10


@synchronously
async def test_a_buy_and_a_sell_move_cash_and_holdings_at_the_price() -> None:
    service, store, prices = ledger()
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    bought = await service.execute("alice", buy("0.01", client="c-1"), "k2")
    assert isinstance(bought, Committed)
    event: OrderFilled = bought.event
    assert (event.price, event.amount, event.client_order_id) == (D("40000.00"), D("400.00"), "c-1")
    prices.prices["BTC"] = D("50000.00")
    sold = await service.execute("alice", sell("0.004"), "k3")
    assert isinstance(sold, Committed) and sold.event.amount == D("200.00")
    await service.flush()
    account = await store.get_account("alice")
    assert account is not None
    assert account.balance == D("800.00")
    assert account.holdings["BTC"].quantity == D("0.006")
    assert account.holdings["BTC"].cost == D("240.00")
    history = await store.list_transactions("alice", 10)
    assert [t.transaction_type for t in history.items] == ["ORDER_SALE", "ORDER_PAYMENT", "DEPOSIT"]
    assert history.items[0].order_id == sold.event.order_id
    moves = await store.list_asset_transactions("alice", "BTC", 10)
    assert [(m.transaction_type, m.holding_after) for m in moves.items] == [
        ("SELL", D("0.006")),
        ("BUY", D("0.01")),
    ]


@synchronously
async def test_a_refusal_is_recorded_against_its_key_and_replayed() -> None:
    service, store, _ = ledger()
    await service.execute("alice", Deposit(D("100.00")), "k1")
    first = await service.execute("alice", sell("1", "ETH"), "k2")
    assert isinstance(first, Refused) and isinstance(first.error, InsufficientHoldingsError)
    assert len(store.events["alice"]) == 2  # the refusal is in the log
    await service.execute("alice", Deposit(D("5000.00")), "k3")
    await service.execute("alice", buy("1", "ETH"), "k4")  # now it would succeed...
    again = await service.execute("alice", sell("1", "ETH"), "k2")  # ...but the key answered
    assert isinstance(again, Refused) and again.replayed and again.seq == first.seq
    restarted, _, _ = ledger(store)
    replayed = await restarted.execute("alice", sell("1", "ETH"), "k2")
    assert isinstance(replayed, Refused) and replayed.replayed
    account = await LedgerReader(store, NullReadCache()).account("alice")
    assert account.balance == D("3100.00")  # the refusal moved nothing


@synchronously
async def test_a_replayed_order_returns_the_original_fill() -> None:
    service, store, prices = ledger()
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    first = await service.execute("alice", buy("0.01"), "k2")
    prices.prices["BTC"] = D("1.00")
    restarted, _, _ = ledger(store)
    again = await restarted.execute("alice", buy("0.01"), "k2")
    assert isinstance(first, Committed) and isinstance(again, Committed)
    assert again.replayed and again.event == first.event and again.seq == first.seq


@synchronously
async def test_without_a_fresh_price_nothing_is_recorded() -> None:
    service, store, prices = ledger()
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    prices.stale.add("BTC")
    outcome = await service.execute("alice", buy("0.01"), "k2")
    assert isinstance(outcome, Failed) and isinstance(outcome.error, PriceUnavailableError)
    assert len(store.events["alice"]) == 1


@synchronously
async def test_bad_order_input_is_not_recorded() -> None:
    service, store, _ = ledger()
    outcome = await service.execute("alice", buy("0.0001"), "k1")
    assert isinstance(outcome, Failed) and isinstance(outcome.error, InvalidOrderError)
    assert "alice" not in store.events


@synchronously
async def test_an_unknown_command_is_an_error_not_a_default() -> None:
    service, _, _ = ledger()
    with pytest.raises(UnknownOperationError):
        await service.execute("alice", object(), "k1")  # type: ignore[arg-type]


@synchronously
async def test_reads_show_an_order_before_its_read_models_are_written() -> None:
    service, store, _ = ledger()
    reader = LedgerReader(store, NullReadCache())  # Redis down: the store and the log's tail
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    outcome = await service.execute("alice", buy("0.01"), "k2")
    assert isinstance(outcome, Committed)
    assert store.orders == {}  # not written yet
    account = await reader.account("alice")
    assert account.balance == D("600.00") and account.holdings["BTC"].quantity == D("0.01")
    order = await reader.order("alice", outcome.event.order_id)
    assert order is not None and order.total_amount == D("400.00")
    orders = await reader.orders("alice", 10, None, OrderFilter())
    assert [o.order_id for o in orders.items] == [outcome.event.order_id]
    history = await reader.transactions("alice", 10)
    assert [t.transaction_type for t in history.items] == ["ORDER_PAYMENT", "DEPOSIT"]
    moves = await reader.asset_transactions("alice", "BTC", 10)
    assert len(moves.items) == 1
    await service.flush()
    assert await reader.orders("alice", 10, None, OrderFilter()) == orders  # no duplicates


@synchronously
async def test_a_crash_after_the_commit_is_repaired_on_the_next_activation() -> None:
    service, store, _ = ledger()
    await service.execute("alice", Deposit(D("1000.00")), "k1")
    await service.flush()

    def crash(_: object) -> None:
        raise SystemExit("crashed after the commit")

    service.after_commit_hook = crash
    with pytest.raises(SystemExit):
        await service.execute("alice", buy("0.01"), "k2")
    assert store.orders == {} and len(store.events["alice"]) == 2
    restarted, _, _ = ledger(store)
    again = await restarted.execute("alice", buy("0.01"), "k2")  # the retry: the first answer
    assert isinstance(again, Committed) and again.replayed
    await restarted.flush()
    account = await store.get_account("alice")
    assert account is not None and account.version == 2
    assert account.holdings["BTC"].quantity == D("0.01")
    assert (await store.get_order("alice", again.event.order_id)) is not None
    assert len((await store.list_asset_transactions("alice", "BTC", 10)).items) == 1


@synchronously
async def test_the_projector_retries_a_failed_write() -> None:
    service, store, _ = ledger()
    store.fail_next_projection = True
    await service.execute("alice", Deposit(D("5.00")), "k1")
    await asyncio.wait_for(service.flush(), 5)
    assert service.projector.failures == 1
    account = await store.get_account("alice")
    assert account is not None and account.balance == D("5.00")


def test_time_ordered_ids_sort_by_creation_even_within_a_millisecond() -> None:
    ids = [time_ordered_id() for _ in range(5000)]  # thousands per millisecond
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    assert all(i[14] == "7" and i[19] in "89ab" for i in ids)  # version 7, RFC 4122 variant


def test_time_ordered_ids_keep_their_order_when_the_clock_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = _TimeOrderedIds()
    first = ids()
    monkeypatch.setattr(time, "time_ns", lambda: 0)
    assert ids() > first
