"""``LedgerService`` over the in-memory store: idempotency, serialization per user, conflicts
with another writer, crash repair, snapshots, receipt retention and passivation."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.domain.accounts import Account, CashLimits, apply
from actors.domain.commands import Command, Deposit, Withdraw
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError
from actors.ledger.codec import event_from_payload
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError
from actors.ledger.records import EventRecord, Outcome, Receipt, Rejection, Snapshot
from actors.ledger.service import LedgerPolicy, LedgerService
from actors.store import keys
from actors.store.errors import StoreUnavailableError
from actors.store.memory import InMemoryLedgerStore
from tests.unit.doubles import AlwaysTakenStore, Clock, GatedStore, VersionedCache

T = TypeVar("T")
USER = "alice"


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


async def within(call: Awaitable[T], seconds: float = 2.0) -> T:
    """Fail instead of hanging when a scenario deadlocks (a lock held by a gated commit)."""
    return await asyncio.wait_for(call, seconds)


def deposit(amount: str) -> Deposit:
    return Deposit(Decimal(amount))


def withdraw(amount: str) -> Withdraw:
    return Withdraw(Decimal(amount))


def counter_ids() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"tx-{next(numbers)}"


def service(
    store: InMemoryLedgerStore | None = None,
    cache: VersionedCache | None = None,
    clock: Clock | None = None,
    **policy: Any,
) -> LedgerService:
    return LedgerService(
        store if store is not None else InMemoryLedgerStore(),
        cache,
        LedgerPolicy(**policy),
        clock=clock or Clock(),
        new_id=counter_ids(),
    )


def receipt(outcome: Outcome) -> Receipt:
    assert isinstance(outcome, Receipt), outcome
    return outcome


def refusal(outcome: Outcome) -> Exception:
    assert isinstance(outcome, Rejection), outcome
    return outcome.error


def balance_in(store: InMemoryLedgerStore, username: str = USER) -> Decimal:
    view = store.balances[username]
    return view.balance


def seqs_in(store: InMemoryLedgerStore, username: str = USER) -> list[int]:
    return sorted(store.events.get(username, {}))


def rebuilt(store: InMemoryLedgerStore, username: str = USER) -> Account:
    account = Account(username)
    for seq in seqs_in(store, username):
        record = store.events[username][seq]
        account = apply(account, event_from_payload(record.event_type, record.payload), seq)
    return account


def test_a_deposit_is_committed_projected_cached_and_published() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    ledger = service(store, cache)

    outcome = receipt(run(lambda: ledger.execute(USER, deposit("100.00"), "k1")))

    assert outcome.status_code == 201
    assert outcome.body == {
        "transaction_id": "tx-1",
        "transaction_type": "DEPOSIT",
        "amount": "100.00",
        "balance": "100.00",
        "timestamp": "2024-03-01T12:00:00+00:00",
        "version": 1,
    }
    assert not outcome.replayed
    assert seqs_in(store) == [1]
    assert balance_in(store) == Decimal("100.00")
    assert [t.transaction_id for t in store.transactions[USER].values()] == ["tx-1"]
    assert cache.entries[keys.balance_cache_key(USER)][0] == 1
    assert cache.entries[keys.balance_cache_key(USER)][1]["balance"] == "100.00"  # type: ignore[index]
    assert cache.entries[keys.transactions_cache_key(USER)] == (1, None)
    assert cache.published == [
        (
            keys.events_channel(USER),
            {"type": "balance", "data": cache.entries[keys.balance_cache_key(USER)][1]},
        )
    ]


def test_a_withdrawal_larger_than_the_balance_is_refused_and_records_nothing() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)
    run(lambda: ledger.execute(USER, deposit("10.00"), "k1"))

    error = refusal(run(lambda: ledger.execute(USER, withdraw("10.01"), "k2")))

    assert isinstance(error, InsufficientFundsError)
    assert seqs_in(store) == [1]
    assert balance_in(store) == Decimal("10.00")


def test_a_daily_limit_refusal_is_a_rejection() -> None:
    ledger = service(limits=CashLimits(daily_deposit=Decimal("50.00")))

    error = refusal(run(lambda: ledger.execute(USER, deposit("50.01"), "k1")))

    assert isinstance(error, DailyLimitExceededError)


def test_the_same_key_and_command_replay_the_first_receipt_and_apply_once() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def twice() -> tuple[Outcome, Outcome]:
        first = await ledger.execute(USER, deposit("25.00"), "k1")
        return first, await ledger.execute(USER, deposit("25.00"), "k1")

    first, second = run(twice)

    assert receipt(second) == replace(receipt(first), replayed=True)
    assert receipt(second).replayed
    assert seqs_in(store) == [1]
    assert balance_in(store) == Decimal("25.00")


def test_a_replay_matches_the_amount_not_its_spelling() -> None:
    ledger = service()

    async def twice() -> Outcome:
        await ledger.execute(USER, deposit("25"), "k1")
        return await ledger.execute(USER, deposit("25.00"), "k1")

    assert receipt(run(twice)).replayed


@pytest.mark.parametrize("second", [deposit("26.00"), withdraw("25.00")])
def test_the_same_key_with_a_different_request_is_refused(second: Command) -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def reuse() -> Outcome:
        await ledger.execute(USER, deposit("25.00"), "k1")
        return await ledger.execute(USER, second, "k1")

    error = refusal(run(reuse))

    assert isinstance(error, IdempotencyKeyReusedError)
    assert error.key == "k1"
    assert seqs_in(store) == [1]


def test_keys_are_scoped_to_the_user() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def two_users() -> None:
        await ledger.execute("alice", deposit("1.00"), "shared")
        await ledger.execute("bob", deposit("2.00"), "shared")

    run(two_users)

    assert (balance_in(store, "alice"), balance_in(store, "bob")) == (
        Decimal("1.00"),
        Decimal("2.00"),
    )


def test_a_repeat_while_the_first_request_is_in_flight_is_refused_and_the_first_completes() -> None:
    store = GatedStore()
    ledger = service(store)

    async def overlap() -> tuple[Outcome, Outcome]:
        first = asyncio.create_task(ledger.execute(USER, deposit("5.00"), "k1"))
        await within(store.waiting.wait())
        second = await within(ledger.execute(USER, deposit("5.00"), "k1"))
        store.gate.set()
        return await first, second

    first, second = run(overlap)

    assert isinstance(refusal(second), RequestInFlightError)
    assert receipt(first).status_code == 201
    assert seqs_in(store) == [1]
    assert not ledger.users[USER].in_flight


def test_operations_of_one_user_run_one_at_a_time_in_arrival_order() -> None:
    store = GatedStore()
    ledger = service(store)

    async def queue() -> list[Outcome]:
        tasks = [
            asyncio.create_task(ledger.execute(USER, deposit(f"{i}.00"), f"k{i}"))
            for i in range(1, 6)
        ]
        await within(store.waiting.wait())
        store.gate.set()
        return list(await asyncio.gather(*tasks))

    outcomes = run(queue)

    assert [receipt(o).body["amount"] for o in outcomes] == ["1.00", "2.00", "3.00", "4.00", "5.00"]
    assert [receipt(o).body["balance"] for o in outcomes] == [
        "1.00",
        "3.00",
        "6.00",
        "10.00",
        "15.00",
    ]


def test_many_concurrent_withdrawals_of_the_whole_balance_yield_exactly_one_receipt() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def race() -> list[Outcome]:
        await ledger.execute(USER, deposit("100.00"), "funding")
        calls = [ledger.execute(USER, withdraw("100.00"), f"w{i}") for i in range(50)]
        return list(await asyncio.gather(*calls))

    outcomes = run(race)

    receipts = [o for o in outcomes if isinstance(o, Receipt)]
    assert len(receipts) == 1
    assert all(
        isinstance(refusal(o), InsufficientFundsError) for o in outcomes if o not in receipts
    )
    assert balance_in(store) == Decimal("0.00")
    assert seqs_in(store) == [1, 2]


def test_different_users_progress_while_one_is_blocked() -> None:
    store = GatedStore(gated={"alice"})
    ledger = service(store)

    async def blocked_and_free() -> tuple[Outcome, bool]:
        blocked = asyncio.create_task(ledger.execute("alice", deposit("1.00"), "k"))
        await within(store.waiting.wait())
        free = await within(ledger.execute("bob", deposit("2.00"), "k"))
        still_blocked = not blocked.done()
        store.gate.set()
        await blocked
        return free, still_blocked

    free, alice_was_still_blocked = run(blocked_and_free)

    assert receipt(free).body["balance"] == "2.00"
    assert alice_was_still_blocked


def test_when_another_writer_took_the_next_seq_the_service_reloads_and_decides_again() -> None:
    store = InMemoryLedgerStore()
    ours, theirs = service(store), service(store)

    async def conflict() -> Outcome:
        await ours.execute(USER, deposit("100.00"), "k1")  # activates ours at version 1
        await theirs.execute(USER, withdraw("30.00"), "k2")  # takes seq 2 behind our back
        return await ours.execute(USER, withdraw("50.00"), "k3")

    outcome = receipt(run(conflict))

    assert outcome.body["version"] == 3
    assert outcome.body["balance"] == "20.00"
    assert seqs_in(store) == [1, 2, 3]
    assert rebuilt(store).balance == Decimal("20.00")
    assert ours.users[USER].account == rebuilt(store)


def test_a_retry_that_lost_the_race_to_its_own_first_attempt_is_replayed_not_applied_twice() -> (
    None
):
    store = InMemoryLedgerStore()
    ours, restarted = service(store), service(store)

    async def conflict() -> Outcome:
        await ours.execute(USER, deposit("100.00"), "k1")
        await restarted.execute(USER, withdraw("60.00"), "k2")  # the same request, elsewhere
        return await ours.execute(USER, withdraw("60.00"), "k2")

    outcome = receipt(run(conflict))

    assert outcome.replayed
    assert seqs_in(store) == [1, 2]
    assert rebuilt(store).balance == Decimal("40.00")


def test_a_refusal_decided_again_after_a_conflict_is_still_a_refusal() -> None:
    store = InMemoryLedgerStore()
    ours, theirs = service(store), service(store)

    async def conflict() -> Outcome:
        await ours.execute(USER, deposit("100.00"), "k1")
        await theirs.execute(USER, withdraw("100.00"), "k2")
        return await ours.execute(USER, withdraw("1.00"), "k3")

    assert isinstance(refusal(run(conflict)), InsufficientFundsError)
    assert seqs_in(store) == [1, 2]


def test_a_log_that_keeps_changing_gives_up_as_unavailable_after_a_few_attempts() -> None:
    store = AlwaysTakenStore()
    ledger = service(store)

    error = refusal(run(lambda: ledger.execute(USER, deposit("1.00"), "k1")))

    assert isinstance(error, StoreUnavailableError)
    assert store.append_attempts == 3
    assert ledger.users[USER].account is None


def test_an_unavailable_store_is_a_rejection_and_the_next_call_reloads() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)
    original = store.append

    async def failing_append(record: EventRecord) -> None:
        raise StoreUnavailableError("timeout")

    async def flaky() -> tuple[Outcome, Outcome]:
        await ledger.execute(USER, deposit("10.00"), "k1")
        store.append = failing_append  # type: ignore[method-assign]
        failed = await ledger.execute(USER, deposit("5.00"), "k2")
        store.append = original  # type: ignore[method-assign]
        return failed, await ledger.execute(USER, deposit("5.00"), "k2")

    failed, retried = run(flaky)

    assert isinstance(refusal(failed), StoreUnavailableError)
    assert receipt(retried).body["balance"] == "15.00"
    assert seqs_in(store) == [1, 2]


def test_a_crash_between_commit_and_projection_is_repaired_by_the_restarted_shard() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    crashed = service(store, cache)

    def crash(record: EventRecord) -> None:
        raise SystemError("process died after the commit")

    async def crash_then_restart() -> Outcome:
        await crashed.execute(USER, deposit("100.00"), "k1")
        crashed.after_commit_hook = crash
        with pytest.raises(SystemError):
            await crashed.execute(USER, withdraw("40.00"), "k2")
        assert store.balances[USER].version == 1  # committed, not projected
        restarted = service(store, cache)
        return await restarted.execute(USER, withdraw("40.00"), "k2")

    retry = receipt(run(crash_then_restart))

    assert retry.replayed
    assert retry.body["balance"] == "60.00"
    assert seqs_in(store) == [1, 2]
    assert store.balances[USER].version == 2
    assert balance_in(store) == Decimal("60.00")
    assert sorted(store.transactions[USER]) == [1, 2]
    assert store.transactions[USER][2].transaction_type == "WITHDRAW"
    assert cache.entries[keys.balance_cache_key(USER)][0] == 2


@pytest.mark.parametrize("lost", ["transaction", "balance"])
def test_a_half_written_projection_is_completed_by_the_restarted_shard(lost: str) -> None:
    store = InMemoryLedgerStore()
    first = service(store)
    run(lambda: first.execute(USER, deposit("100.00"), "k1"))
    run(lambda: first.execute(USER, deposit("5.00"), "k2"))
    # The two read models of event 2 are written concurrently: lose one, as a crash would.
    if lost == "transaction":
        del store.transactions[USER][2]
    else:
        store.balances[USER] = replace(store.balances[USER], version=1, balance=Decimal("100.00"))

    run(lambda: service(store).execute(USER, deposit("1.00"), "k3"))

    assert sorted(store.transactions[USER]) == [1, 2, 3]
    assert store.transactions[USER][2].amount == Decimal("5.00")
    assert store.balances[USER].version == 3
    assert balance_in(store) == Decimal("106.00")


def test_a_failed_projection_is_repaired_on_the_next_call_and_the_receipt_still_returned() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def fail_once() -> tuple[Outcome, Outcome]:
        await ledger.execute(USER, deposit("100.00"), "k1")
        store.fail_next_projection = True
        lost = await ledger.execute(USER, deposit("20.00"), "k2")
        assert store.balances[USER].version == 1
        assert ledger.users[USER].account is None  # forget: reload and repair
        return lost, await ledger.execute(USER, deposit("1.00"), "k3")

    lost, later = run(fail_once)

    assert receipt(lost).body["balance"] == "120.00"
    assert receipt(later).body["balance"] == "121.00"
    assert sorted(store.transactions[USER]) == [1, 2, 3]
    assert (store.balances[USER].version, balance_in(store)) == (3, Decimal("121.00"))


def test_after_a_failed_projection_the_cache_shows_the_commit_and_repair_needs_no_new_call() -> (
    None
):
    store, cache = InMemoryLedgerStore(), VersionedCache()
    ledger = service(store, cache)

    async def fail_then_repair() -> tuple[set[str], int]:
        await ledger.execute(USER, deposit("100.00"), "k1")
        store.fail_next_projection = True
        await ledger.execute(USER, deposit("20.00"), "k2")
        pending = set(ledger.needs_repair)
        return pending, await ledger.repair_pending()

    pending, still_pending = run(fail_then_repair)

    assert cache.entries[keys.balance_cache_key(USER)][1]["balance"] == "120.00"
    assert (pending, still_pending) == ({USER}, 0)
    assert sorted(store.transactions[USER]) == [1, 2]
    assert (store.balances[USER].version, balance_in(store)) == (2, Decimal("120.00"))


def test_a_repair_that_fails_again_stays_pending() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def fail_twice() -> int:
        await ledger.execute(USER, deposit("100.00"), "k1")
        store.fail_next_projection = True
        await ledger.execute(USER, deposit("20.00"), "k2")
        store.fail_next_projection = True
        return await ledger.repair_pending()

    assert run(fail_twice) == 1
    assert store.balances[USER].version == 1


def test_a_snapshot_is_written_every_n_events() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, snapshot_every=3)

    async def seven() -> None:
        for i in range(7):
            await ledger.execute(USER, deposit("1.00"), f"k{i}")

    run(seven)

    snapshot = store.snapshots[USER]
    assert snapshot.account.version == 6
    assert snapshot.account.balance == Decimal("6.00")
    assert set(snapshot.receipts) == {f"k{i}" for i in range(6)}


class SpyingStore(InMemoryLedgerStore):
    def __init__(self) -> None:
        super().__init__()
        self.events_after_calls: list[int] = []

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        self.events_after_calls.append(seq)
        return await super().events_after(username, seq)


def test_activation_starts_from_the_snapshot_and_applies_only_later_events() -> None:
    store = SpyingStore()
    first = service(store, snapshot_every=4)

    async def restart() -> tuple[Outcome, Outcome]:
        for i in range(6):
            await first.execute(USER, deposit("10.00"), f"k{i}")
        store.events_after_calls.clear()
        second = service(store, snapshot_every=4)
        replay_before = await second.execute(USER, deposit("10.00"), "k1")
        replay_after = await second.execute(USER, deposit("10.00"), "k5")
        return replay_before, replay_after

    before, after = run(restart)

    assert store.events_after_calls == [4]
    assert receipt(before).replayed  # its receipt came from the snapshot
    assert receipt(after).replayed  # its receipt came from the log after it
    assert store.snapshots[USER].account.version == 4


def test_activation_from_snapshot_and_later_events_rebuilds_the_same_account() -> None:
    store = InMemoryLedgerStore()
    first = service(store, snapshot_every=3)
    history = [deposit("50.00"), withdraw("20.00"), deposit("5.55"), withdraw("0.55"), deposit("1")]

    async def restart() -> tuple[int, Account | None]:
        for i, command in enumerate(history):
            await first.execute(USER, command, f"k{i}")
        snapshot_version = store.snapshots[USER].account.version
        second = service(store, snapshot_every=3)
        await second.execute(USER, deposit("0.01"), "k-after-restart")
        return snapshot_version, second.users[USER].account

    snapshot_version, from_snapshot = run(restart)

    assert snapshot_version == 3
    assert from_snapshot == rebuilt(store)
    assert from_snapshot is not None
    assert (from_snapshot.balance, from_snapshot.version) == (Decimal("36.01"), 6)


def test_receipts_older_than_the_retention_are_pruned_at_snapshot_time() -> None:
    store, clock = InMemoryLedgerStore(), Clock()
    ledger = service(store, clock=clock, snapshot_every=3, receipts_ttl_s=3600)

    async def age() -> Outcome:
        await ledger.execute(USER, deposit("1.00"), "old")
        clock.advance(hours=2)
        await ledger.execute(USER, deposit("1.00"), "recent")
        clock.advance(minutes=59)
        await ledger.execute(USER, deposit("1.00"), "newest")  # snapshot at version 3
        restarted = service(store, clock=clock, snapshot_every=3, receipts_ttl_s=3600)
        return await restarted.execute(USER, deposit("1.00"), "old")

    reused_after_expiry = receipt(run(age))

    assert set(store.snapshots[USER].receipts) == {"recent", "newest"}
    assert set(ledger.users[USER].receipts) == {"recent", "newest"}
    assert not reused_after_expiry.replayed  # past retention, a key is new again
    assert seqs_in(store) == [1, 2, 3, 4]


def test_passivate_idle_drops_idle_users_only() -> None:
    store = GatedStore(gated={"busy"})
    ledger = service(store, idle_timeout_s=60)

    async def scenario() -> tuple[int, set[str]]:
        await ledger.execute("idle", deposit("1.00"), "k")
        await ledger.execute("recent", deposit("1.00"), "k")
        busy = asyncio.create_task(ledger.execute("busy", deposit("1.00"), "k"))
        await within(store.waiting.wait())
        ledger.users["idle"].last_used -= 120
        ledger.users["busy"].last_used -= 120
        dropped = ledger.passivate_idle()
        remaining = set(ledger.users)
        store.gate.set()
        await busy
        return dropped, remaining

    dropped, remaining = run(scenario)

    assert dropped == 1
    assert remaining == {"recent", "busy"}


def test_a_passivated_user_is_reloaded_from_the_store_on_next_use() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, idle_timeout_s=0)

    async def scenario() -> tuple[int, Outcome, Outcome]:
        await ledger.execute(USER, deposit("7.00"), "k1")
        ledger.users[USER].last_used -= 1
        dropped = ledger.passivate_idle()
        replay = await ledger.execute(USER, deposit("7.00"), "k1")
        return dropped, replay, await ledger.execute(USER, deposit("1.00"), "k2")

    dropped, replay, later = run(scenario)

    assert dropped == 1
    assert receipt(replay).replayed
    assert receipt(later).body["balance"] == "8.00"


amounts = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
commands = st.lists(
    st.tuples(st.sampled_from([Deposit, Withdraw]), amounts, st.booleans()), max_size=25
)
NO_DAILY_LIMITS = CashLimits(daily_deposit=Decimal(10**7), daily_withdrawal=Decimal(10**7))


def same_answer(first: Outcome, second: Outcome) -> bool:
    if isinstance(first, Receipt):
        return second == replace(first, replayed=True)
    return isinstance(second, Rejection) and type(second.error) is type(first.error)


@settings(deadline=None, max_examples=60)
@given(commands, st.integers(min_value=2, max_value=6))
def test_any_history_through_the_service_is_exact_idempotent_and_rebuildable(
    history: list[tuple[type[Deposit] | type[Withdraw], Decimal, bool]], snapshot_every: int
) -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, snapshot_every=snapshot_every, limits=NO_DAILY_LIMITS)

    async def play() -> Decimal:
        expected = Decimal(0)
        for i, (command_type, amount, retried) in enumerate(history):
            outcome = await ledger.execute(USER, command_type(amount), f"k{i}")
            if retried:  # a client retry of the same request never applies again
                repeat = await ledger.execute(USER, command_type(amount), f"k{i}")
                assert same_answer(outcome, repeat)
            if isinstance(outcome, Receipt):
                expected += amount if command_type is Deposit else -amount
            assert expected >= 0
        await ledger.execute(USER, Deposit(Decimal("0.01")), "last")
        return expected + Decimal("0.01")

    expected = run(play)

    assert rebuilt(store).balance == expected
    assert ledger.users[USER].account == rebuilt(store)
    assert balance_in(store) == expected
    assert store.balances[USER].version == len(seqs_in(store))
    restarted = service(store, snapshot_every=snapshot_every, limits=NO_DAILY_LIMITS)
    run(lambda: restarted.execute(USER, Deposit(Decimal("0.01")), "probe"))
    assert restarted.users[USER].account == rebuilt(store)
    assert rebuilt(store).balance == expected + Decimal("0.01")


class SnapshotFailingStore(InMemoryLedgerStore):
    async def save_snapshot(self, snapshot: Snapshot) -> None:
        raise ConnectionError("snapshot write timed out")


def test_a_failed_snapshot_loses_nothing_and_activation_replays_the_whole_log() -> None:
    store = SnapshotFailingStore()
    ledger = service(store, snapshot_every=2)

    async def scenario() -> tuple[list[Outcome], Account | None]:
        outcomes = [await ledger.execute(USER, deposit("1.00"), f"k{i}") for i in range(3)]
        restarted = service(store, snapshot_every=2)
        outcomes.append(await restarted.execute(USER, deposit("1.00"), "k1"))
        return outcomes, restarted.users[USER].account

    outcomes, reloaded = run(scenario)

    assert [receipt(o).body["balance"] for o in outcomes[:3]] == ["1.00", "2.00", "3.00"]
    assert receipt(outcomes[3]).replayed
    assert store.snapshots == {}
    assert reloaded == rebuilt(store)
    assert balance_in(store) == Decimal("3.00")
