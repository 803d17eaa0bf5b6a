"""``LedgerService`` over the in-memory store: one write before the reply, idempotency (refusals
included), serialization per user, conflicts with another writer, read models behind the reply,
crash repair, snapshots, receipt retention and passivation."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.domain.accounts import Account
from actors.domain.commands import Command, Deposit, PlaceMarketOrder, Withdraw
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError, InvalidAmountError
from actors.domain.events import Deposited, Withdrew
from actors.ledger import projector as projector_module
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError
from actors.ledger.projection import apply_record
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.ledger.service import LedgerService
from actors.live.port import LiveEvent
from actors.market.errors import PriceUnavailableError
from actors.operations.codec import REFUSED, event_to_payload
from actors.settings import LedgerSettings
from actors.store import keys
from actors.store.errors import StoreUnavailableError
from actors.store.memory import InMemoryLedgerStore
from actors.store.records import EventRecord, ReadModel, Snapshot
from actors.store.views import account_view_dict, view_dict
from tests.unit.doubles import (
    START,
    AlwaysTakenStore,
    Clock,
    GatedStore,
    RecordingLiveEvents,
    VersionedCache,
)

T = TypeVar("T")
USER = "alice"


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


async def within(call: Awaitable[T], seconds: float = 2.0) -> T:
    """Fail instead of hanging when a scenario deadlocks (a lock held by a gated commit)."""
    return await asyncio.wait_for(call, seconds)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The projector's first backoff after a failed write, short enough for unit tests."""
    monkeypatch.setattr(projector_module, "FIRST_BACKOFF_S", 0.001)


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
    live: RecordingLiveEvents | None = None,
    **overrides: Any,
) -> LedgerService:
    return LedgerService(
        store if store is not None else InMemoryLedgerStore(),
        cache,
        LedgerSettings(**overrides),
        clock=clock or Clock(),
        new_id=counter_ids(),
        live=live,
    )


def committed(outcome: Outcome) -> Committed:
    assert isinstance(outcome, Committed), outcome
    return outcome


def refused(outcome: Outcome) -> Exception:
    assert isinstance(outcome, Refused), outcome
    return outcome.error


def failed(outcome: Outcome) -> Exception:
    assert isinstance(outcome, Failed), outcome
    return outcome.error


def balance_after(outcome: Outcome) -> Decimal:
    event: Deposited | Withdrew = committed(outcome).event
    return event.balance_after


def balance_in(store: InMemoryLedgerStore, username: str = USER) -> Decimal:
    return store.accounts[username].balance


def seqs_in(store: InMemoryLedgerStore, username: str = USER) -> list[int]:
    return sorted(store.events.get(username, {}))


def types_in(store: InMemoryLedgerStore, username: str = USER) -> list[str]:
    log = store.events.get(username, {})
    return [log[seq].event_type for seq in sorted(log)]


def rebuilt(store: InMemoryLedgerStore, username: str = USER) -> Account:
    account = Account(username)
    for seq in seqs_in(store, username):
        account = apply_record(account, store.events[username][seq])
    return account


def test_a_deposit_is_committed_then_projected_cached_and_published() -> None:
    store, cache, live = InMemoryLedgerStore(), VersionedCache(), RecordingLiveEvents()
    ledger = service(store, cache, live=live)

    async def scenario() -> tuple[Outcome, int]:
        outcome = await ledger.execute(USER, deposit("100.00"), "k1")
        writes_before_reply = store.requests
        await ledger.flush()
        return outcome, writes_before_reply

    outcome, writes_before_reply = run(scenario)

    assert outcome == Committed(1, Deposited("tx-1", Decimal("100.00"), Decimal("100.00"), START))
    assert writes_before_reply == 1  # the event alone; the read models come behind the reply
    assert seqs_in(store) == [1]
    record = store.events[USER][1]
    assert (record.event_type, record.idempotency_key, record.at) == (
        "Deposited",
        "k1",
        START.isoformat(),
    )
    assert balance_in(store) == Decimal("100.00")
    assert store.accounts[USER].version == 1
    assert [t.transaction_id for t in store.transactions[USER].values()] == ["tx-1"]
    balance_key = keys.balance_cache_key(USER)
    view = account_view_dict(store.accounts[USER])
    assert cache.entries[balance_key] == (1, view)
    assert cache.entries[keys.transactions_cache_key(USER)] == (1, None)
    assert live.published == [
        (USER, LiveEvent("balance", view, "1")),
        (USER, LiveEvent("transaction", view_dict(store.transactions[USER][1]), "1")),
    ]
    assert cache.published == []  # live events have their own port, not the read cache


def test_bad_input_fails_before_the_users_lock_and_records_nothing() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, max_amount=Decimal("100.00"))

    error = failed(run(lambda: ledger.execute(USER, deposit("100.01"), "k1")))

    assert isinstance(error, InvalidAmountError)
    assert "between 0.01 and 100.00" in str(error)
    assert store.events == {} and store.requests == 0
    assert USER not in ledger.users  # not even activated


def test_a_withdrawal_larger_than_the_balance_is_refused_and_recorded_without_moving_money() -> (
    None
):
    store, cache, live = InMemoryLedgerStore(), VersionedCache(), RecordingLiveEvents()
    ledger = service(store, cache, live=live)

    async def scenario() -> Outcome:
        await ledger.execute(USER, deposit("10.00"), "k1")
        live.published.clear()
        outcome = await ledger.execute(USER, withdraw("10.01"), "k2")
        await ledger.flush()
        return outcome

    outcome = run(scenario)

    error = refused(outcome)
    assert isinstance(error, InsufficientFundsError)
    assert (error.requested, error.available) == (Decimal("10.01"), Decimal("10.00"))
    assert outcome == Refused(2, error)
    assert types_in(store) == ["Deposited", REFUSED]
    assert balance_in(store) == Decimal("10.00")
    assert (store.accounts[USER].version, store.accounts[USER].transaction_count) == (2, 1)
    assert sorted(store.transactions[USER]) == [1]  # a refusal is no transaction
    assert [e.type for _, e in live.published] == ["balance"]  # the new version, no event
    assert cache.entries[keys.balance_cache_key(USER)][0] == 2


def test_a_daily_limit_refusal_is_refused() -> None:
    ledger = service(daily_deposit_limit=Decimal("50.00"))

    error = refused(run(lambda: ledger.execute(USER, deposit("50.01"), "k1")))

    assert isinstance(error, DailyLimitExceededError)
    assert error.limit == Decimal("50.00")


def test_the_same_key_and_command_replay_the_first_result_and_apply_once() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def twice() -> tuple[Outcome, Outcome]:
        first = await ledger.execute(USER, deposit("25.00"), "k1")
        return first, await ledger.execute(USER, deposit("25.00"), "k1")

    first, second = run(twice)

    assert second == replace(committed(first), replayed=True)
    assert not committed(first).replayed
    assert seqs_in(store) == [1]
    assert rebuilt(store).balance == Decimal("25.00")


def test_a_refusal_is_replayed_for_its_key_even_when_the_rule_would_now_accept() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def scenario() -> tuple[Outcome, Outcome, Outcome]:
        await ledger.execute(USER, deposit("5.00"), "k1")
        first = await ledger.execute(USER, withdraw("8.00"), "k2")
        await ledger.execute(USER, deposit("5.00"), "k3")
        again = await ledger.execute(USER, withdraw("8.00"), "k2")
        other = await ledger.execute(USER, deposit("1.00"), "k2")
        return first, again, other

    first, again, other = run(scenario)

    original = refused(first)
    assert isinstance(again, Refused) and again.replayed
    assert (again.seq, type(again.error)) == (2, InsufficientFundsError)
    assert again.error.args == original.args == (Decimal("8.00"), Decimal("5.00"))
    assert isinstance(failed(other), IdempotencyKeyReusedError)
    assert types_in(store) == ["Deposited", REFUSED, "Deposited"]
    assert rebuilt(store).balance == Decimal("10.00")


def test_a_replay_matches_the_amount_not_its_spelling() -> None:
    ledger = service()

    async def twice() -> Outcome:
        await ledger.execute(USER, deposit("25"), "k1")
        return await ledger.execute(USER, deposit("25.00"), "k1")

    assert committed(run(twice)).replayed


@pytest.mark.parametrize("second", [deposit("26.00"), withdraw("25.00")])
def test_the_same_key_with_a_different_request_is_refused(second: Command) -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def reuse() -> Outcome:
        await ledger.execute(USER, deposit("25.00"), "k1")
        return await ledger.execute(USER, second, "k1")

    error = failed(run(reuse))

    assert isinstance(error, IdempotencyKeyReusedError)
    assert error.key == "k1"
    assert seqs_in(store) == [1]


def test_keys_are_scoped_to_the_user() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def two_users() -> None:
        await ledger.execute("alice", deposit("1.00"), "shared")
        await ledger.execute("bob", deposit("2.00"), "shared")
        await ledger.flush()

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

    assert isinstance(failed(second), RequestInFlightError)
    assert committed(first).seq == 1
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

    assert [committed(o).event.amount for o in outcomes] == [
        Decimal(f"{i}.00") for i in range(1, 6)
    ]
    assert [str(balance_after(o)) for o in outcomes] == ["1.00", "3.00", "6.00", "10.00", "15.00"]
    assert [committed(o).seq for o in outcomes] == [1, 2, 3, 4, 5]


def test_many_concurrent_withdrawals_of_the_whole_balance_yield_exactly_one_commit() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def race() -> list[Outcome]:
        await ledger.execute(USER, deposit("100.00"), "funding")
        calls = [ledger.execute(USER, withdraw("100.00"), f"w{i}") for i in range(50)]
        outcomes = list(await asyncio.gather(*calls))
        await ledger.flush()
        return outcomes

    outcomes = run(race)

    commits = [o for o in outcomes if isinstance(o, Committed)]
    assert len(commits) == 1
    others = [o for o in outcomes if not isinstance(o, Committed)]
    assert all(isinstance(refused(o), InsufficientFundsError) for o in others)
    assert balance_in(store) == Decimal("0.00")
    assert seqs_in(store) == list(range(1, 52))  # every refusal is recorded against its key
    assert types_in(store).count("Withdrew") == 1


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

    assert balance_after(free) == Decimal("2.00")
    assert alice_was_still_blocked


def test_when_another_writer_took_the_next_seq_the_service_reloads_and_decides_again() -> None:
    store = InMemoryLedgerStore()
    ours, theirs = service(store), service(store)

    async def conflict() -> Outcome:
        await ours.execute(USER, deposit("100.00"), "k1")  # activates ours at version 1
        await theirs.execute(USER, withdraw("30.00"), "k2")  # takes seq 2 behind our back
        return await ours.execute(USER, withdraw("50.00"), "k3")

    outcome = committed(run(conflict))

    assert outcome.seq == 3
    assert balance_after(outcome) == Decimal("20.00")
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

    outcome = committed(run(conflict))

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

    outcome = run(conflict)

    assert isinstance(refused(outcome), InsufficientFundsError)
    assert outcome.seq == 3  # type: ignore[union-attr]
    assert types_in(store) == ["Deposited", "Withdrew", REFUSED]


def test_a_log_that_keeps_changing_gives_up_as_unavailable_after_a_few_attempts() -> None:
    store = AlwaysTakenStore()
    ledger = service(store)

    error = failed(run(lambda: ledger.execute(USER, deposit("1.00"), "k1")))

    assert isinstance(error, StoreUnavailableError)
    assert store.append_attempts == 3
    assert ledger.users[USER].account is None


def test_an_unavailable_store_fails_records_nothing_and_the_next_call_reloads() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)
    original = store.append

    async def failing_append(record: EventRecord) -> None:
        raise StoreUnavailableError("timeout")

    async def flaky() -> tuple[Outcome, bool, Outcome]:
        await ledger.execute(USER, deposit("10.00"), "k1")
        store.append = failing_append  # type: ignore[method-assign]
        outcome = await ledger.execute(USER, deposit("5.00"), "k2")
        forgotten = ledger.users[USER].account is None
        store.append = original  # type: ignore[method-assign]
        return outcome, forgotten, await ledger.execute(USER, deposit("5.00"), "k2")

    outcome, forgotten, retried = run(flaky)

    assert isinstance(failed(outcome), StoreUnavailableError)
    assert forgotten
    assert balance_after(retried) == Decimal("15.00")
    assert not committed(retried).replayed
    assert seqs_in(store) == [1, 2]


def test_a_crash_between_commit_and_projection_is_repaired_by_the_restarted_shard() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    crashed = service(store, cache)

    def crash(record: EventRecord) -> None:
        raise SystemError("process died after the commit")

    async def crash_then_restart() -> Outcome:
        await crashed.execute(USER, deposit("100.00"), "k1")
        await crashed.flush()
        crashed.after_commit_hook = crash
        with pytest.raises(SystemError):
            await crashed.execute(USER, withdraw("40.00"), "k2")
        await crashed.flush()
        assert store.accounts[USER].version == 1  # committed, not projected
        restarted = service(store, cache)
        retry = await restarted.execute(USER, withdraw("40.00"), "k2")
        await restarted.flush()
        return retry

    retry = committed(run(crash_then_restart))

    assert retry.replayed
    assert balance_after(retry) == Decimal("60.00")
    assert seqs_in(store) == [1, 2]
    assert store.accounts[USER].version == 2
    assert balance_in(store) == Decimal("60.00")
    assert sorted(store.transactions[USER]) == [1, 2]
    assert store.transactions[USER][2].transaction_type == "WITHDRAW"
    assert cache.entries[keys.balance_cache_key(USER)][0] == 2


@pytest.mark.parametrize("lost", ["everything", "the account view"])
def test_a_half_written_projection_is_completed_by_the_restarted_shard(lost: str) -> None:
    store = InMemoryLedgerStore()
    first = service(store)

    async def scenario() -> None:
        await first.execute(USER, deposit("100.00"), "k1")
        await first.execute(USER, deposit("5.00"), "k2")
        await first.flush()
        # The rows are written before the account view (the watermark): a crash can lose the
        # view alone, or both; never the rows alone.
        store.accounts[USER] = replace(
            store.accounts[USER], version=1, balance=Decimal("100.00"), transaction_count=1
        )
        if lost == "everything":
            del store.transactions[USER][2]
        second = service(store)
        await second.execute(USER, deposit("1.00"), "k3")
        await second.flush()

    run(scenario)

    assert sorted(store.transactions[USER]) == [1, 2, 3]
    assert store.transactions[USER][2].amount == Decimal("5.00")
    assert (store.accounts[USER].version, store.accounts[USER].transaction_count) == (3, 3)
    assert balance_in(store) == Decimal("106.00")


def test_a_failed_read_model_write_is_retried_by_the_projector_and_the_reply_stands() -> None:
    store, cache = InMemoryLedgerStore(), VersionedCache()
    ledger = service(store, cache)

    async def fail_once() -> tuple[Outcome, int, bool]:
        await ledger.execute(USER, deposit("100.00"), "k1")
        await ledger.flush()
        store.fail_next_projection = True
        outcome = await ledger.execute(USER, deposit("20.00"), "k2")
        while ledger.projector.failures == 0:
            await asyncio.sleep(0)
        version_while_failing = store.accounts[USER].version
        pending = ledger.projector.has_pending(USER)
        await ledger.flush()
        return outcome, version_while_failing, pending

    outcome, version_while_failing, pending = run(fail_once)

    assert balance_after(outcome) == Decimal("120.00")
    assert version_while_failing == 1 and pending
    assert cache.entries[keys.balance_cache_key(USER)][1]["balance"] == "120.00"  # type: ignore[index]
    assert ledger.projector.failures == 1
    assert sorted(store.transactions[USER]) == [1, 2]
    assert (store.accounts[USER].version, balance_in(store)) == (2, Decimal("120.00"))
    assert not ledger.projector.has_pending(USER)
    assert ledger.users[USER].account is not None  # nothing to reload: the log was never wrong


class FailingReadModels(InMemoryLedgerStore):
    """Read-model writes that fail ``failures`` times, then succeed."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def write_rows(self, rows: Sequence[tuple[str, ReadModel]]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("write timed out")
        await super().write_rows(rows)


def test_read_models_written_while_a_retry_waits_are_coalesced_into_the_retry() -> None:
    store = FailingReadModels(failures=3)
    ledger = service(store)

    async def scenario() -> tuple[int, int]:
        for i in range(5):
            await ledger.execute(USER, deposit("1.00"), f"k{i}")
        backlog = ledger.projector.backlog
        await ledger.flush()
        return backlog, ledger.stats()["projection_backlog"]

    backlog, after = run(scenario)

    assert (backlog, after) == (1, 0)  # one user waiting, however many events
    assert ledger.projector.failures == 3
    assert sorted(store.transactions[USER]) == [1, 2, 3, 4, 5]
    assert (store.accounts[USER].version, balance_in(store)) == (5, Decimal("5.00"))


def test_a_snapshot_is_written_every_n_events() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, snapshot_every=3)

    async def seven() -> None:
        for i in range(7):
            await ledger.execute(USER, deposit("1.00"), f"k{i}")
        await ledger.flush()

    run(seven)

    snapshot = store.snapshots[USER]
    assert snapshot.account.version == 6
    assert snapshot.account.balance == Decimal("6.00")
    assert set(snapshot.receipts) == {f"k{i}" for i in range(6)}
    assert snapshot.receipts["k5"] == store.events[USER][6]


def test_refusals_count_towards_snapshots_and_are_kept_in_them() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, snapshot_every=2)

    async def scenario() -> Outcome:
        await ledger.execute(USER, deposit("1.00"), "k1")
        await ledger.execute(USER, withdraw("2.00"), "k2")
        await ledger.flush()
        return await service(store, snapshot_every=2).execute(USER, withdraw("2.00"), "k2")

    replay = run(scenario)

    assert store.snapshots[USER].account.version == 2
    assert store.snapshots[USER].receipts["k2"].event_type == REFUSED
    assert isinstance(replay, Refused) and replay.replayed


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
        await first.flush()
        store.events_after_calls.clear()
        second = service(store, snapshot_every=4)
        replay_before = await second.execute(USER, deposit("10.00"), "k1")
        replay_after = await second.execute(USER, deposit("10.00"), "k5")
        return replay_before, replay_after

    before, after = run(restart)

    assert store.events_after_calls == [4]
    assert committed(before).replayed  # its receipt came from the snapshot
    assert committed(after).replayed  # its receipt came from the log after it
    assert store.snapshots[USER].account.version == 4


def test_activation_reads_from_the_watermark_when_it_is_below_the_snapshot() -> None:
    store = SpyingStore()
    first = service(store, snapshot_every=2)

    async def restart() -> Account | None:
        for i in range(3):
            await first.execute(USER, deposit("1.00"), f"k{i}")
        await first.flush()
        store.accounts[USER] = replace(store.accounts[USER], version=1)  # views behind
        store.events_after_calls.clear()
        second = service(store, snapshot_every=2)
        await second.execute(USER, deposit("1.00"), "k3")
        await second.flush()
        return second.users[USER].account

    account = run(restart)

    assert store.events_after_calls == [1]
    assert account == rebuilt(store)
    assert store.accounts[USER].version == 4


def test_activation_from_snapshot_and_later_events_rebuilds_the_same_account() -> None:
    store = InMemoryLedgerStore()
    first = service(store, snapshot_every=3)
    history: list[Command] = [
        deposit("50.00"),
        withdraw("20.00"),
        deposit("5.55"),
        withdraw("0.55"),
        deposit("1"),
    ]

    async def restart() -> tuple[int, Account | None]:
        for i, command in enumerate(history):
            await first.execute(USER, command, f"k{i}")
        await first.flush()
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
        await ledger.flush()
        restarted = service(store, clock=clock, snapshot_every=3, receipts_ttl_s=3600)
        return await restarted.execute(USER, deposit("1.00"), "old")

    reused_after_expiry = committed(run(age))

    assert set(store.snapshots[USER].receipts) == {"recent", "newest"}
    assert set(ledger.users[USER].receipts) == {"recent", "newest"}
    assert not reused_after_expiry.replayed  # past retention, a key is new again
    assert seqs_in(store) == [1, 2, 3, 4]


def test_passivate_idle_drops_idle_users_only() -> None:
    store = GatedStore(gated={"busy"})
    ledger = service(store, idle_timeout_s=60)

    async def scenario() -> tuple[int, set[str], dict[str, Any]]:
        await ledger.execute("idle", deposit("1.00"), "k")
        await ledger.execute("recent", deposit("1.00"), "k")
        busy = asyncio.create_task(ledger.execute("busy", deposit("1.00"), "k"))
        await within(store.waiting.wait())
        await ledger.flush()
        ledger.users["idle"].last_used -= 120
        ledger.users["busy"].last_used -= 120
        dropped = ledger.passivate_idle()
        remaining = set(ledger.users)
        store.gate.set()
        await busy
        await ledger.flush()
        return dropped, remaining, ledger.stats()

    dropped, remaining, stats = run(scenario)

    assert dropped == 1
    assert remaining == {"recent", "busy"}
    assert stats == {"active_users": 2, "projection_backlog": 0}


def test_a_user_with_unwritten_read_models_is_not_passivated() -> None:
    store = FailingReadModels(failures=1)
    ledger = service(store, idle_timeout_s=0)

    async def scenario() -> tuple[int, int]:
        await ledger.execute(USER, deposit("1.00"), "k1")
        ledger.users[USER].last_used -= 1
        kept = ledger.passivate_idle()
        await ledger.flush()
        return kept, ledger.passivate_idle()

    assert run(scenario) == (0, 1)


def test_a_passivated_user_is_reloaded_from_the_store_on_next_use() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, idle_timeout_s=0)

    async def scenario() -> tuple[int, Outcome, Outcome]:
        await ledger.execute(USER, deposit("7.00"), "k1")
        await ledger.flush()
        ledger.users[USER].last_used -= 1
        dropped = ledger.passivate_idle()
        replay = await ledger.execute(USER, deposit("7.00"), "k1")
        return dropped, replay, await ledger.execute(USER, deposit("1.00"), "k2")

    dropped, replay, later = run(scenario)

    assert dropped == 1
    assert committed(replay).replayed
    assert balance_after(later) == Decimal("8.00")


amounts = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
commands = st.lists(
    st.tuples(st.sampled_from([Deposit, Withdraw]), amounts, st.booleans()), max_size=25
)
NO_DAILY_LIMITS: dict[str, Any] = {
    "daily_deposit_limit": Decimal(10**7),
    "daily_withdrawal_limit": Decimal(10**7),
}


def same_answer(first: Outcome, second: Outcome) -> bool:
    if isinstance(first, Committed):
        return second == replace(first, replayed=True)
    assert isinstance(first, Refused)
    return (
        isinstance(second, Refused)
        and second.replayed
        and second.seq == first.seq
        and type(second.error) is type(first.error)
        and second.error.args == first.error.args
    )


@settings(deadline=None, max_examples=60)
@given(commands, st.integers(min_value=2, max_value=6))
def test_any_history_through_the_service_is_exact_idempotent_and_rebuildable(
    history: list[tuple[type[Deposit] | type[Withdraw], Decimal, bool]], snapshot_every: int
) -> None:
    store = InMemoryLedgerStore()
    ledger = service(store, snapshot_every=snapshot_every, **NO_DAILY_LIMITS)

    async def play() -> tuple[Decimal, Account | None]:
        expected = Decimal(0)
        for i, (command_type, amount, retried) in enumerate(history):
            outcome = await ledger.execute(USER, command_type(amount), f"k{i}")
            if retried:  # a client retry of the same request never applies again
                repeat = await ledger.execute(USER, command_type(amount), f"k{i}")
                assert same_answer(outcome, repeat)
            if isinstance(outcome, Committed):
                expected += amount if command_type is Deposit else -amount
            else:
                assert isinstance(refused(outcome), InsufficientFundsError)
            assert expected >= 0
        await ledger.execute(USER, Deposit(Decimal("0.01")), "last")
        await ledger.flush()
        restarted = service(store, snapshot_every=snapshot_every, **NO_DAILY_LIMITS)
        await restarted.execute(USER, Deposit(Decimal("0.01")), "probe")
        await restarted.flush()
        return expected + Decimal("0.01"), restarted.users[USER].account

    expected, after_restart = run(play)

    assert rebuilt(store).balance == expected + Decimal("0.01")
    assert after_restart == rebuilt(store)
    assert balance_in(store) == expected + Decimal("0.01")
    assert store.accounts[USER].version == len(seqs_in(store)) == len(history) + 2
    assert store.accounts[USER].transaction_count == types_in(store).count("Deposited") + types_in(
        store
    ).count("Withdrew")


class SnapshotFailingStore(InMemoryLedgerStore):
    async def save_snapshot(self, snapshot: Snapshot) -> None:
        raise ConnectionError("snapshot write timed out")


def test_a_failed_snapshot_loses_nothing_and_activation_replays_the_whole_log() -> None:
    store = SnapshotFailingStore()
    ledger = service(store, snapshot_every=2)

    async def scenario() -> tuple[list[Outcome], Account | None]:
        outcomes = [await ledger.execute(USER, deposit("1.00"), f"k{i}") for i in range(3)]
        await ledger.flush()
        restarted = service(store, snapshot_every=2)
        outcomes.append(await restarted.execute(USER, deposit("1.00"), "k1"))
        return outcomes, restarted.users[USER].account

    outcomes, reloaded = run(scenario)

    assert [str(balance_after(o)) for o in outcomes[:3]] == ["1.00", "2.00", "3.00"]
    assert committed(outcomes[3]).replayed
    assert store.snapshots == {}
    assert reloaded == rebuilt(store)
    assert balance_in(store) == Decimal("3.00")
    assert ledger.projector.failures == 0  # a failed snapshot is not a failed round


def test_the_stored_payload_of_a_commit_is_its_event() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    outcome = committed(run(lambda: ledger.execute(USER, deposit("3.00"), "k1")))

    assert store.events[USER][1].payload == event_to_payload(outcome.event)


def test_a_ledger_without_a_price_feed_fails_every_order_and_records_nothing() -> None:
    store = InMemoryLedgerStore()
    ledger = service(store)

    async def scenario() -> Outcome:
        await ledger.execute(USER, deposit("100.00"), "k1")
        return await ledger.execute(USER, PlaceMarketOrder("buy", "BTC", Decimal("0.01")), "k2")

    error = failed(run(scenario))

    assert isinstance(error, PriceUnavailableError)
    assert error.asset_id == "BTC"
    assert types_in(store) == ["Deposited"]
