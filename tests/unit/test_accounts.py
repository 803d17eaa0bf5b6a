"""The cash account's rules: decide (event or refusal), then apply; replay rebuilds the account."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import (
    Account,
    CashLimits,
    DailyTotals,
    apply,
    decide,
    ensure_sufficient_funds,
    utc_day,
)
from actors.domain.commands import Command, Deposit, Withdraw, request_fingerprint
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError
from actors.domain.events import EVENT_TYPES, Deposited, Event, Withdrew

NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = CashLimits()


def account(**overrides: object) -> Account:
    fields: dict[str, object] = {"username": "alice"}
    fields.update(overrides)
    return Account(**fields)  # type: ignore[arg-type]


def run(
    start: Account, command: Command, at: datetime = NOON, limits: CashLimits = LIMITS
) -> Account:
    event = decide(start, command, "tx", at, limits)
    return apply(start, event, start.version + 1)


def test_a_deposit_adds_to_the_balance_and_records_the_new_balance() -> None:
    start = account(balance=Decimal("10.00"))

    event = decide(start, Deposit(Decimal("5.50")), "tx-1", NOON, LIMITS)

    assert event == Deposited("tx-1", Decimal("5.50"), Decimal("15.50"), NOON)
    assert start.balance == Decimal("10.00")  # decide never mutates


def test_a_withdrawal_takes_from_the_balance_and_records_the_new_balance() -> None:
    start = account(balance=Decimal("10.00"))

    event = decide(start, Withdraw(Decimal("4.00")), "tx-2", NOON, LIMITS)

    assert event == Withdrew("tx-2", Decimal("4.00"), Decimal("6.00"), NOON)


def test_a_withdrawal_of_the_whole_balance_is_allowed() -> None:
    after = run(account(balance=Decimal("25.00")), Withdraw(Decimal("25.00")))

    assert after.balance == Decimal("0.00")


def test_a_withdrawal_larger_than_the_balance_is_refused() -> None:
    start = account(balance=Decimal("10.00"))

    with pytest.raises(InsufficientFundsError) as refusal:
        decide(start, Withdraw(Decimal("10.01")), "tx", NOON, LIMITS)

    assert refusal.value.requested == Decimal("10.01")
    assert refusal.value.available == Decimal("10.00")


def test_a_withdrawal_cannot_take_cash_held_by_open_orders() -> None:
    start = account(balance=Decimal("100.00"), held=Decimal("80.00"))

    with pytest.raises(InsufficientFundsError) as refusal:
        decide(start, Withdraw(Decimal("20.01")), "tx", NOON, LIMITS)

    assert start.available == Decimal("20.00")
    assert refusal.value.available == Decimal("20.00")


def test_ensure_sufficient_funds_accepts_exactly_the_available_cash() -> None:
    ensure_sufficient_funds(account(balance=Decimal("3.00"), held=Decimal("1.00")), Decimal("2.00"))


def test_a_deposit_past_the_daily_deposit_limit_is_refused() -> None:
    start = run(account(), Deposit(Decimal("9000.00")))

    with pytest.raises(DailyLimitExceededError) as refusal:
        decide(start, Deposit(Decimal("1000.01")), "tx", NOON, LIMITS)

    assert (refusal.value.kind, refusal.value.limit, refusal.value.used) == (
        "deposit",
        Decimal("10000.00"),
        Decimal("9000.00"),
    )
    assert "1000.00 remains" in str(refusal.value)


def test_a_deposit_reaching_exactly_the_daily_limit_is_allowed() -> None:
    start = run(account(), Deposit(Decimal("9000.00")))

    after = run(start, Deposit(Decimal("1000.00")))

    assert after.today.deposited == Decimal("10000.00")


def test_a_withdrawal_past_the_daily_withdrawal_limit_is_refused_even_with_funds() -> None:
    start = run(account(balance=Decimal("9000.00")), Withdraw(Decimal("4000.00")))

    with pytest.raises(DailyLimitExceededError, match=r"daily withdrawal limit of 5000\.00"):
        decide(start, Withdraw(Decimal("1000.01")), "tx", NOON, LIMITS)


def test_insufficient_funds_is_reported_before_the_daily_limit() -> None:
    start = account(balance=Decimal("10.00"))

    with pytest.raises(InsufficientFundsError):
        decide(start, Withdraw(Decimal("6000.00")), "tx", NOON, LIMITS)


def test_the_daily_limits_reset_on_a_new_utc_day() -> None:
    limits = CashLimits(daily_deposit=Decimal("100.00"), daily_withdrawal=Decimal("50.00"))
    late = datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    start = run(account(), Deposit(Decimal("100.00")), late, limits)
    start = run(start, Withdraw(Decimal("50.00")), late, limits)
    with pytest.raises(DailyLimitExceededError):
        decide(start, Deposit(Decimal("0.01")), "tx", late, limits)

    after = run(start, Deposit(Decimal("100.00")), late + timedelta(seconds=1), limits)
    after = run(after, Withdraw(Decimal("50.00")), late + timedelta(seconds=1), limits)

    assert after.today == DailyTotals("2024-03-02", Decimal("100.00"), Decimal("50.00"))
    assert after.balance == Decimal("100.00")


def test_the_daily_totals_are_kept_within_the_same_day() -> None:
    totals = DailyTotals("2024-03-01", Decimal("5.00"), Decimal("1.00"))

    assert totals.on("2024-03-01") is totals
    assert totals.on("2024-03-02") == DailyTotals("2024-03-02")


def test_utc_day_is_the_iso_calendar_date() -> None:
    assert utc_day(datetime(2024, 12, 31, 23, 59, tzinfo=UTC)) == "2024-12-31"
    assert utc_day(datetime(2025, 1, 1, 0, 0, tzinfo=UTC)) == "2025-01-01"


def test_apply_records_the_version_and_counts_the_transaction() -> None:
    start = account(balance=Decimal("1.00"), version=4, transaction_count=4)

    after = apply(start, Withdrew("tx", Decimal("1.00"), Decimal("0.00"), NOON), 5)

    assert (after.balance, after.version, after.transaction_count) == (Decimal("0.00"), 5, 5)
    assert after.today == DailyTotals("2024-03-01", Decimal("0.00"), Decimal("1.00"))


def test_an_account_is_immutable() -> None:
    with pytest.raises(FrozenInstanceError):
        account().balance = Decimal(1)  # type: ignore[misc]


def test_the_request_fingerprint_ignores_trailing_zeros_but_not_kind_or_amount() -> None:
    assert request_fingerprint(Deposit(Decimal("10"))) == request_fingerprint(
        Deposit(Decimal("10.00"))
    )
    assert request_fingerprint(Deposit(Decimal("10"))) != request_fingerprint(
        Withdraw(Decimal("10"))
    )
    assert request_fingerprint(Deposit(Decimal("10"))) != request_fingerprint(
        Deposit(Decimal("10.01"))
    )
    assert len(request_fingerprint(Deposit(Decimal("1")))) == 64


def test_every_event_kind_is_registered_under_its_own_name() -> None:
    assert {name: cls.kind for name, cls in EVENT_TYPES.items()} == {
        "Deposited": "Deposited",
        "Withdrew": "Withdrew",
    }
    assert (Deposit.kind, Withdraw.kind) == ("deposit", "withdraw")


cents = st.integers(min_value=1, max_value=600_000).map(lambda c: Decimal(c) / 100)
operations = st.lists(
    st.tuples(st.sampled_from([Deposit, Withdraw]), cents, st.integers(0, 30)), max_size=40
)


@given(operations)
def test_any_sequence_keeps_the_balance_non_negative_and_equal_to_what_was_accepted(
    ops: list[tuple[type[Deposit] | type[Withdraw], Decimal, int]],
) -> None:
    limits = CashLimits(daily_deposit=Decimal("8000.00"), daily_withdrawal=Decimal("3000.00"))
    state, at = account(), NOON
    deposited = withdrawn = Decimal(0)
    day, day_in, day_out = utc_day(at), Decimal(0), Decimal(0)
    events: list[Event] = []
    for command_type, amount, hours_later in ops:
        at += timedelta(hours=hours_later)
        if utc_day(at) != day:
            day, day_in, day_out = utc_day(at), Decimal(0), Decimal(0)
        if command_type is Deposit:
            expected_ok = day_in + amount <= limits.daily_deposit
        else:
            expected_ok = amount <= state.balance and day_out + amount <= limits.daily_withdrawal
        try:
            event = decide(state, command_type(amount), f"tx-{len(events)}", at, limits)
        except (InsufficientFundsError, DailyLimitExceededError):
            assert not expected_ok
            continue
        assert expected_ok
        state = apply(state, event, state.version + 1)
        events.append(event)
        if command_type is Deposit:
            deposited, day_in = deposited + amount, day_in + amount
        else:
            withdrawn, day_out = withdrawn + amount, day_out + amount
        assert state.balance >= 0
        assert event.balance_after == state.balance

    assert state.balance == deposited - withdrawn
    assert (state.version, state.transaction_count) == (len(events), len(events))
    replayed = account()
    for seq, event in enumerate(events, start=1):
        replayed = apply(replayed, event, seq)
    assert replayed == state


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100),
)
def test_a_day_at_the_withdrawal_limit_allows_nothing_more_until_the_next_utc_midnight(
    at: datetime, amount: Decimal
) -> None:
    limits = CashLimits(daily_withdrawal=Decimal("5000.00"))
    rich = account(balance=Decimal("100000.00"))
    spent = run(rich, Withdraw(Decimal("5000.00")), at, limits)
    midnight = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), UTC)

    with pytest.raises(DailyLimitExceededError):
        decide(spent, Withdraw(amount), "tx", midnight - timedelta(microseconds=1), limits)
    event = decide(spent, Withdraw(amount), "tx", midnight, limits)

    assert event.balance_after == Decimal("95000.00") - amount
