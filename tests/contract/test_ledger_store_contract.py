"""One contract for every ``LedgerStore``: the in-memory double and DynamoDB (moto over HTTP)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.accounts import Account, DailyTotals, apply
from actors.domain.commands import Deposit, Withdraw
from actors.domain.events import Deposited
from actors.ledger.codec import event_from_payload, event_to_payload
from actors.ledger.projection import Projection, project
from actors.ledger.records import BalanceView, EventRecord, Receipt, Snapshot, TransactionView
from actors.ledger.service import LedgerPolicy, LedgerService
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.errors import SequenceTakenError
from actors.store.port import LedgerStore
from tests.contract.conftest import run

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def a_receipt(key: str, seq: int, at: datetime = AT) -> Receipt:
    body = {"transaction_id": f"tx-{seq}", "balance": f"{seq}.00", "version": seq}
    return Receipt(key, f"hash-{key}", 201, body, at.isoformat())


def deposit_record(username: str, seq: int, amount: str = "1.00") -> EventRecord:
    at = AT + timedelta(minutes=seq)
    event = Deposited(f"tx-{seq}", Decimal(amount), Decimal(seq) * Decimal(amount), at)
    return EventRecord(
        username, seq, "Deposited", event_to_payload(event), a_receipt(f"k{seq}", seq, at)
    )


def projection(username: str, seq: int, balance: str | None = None) -> Projection:
    after = Account(username, Decimal(balance or seq), version=seq, transaction_count=seq)
    return project(deposit_record(username, seq), after)


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


def test_an_unknown_user_has_no_events_no_snapshot_and_no_balance(
    ledger_store: LedgerStore, username: str
) -> None:
    async def read() -> tuple[object, object, object]:
        return (
            await ledger_store.events_after(username, 0),
            await ledger_store.load_snapshot(username),
            await ledger_store.get_balance(username),
        )

    assert run(read()) == ([], None, None)


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


def a_snapshot(username: str, version: int, keys: list[str]) -> Snapshot:
    account = Account(
        username,
        Decimal(f"{version}.10"),
        Decimal("0.00"),
        version,
        version,
        DailyTotals("2024-03-01", Decimal("10.10"), Decimal("0.05")),
    )
    return Snapshot(account, {key: a_receipt(key, i + 1) for i, key in enumerate(keys)})


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

    snapshot.receipts["k3"] = a_receipt("k3", 3)

    loaded = run(ledger_store.load_snapshot(username))
    assert loaded is not None
    assert set(loaded.receipts) == {"k1", "k2"}


def test_a_projection_writes_the_transaction_and_the_balance(
    ledger_store: LedgerStore, username: str
) -> None:
    written = projection(username, 1, "1.00")

    run(ledger_store.apply_projection(written))

    assert run(ledger_store.get_balance(username)) == written.balance
    page = run(ledger_store.list_transactions(username, 10))
    assert page.items == [written.transaction]
    assert not page.has_more


def test_applying_a_projection_again_or_an_older_one_changes_nothing(
    ledger_store: LedgerStore, username: str
) -> None:
    async def out_of_order() -> list[int]:
        versions = []
        for seq in (2, 1, 2, 3, 1):
            await ledger_store.apply_projection(projection(username, seq))
            balance = await ledger_store.get_balance(username)
            assert balance is not None
            versions.append(balance.version)
        return versions

    assert run(out_of_order()) == [2, 2, 2, 3, 3]
    balance = run(ledger_store.get_balance(username))
    assert balance == projection(username, 3).balance
    page = run(ledger_store.list_transactions(username, 10))
    assert [t.seq for t in page.items] == [3, 2, 1]


def test_transactions_are_listed_newest_first_in_pages(
    ledger_store: LedgerStore, username: str
) -> None:
    async def write_and_page() -> list[tuple[list[int], bool]]:
        for seq in range(1, 6):
            await ledger_store.apply_projection(projection(username, seq))
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


def test_an_unknown_user_has_an_empty_history(ledger_store: LedgerStore, username: str) -> None:
    page = run(ledger_store.list_transactions(username, 10))

    assert (page.items, page.has_more) == ([], False)


def test_transaction_amounts_keep_their_exact_value(
    ledger_store: LedgerStore, username: str
) -> None:
    transaction = TransactionView(
        1,
        "tx-1",
        "DEPOSIT",
        Decimal("999999.99"),
        Decimal("1000000.01"),
        "COMPLETED",
        AT.isoformat(),
    )
    balance = BalanceView(username, Decimal("1000000.01"), Decimal("0.00"), 1, 1, AT.isoformat())

    run(ledger_store.apply_projection(Projection(username, transaction, balance)))

    assert run(ledger_store.list_transactions(username, 1)).items[0].amount == Decimal("999999.99")
    stored = run(ledger_store.get_balance(username))
    assert stored is not None and stored.balance == Decimal("1000000.01")


def test_the_service_on_this_store_survives_a_restart_with_snapshots(
    ledger_store: LedgerStore, username: str
) -> None:
    policy = LedgerPolicy(snapshot_every=2)
    commands = [Deposit(Decimal("50.00")), Withdraw(Decimal("20.10")), Deposit(Decimal("0.11"))]

    async def restart() -> tuple[Account | None, Account | None, bool]:
        first = LedgerService(ledger_store, policy=policy)
        for i, command in enumerate(commands):
            await first.execute(username, command, f"k{i}")
        second = LedgerService(ledger_store, policy=policy)
        replay = await second.execute(username, commands[0], "k0")
        return first.users[username].account, second.users[username].account, replay.replayed  # type: ignore[union-attr]

    before, after, replayed = run(restart())

    assert after == before
    assert replayed
    assert after is not None and after.balance == Decimal("30.01")
    rebuilt = Account(username)
    for record in run(ledger_store.events_after(username, 0)):
        rebuilt = apply(rebuilt, event_from_payload(record.event_type, record.payload), record.seq)
    assert rebuilt == after
    balance = run(ledger_store.get_balance(username))
    assert balance is not None and (balance.balance, balance.version) == (Decimal("30.01"), 3)


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
