"""One contract for every ``LedgerStore``: the in-memory double and DynamoDB (moto over HTTP)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.accounts import Account, DailyTotals
from actors.domain.commands import Command, Deposit, Withdraw
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError
from actors.domain.events import Deposited, OrderFilled
from actors.domain.holdings import Holding
from actors.domain.reservations import OpenOrder
from actors.ledger.projection import account_view, apply_record
from actors.ledger.service import LedgerService
from actors.operations.codec import REFUSED, event_to_payload, refusal_to_payload
from actors.operations.limit_orders import limit_order_view
from actors.operations.orders import MARKET_ORDER
from actors.settings import LedgerSettings
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.errors import SequenceTakenError
from actors.store.port import LedgerStore
from actors.store.records import (
    AccountView,
    EventRecord,
    HoldingView,
    OrderFilter,
    ReadModel,
    Snapshot,
    TransactionView,
)
from tests.contract.conftest import run

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
D = Decimal


def deposit_record(username: str, seq: int, amount: str = "1.00") -> EventRecord:
    at = AT + timedelta(minutes=seq)
    event = Deposited(f"tx-{seq}", Decimal(amount), Decimal(seq) * Decimal(amount), at)
    payload = event_to_payload(event)
    return EventRecord(
        username, seq, "Deposited", payload, f"k{seq}", f"hash-{seq}", at.isoformat()
    )


def refusal_record(username: str, seq: int) -> EventRecord:
    refusal = DailyLimitExceededError("withdrawal", Decimal("5000.00"), Decimal("4999.99"))
    payload = refusal_to_payload(refusal)
    return EventRecord(username, seq, REFUSED, payload, f"k{seq}", "h", AT.isoformat())


def fill(order_id: str, seq: int, asset_id: str = "BTC", side: str = "buy") -> OrderFilled:
    return OrderFilled(
        order_id,
        f"client-{order_id}",
        side,  # type: ignore[arg-type]
        asset_id,
        Decimal("0.12345678"),
        Decimal("40000.12345678"),
        Decimal("4938.29"),
        Decimal(seq),
        Decimal("0.12345678"),
        AT + timedelta(minutes=seq),
    )


def transaction(seq: int, amount: str = "1.00") -> TransactionView:
    return TransactionView(
        seq, f"tx-{seq}", "DEPOSIT", Decimal(amount), Decimal(seq), "COMPLETED", AT.isoformat()
    )


def account_at(username: str, version: int, balance: str | None = None) -> AccountView:
    after = Account(
        username, Decimal(balance or version), version=version, transaction_count=version
    )
    return account_view(after, AT.isoformat())


def test_appended_events_come_back_in_order_after_a_sequence_number(
    ledger_store: LedgerStore, username: str
) -> None:
    records = [deposit_record(username, seq) for seq in (1, 2, 3)]

    async def append_all() -> tuple[list[EventRecord], list[EventRecord], list[EventRecord]]:
        for record in records:
            await ledger_store.append(record)
        return (
            await ledger_store.events_after(username, 0),
            await ledger_store.events_after(username, 2),
            await ledger_store.events_after(username, 3),
        )

    everything, after_two, after_three = run(append_all())

    assert everything == records
    assert after_two == records[2:]
    assert after_three == []


def test_refusals_and_fills_come_back_with_their_nested_payloads_exactly(
    ledger_store: LedgerStore, username: str
) -> None:
    order = fill("0190-order", 2)
    records = [
        refusal_record(username, 1),
        EventRecord(username, 2, "OrderFilled", event_to_payload(order), "k2", "h", AT.isoformat()),
    ]

    async def append_all() -> list[EventRecord]:
        for record in records:
            await ledger_store.append(record)
        return await ledger_store.events_after(username, 0)

    assert run(append_all()) == records


def test_an_unknown_user_has_no_events_no_snapshot_no_account_and_no_rows(
    ledger_store: LedgerStore, username: str
) -> None:
    async def read() -> tuple[object, ...]:
        return (
            await ledger_store.events_after(username, 0),
            await ledger_store.load_snapshot(username),
            await ledger_store.get_account(username),
            (await ledger_store.list_orders(username, 10, None, OrderFilter())).items,
            await ledger_store.get_order(username, "0190-none"),
            (await ledger_store.list_asset_transactions(username, "BTC", 10)).items,
        )

    assert run(read()) == ([], None, None, [], None, [])


def test_appending_a_taken_sequence_number_raises_and_keeps_the_first(
    ledger_store: LedgerStore, username: str
) -> None:
    first = deposit_record(username, 1, "5.00")
    second = deposit_record(username, 1, "7.00")
    run(ledger_store.append(first))

    with pytest.raises(SequenceTakenError) as taken:
        run(ledger_store.append(second))

    assert (taken.value.username, taken.value.seq) == (username, 1)
    assert run(ledger_store.events_after(username, 0)) == [first]


def test_event_logs_of_different_users_are_separate(
    ledger_store: LedgerStore, username: str
) -> None:
    other = username + "_x"
    run(ledger_store.append(deposit_record(username, 1)))

    run(ledger_store.append(deposit_record(other, 1)))

    assert [r.username for r in run(ledger_store.events_after(other, 0))] == [other]


def a_receipt(username: str, key: str, seq: int) -> EventRecord:
    record = deposit_record(username, seq) if seq % 2 else refusal_record(username, seq)
    return EventRecord(username, seq, record.event_type, record.payload, key, "h", record.at)


def a_snapshot(username: str, version: int, keys: list[str]) -> Snapshot:
    account = Account(
        username,
        Decimal(f"{version}.10"),
        Decimal("0.00"),
        version,
        version,
        DailyTotals("2024-03-01", Decimal("10.10"), Decimal("0.05")),
        {"BTC": Holding(Decimal("0.50000000"), Decimal("0E-8"), Decimal("20000.00"), AT, AT)},
    )
    receipts = {key: a_receipt(username, key, i + 1) for i, key in enumerate(keys)}
    return Snapshot(account, receipts)


def test_a_snapshot_round_trips_exactly(ledger_store: LedgerStore, username: str) -> None:
    snapshot = a_snapshot(username, 5, ["k1", "k2"])

    run(ledger_store.save_snapshot(snapshot))
    loaded = run(ledger_store.load_snapshot(username))

    assert loaded == snapshot
    assert loaded is not None
    assert str(loaded.account.balance) == "5.10"


def test_snapshots_never_move_backwards(ledger_store: LedgerStore, username: str) -> None:
    async def save_out_of_order() -> list[int]:
        seen = []
        for version in (5, 3, 5, 8, 7):
            await ledger_store.save_snapshot(a_snapshot(username, version, [f"k{version}"]))
            loaded = await ledger_store.load_snapshot(username)
            assert loaded is not None
            seen.append(loaded.account.version)
        return seen

    assert run(save_out_of_order()) == [5, 5, 5, 8, 8]
    loaded = run(ledger_store.load_snapshot(username))
    assert loaded is not None
    assert set(loaded.receipts) == {"k8"}


def test_a_saved_snapshot_does_not_change_when_the_caller_keeps_adding_receipts(
    ledger_store: LedgerStore, username: str
) -> None:
    snapshot = a_snapshot(username, 2, ["k1", "k2"])
    run(ledger_store.save_snapshot(snapshot))

    snapshot.receipts["k3"] = a_receipt(username, "k3", 3)

    loaded = run(ledger_store.load_snapshot(username))
    assert loaded is not None
    assert set(loaded.receipts) == {"k1", "k2"}


def test_rows_and_the_account_view_are_written_and_read_back(
    ledger_store: LedgerStore, username: str
) -> None:
    view = account_at(username, 1, "1.00")

    async def write() -> None:
        await ledger_store.write_rows([(username, transaction(1))])
        await ledger_store.put_account(view)

    run(write())

    assert run(ledger_store.get_account(username)) == view
    page = run(ledger_store.list_transactions(username, 10))
    assert page.items == [transaction(1)]
    assert not page.has_more


def test_an_account_view_with_holdings_round_trips_exactly(
    ledger_store: LedgerStore, username: str
) -> None:
    holdings = {
        "BTC": HoldingView(
            "BTC", Decimal("0.12345678"), Decimal("0E-8"), Decimal("4938.29"), AT.isoformat(), None
        ),
        "ETH": HoldingView(
            "ETH", Decimal("2.00000000"), Decimal("0.5"), Decimal("4000.00"), None, None
        ),
    }
    view = AccountView(username, Decimal("10.50"), Decimal("0.00"), 3, 3, None, holdings)

    run(ledger_store.put_account(view))
    stored = run(ledger_store.get_account(username))

    assert stored == view
    assert stored is not None and stored.holdings["BTC"].created_at == AT.isoformat()


def test_writing_rows_again_or_an_older_account_view_changes_nothing(
    ledger_store: LedgerStore, username: str
) -> None:
    async def out_of_order() -> list[int]:
        versions = []
        for seq in (2, 1, 2, 3, 1):
            await ledger_store.write_rows([(username, transaction(seq))])
            await ledger_store.put_account(account_at(username, seq))
            account = await ledger_store.get_account(username)
            assert account is not None
            versions.append(account.version)
        return versions

    assert run(out_of_order()) == [2, 2, 2, 3, 3]
    assert run(ledger_store.get_account(username)) == account_at(username, 3)
    page = run(ledger_store.list_transactions(username, 10))
    assert [t.seq for t in page.items] == [3, 2, 1]


def test_rows_of_several_users_and_types_are_written_in_one_call(
    ledger_store: LedgerStore, username: str
) -> None:
    other = username + "_x"
    rows: list[tuple[str, ReadModel]] = [(username, transaction(s)) for s in range(1, 31)]
    rows += [(other, row) for row in MARKET_ORDER.read_models(fill("0190-a", 1), 1)]

    run(ledger_store.write_rows(rows))

    assert len(run(ledger_store.list_transactions(username, 100)).items) == 30
    (payment,) = run(ledger_store.list_transactions(other, 100)).items
    assert (payment.transaction_type, payment.order_id) == ("ORDER_PAYMENT", "0190-a")
    assert run(ledger_store.get_order(other, "0190-a")) is not None
    assert len(run(ledger_store.list_asset_transactions(other, "BTC", 10)).items) == 1
    assert run(ledger_store.get_order(username, "0190-a")) is None  # never another user's


def test_transactions_are_listed_newest_first_in_pages(
    ledger_store: LedgerStore, username: str
) -> None:
    async def write_and_page() -> list[tuple[list[int], bool]]:
        await ledger_store.write_rows([(username, transaction(seq)) for seq in range(1, 6)])
        pages = []
        for limit, before in [(2, None), (2, 4), (2, 2), (10, None), (5, None), (3, 1), (1, 6)]:
            page = await ledger_store.list_transactions(username, limit, before)
            pages.append(([t.seq for t in page.items], page.has_more))
        return pages

    assert run(write_and_page()) == [
        ([5, 4], True),
        ([3, 2], True),
        ([1], False),
        ([5, 4, 3, 2, 1], False),
        ([5, 4, 3, 2, 1], False),
        ([], False),
        ([5], True),
    ]


def order_rows(username: str) -> list[tuple[str, ReadModel]]:
    """Six fills, ids in time order: BTC buys 1, 3, 5; ETH buys 2, 4; a BTC sale 6."""
    assets = {1: "BTC", 2: "ETH", 3: "BTC", 4: "ETH", 5: "BTC", 6: "BTC"}
    return [
        (username, row)
        for seq, asset in assets.items()
        for row in MARKET_ORDER.read_models(
            fill(f"0190-{seq:04d}", seq, asset, "sell" if seq == 6 else "buy"), seq
        )
    ]


def test_orders_are_listed_newest_first_filtered_and_paged_after_an_id(
    ledger_store: LedgerStore, username: str
) -> None:
    run(ledger_store.write_rows(order_rows(username)))

    async def pages() -> list[tuple[list[str], bool]]:
        found = []
        for limit, after, where in [
            (10, None, OrderFilter()),
            (2, None, OrderFilter()),
            (2, "0190-0005", OrderFilter()),
            (2, None, OrderFilter(asset_id="BTC")),
            (5, "0190-0005", OrderFilter(asset_id="BTC")),
            (5, None, OrderFilter(order_type="market_sell")),
            (5, None, OrderFilter(status="queued")),
            (1, "0190-0001", OrderFilter()),
        ]:
            page = await ledger_store.list_orders(username, limit, after, where)
            found.append(([o.order_id[-1] for o in page.items], page.has_more))
        return found

    assert run(pages()) == [
        (["6", "5", "4", "3", "2", "1"], False),
        (["6", "5"], True),
        (["4", "3"], True),
        (["6", "5"], True),
        (["3", "1"], False),
        (["6"], False),
        ([], False),
        ([], False),
    ]
    order = run(ledger_store.get_order(username, "0190-0003"))
    assert order is not None
    assert (order.quantity, order.price, order.total_amount) == (
        Decimal("0.12345678"),
        Decimal("40000.12345678"),
        Decimal("4938.29"),
    )


def test_asset_transactions_are_listed_per_asset_newest_first_in_pages(
    ledger_store: LedgerStore, username: str
) -> None:
    run(ledger_store.write_rows(order_rows(username)))

    async def pages() -> list[tuple[list[tuple[int, str]], bool]]:
        found = []
        for asset_id, limit, before in [
            ("BTC", 10, None),
            ("BTC", 2, None),
            ("BTC", 2, 3),
            ("ETH", 1, 4),
            ("XRP", 5, None),
        ]:
            page = await ledger_store.list_asset_transactions(username, asset_id, limit, before)
            found.append(([(a.seq, a.transaction_type) for a in page.items], page.has_more))
        return found

    assert run(pages()) == [
        ([(6, "SELL"), (5, "BUY"), (3, "BUY"), (1, "BUY")], False),
        ([(6, "SELL"), (5, "BUY")], True),
        ([(1, "BUY")], False),
        ([(2, "BUY")], False),
        ([], False),
    ]


def test_an_unknown_user_has_an_empty_history(ledger_store: LedgerStore, username: str) -> None:
    page = run(ledger_store.list_transactions(username, 10))

    assert (page.items, page.has_more) == ([], False)


def test_transaction_amounts_keep_their_exact_value(
    ledger_store: LedgerStore, username: str
) -> None:
    view = AccountView(username, Decimal("1000000.01"), Decimal("0.00"), 1, 1, AT.isoformat())

    async def write() -> None:
        await ledger_store.write_rows([(username, transaction(1, "999999.99"))])
        await ledger_store.put_account(view)

    run(write())

    assert run(ledger_store.list_transactions(username, 1)).items[0].amount == Decimal("999999.99")
    stored = run(ledger_store.get_account(username))
    assert stored is not None and stored.balance == Decimal("1000000.01")


def test_the_service_on_this_store_survives_a_restart_with_snapshots(
    ledger_store: LedgerStore, username: str
) -> None:
    settings = LedgerSettings(snapshot_every=2)
    commands: list[Command] = [
        Deposit(Decimal("50.00")),
        Withdraw(Decimal("20.10")),
        Withdraw(Decimal("100.00")),  # refused, and recorded
        Deposit(Decimal("0.11")),
    ]

    async def restart() -> tuple[Account | None, Account | None, bool, bool]:
        first = LedgerService(ledger_store, settings=settings)
        for i, command in enumerate(commands):
            await first.execute(username, command, f"k{i}")
        await first.flush()
        second = LedgerService(ledger_store, settings=settings)
        replay = await second.execute(username, commands[0], "k0")
        refusal = await second.execute(username, commands[2], "k2")
        return (
            first.users[username].account,
            second.users[username].account,
            replay.replayed,  # type: ignore[union-attr]
            isinstance(refusal.error, InsufficientFundsError) and refusal.replayed,  # type: ignore[union-attr]
        )

    before, after, replayed, refusal_replayed = run(restart())

    assert after == before
    assert replayed and refusal_replayed
    assert after is not None and after.balance == Decimal("30.01")
    rebuilt = Account(username)
    for record in run(ledger_store.events_after(username, 0)):
        rebuilt = apply_record(rebuilt, record)
    assert rebuilt == after
    snapshot = run(ledger_store.load_snapshot(username))
    assert snapshot is not None and snapshot.account.version == 4
    assert snapshot.receipts["k2"].event_type == REFUSED
    account = run(ledger_store.get_account(username))
    assert account is not None
    assert (account.balance, account.version, account.transaction_count) == (
        Decimal("30.01"),
        4,
        3,
    )
    assert [t.seq for t in run(ledger_store.list_transactions(username, 10)).items] == [4, 2, 1]


def test_a_dynamo_snapshot_too_big_for_one_item_keeps_the_newest_receipts(
    dynamodb: Any, table: str, runner: BlockingRunner, username: str
) -> None:
    store = DynamoLedgerStore(dynamodb, table, runner)
    keys = [secrets.token_urlsafe(190)[:255] for _ in range(3000)]  # incompressible, 255 chars
    snapshot = a_snapshot(username, 3000, keys)

    run(store.save_snapshot(snapshot))
    loaded = run(store.load_snapshot(username))

    assert loaded is not None
    assert loaded.account == snapshot.account
    kept = list(loaded.receipts)
    assert 0 < len(kept) < len(keys)
    assert kept == keys[-len(kept) :]  # a suffix: the newest receipts survive


def test_queued_limit_orders_are_in_the_open_orders_index_until_they_close(
    ledger_store: LedgerStore, username: str
) -> None:
    def order(order_id: str, status: str, asset_id: str = "BTC") -> tuple[str, ReadModel]:
        placed = OpenOrder(order_id, None, "buy", asset_id, D("0.5"), D("100.5"), D("50.25"), AT)
        return username, limit_order_view(placed, 1, status, AT.isoformat())

    def mine() -> list[tuple[str, str, str]]:
        found = run(ledger_store.open_orders())
        return sorted((o.order_id, o.asset_id, o.status) for u, o in found if u == username)

    run(ledger_store.write_rows([order("o-1", "queued"), order("o-2", "queued", "ETH")]))
    run(ledger_store.write_rows([order("o-3", "queued"), order("o-3", "cancelled")]))
    assert mine() == [("o-1", "BTC", "queued"), ("o-2", "ETH", "queued")]

    run(ledger_store.write_rows([order("o-1", "completed")]))
    assert mine() == [("o-2", "ETH", "queued")]
    listed = run(ledger_store.list_orders(username, 10, None, OrderFilter()))
    assert [(o.order_id, o.status) for o in listed.items] == [
        ("o-3", "cancelled"),
        ("o-2", "queued"),
        ("o-1", "completed"),
    ]
    found = [o for u, o in run(ledger_store.open_orders()) if u == username]
    assert found[0].price == D("100.5") and found[0].quantity == D("0.5")


def test_account_views_of_many_users_are_written_in_one_call(
    ledger_store: LedgerStore, username: str
) -> None:
    others = [f"{username}-{i}" for i in range(30)]  # more than one BatchWriteItem
    views = [account_at(u, 2, "5.00") for u in others] + [account_at(username, 3, "7.00")]
    run(ledger_store.put_accounts(views))
    for name in others:
        found = run(ledger_store.get_account(name))
        assert found is not None and (found.version, found.balance) == (2, D("5.00"))
    mine = run(ledger_store.get_account(username))
    assert mine is not None and mine.balance == D("7.00")
