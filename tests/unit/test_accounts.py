"""The cash account's rules: validate, decide (event or refusal), then apply; replay rebuilds the
account."""

from __future__ import annotations

import itertools
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import (
    Account,
    DailyTotals,
    apply_deposited,
    apply_withdrew,
    decide_deposit,
    decide_withdraw,
    ensure_sufficient_funds,
    utc_day,
    validate_cash,
)
from actors.domain.commands import Deposit, Withdraw, request_fingerprint
from actors.domain.context import Context
from actors.domain.errors import DailyLimitExceededError, InsufficientFundsError, InvalidAmountError
from actors.domain.events import Deposited, Withdrew
from actors.domain.limits import CashLimits, OrderLimits

NOON = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = CashLimits(Decimal("0.01"), Decimal("1000000.00"), Decimal("10000.00"), Decimal("5000.00"))
ORDER_LIMITS = OrderLimits(Decimal("0.001"), Decimal("10000.00"), Decimal("0.01"), 100)


def no_price(asset_id: str) -> Decimal:
    raise AssertionError("the cash rules never ask for a price")


def ctx(at: datetime = NOON, limits: CashLimits = LIMITS, new_id: str = "tx") -> Context:
    return Context(at, lambda: new_id, limits, ORDER_LIMITS, no_price)


def account(**overrides: object) -> Account:
    fields: dict[str, object] = {"username": "alice"}
    fields.update(overrides)
    return Account(**fields)  # type: ignore[arg-type]


def run(
    start: Account, command: Deposit | Withdraw, at: datetime = NOON, limits: CashLimits = LIMITS
) -> Account:
    if isinstance(command, Deposit):
        return apply_deposited(start, decide_deposit(start, command, ctx(at, limits)))
    return apply_withdrew(start, decide_withdraw(start, command, ctx(at, limits)))


def test_a_deposit_adds_to_the_balance_and_records_the_new_balance() -> None:
    start = account(balance=Decimal("10.00"))

    event = decide_deposit(start, Deposit(Decimal("5.50")), ctx(new_id="tx-1"))

    assert event == Deposited("tx-1", Decimal("5.50"), Decimal("15.50"), NOON)
    assert start.balance == Decimal("10.00")  # decide never mutates


def test_a_withdrawal_takes_from_the_balance_and_records_the_new_balance() -> None:
    start = account(balance=Decimal("10.00"))

    event = decide_withdraw(start, Withdraw(Decimal("4.00")), ctx(new_id="tx-2"))

    assert event == Withdrew("tx-2", Decimal("4.00"), Decimal("6.00"), NOON)


def test_each_decision_takes_a_new_id_from_the_context() -> None:
    numbers = itertools.count(1)
    context = replace(ctx(), new_id=lambda: f"tx-{next(numbers)}")
    start = account(balance=Decimal("10.00"))

    first = decide_deposit(start, Deposit(Decimal("1.00")), context)
    second = decide_withdraw(start, Withdraw(Decimal("1.00")), context)

    assert (first.transaction_id, second.transaction_id) == ("tx-1", "tx-2")


def test_a_withdrawal_of_the_whole_balance_is_allowed() -> None:
    after = run(account(balance=Decimal("25.00")), Withdraw(Decimal("25.00")))

    assert after.balance == Decimal("0.00")


def test_a_withdrawal_larger_than_the_balance_is_refused() -> None:
    start = account(balance=Decimal("10.00"))

    with pytest.raises(InsufficientFundsError) as refusal:
        decide_withdraw(start, Withdraw(Decimal("10.01")), ctx())

    assert refusal.value.requested == Decimal("10.01")
    assert refusal.value.available == Decimal("10.00")


def test_a_withdrawal_cannot_take_cash_held_by_open_orders() -> None:
    start = account(balance=Decimal("100.00"), held=Decimal("80.00"))

    with pytest.raises(InsufficientFundsError) as refusal:
        decide_withdraw(start, Withdraw(Decimal("20.01")), ctx())

    assert start.available == Decimal("20.00")
    assert refusal.value.available == Decimal("20.00")


def test_ensure_sufficient_funds_accepts_exactly_the_available_cash() -> None:
    ensure_sufficient_funds(account(balance=Decimal("3.00"), held=Decimal("1.00")), Decimal("2.00"))


def test_a_deposit_past_the_daily_deposit_limit_is_refused() -> None:
    start = run(account(), Deposit(Decimal("9000.00")))

    with pytest.raises(DailyLimitExceededError) as refusal:
        decide_deposit(start, Deposit(Decimal("1000.01")), ctx())

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
        decide_withdraw(start, Withdraw(Decimal("1000.01")), ctx())


def test_insufficient_funds_is_reported_before_the_daily_limit() -> None:
    start = account(balance=Decimal("10.00"))

    with pytest.raises(InsufficientFundsError):
        decide_withdraw(start, Withdraw(Decimal("6000.00")), ctx())


def test_the_daily_limits_reset_on_a_new_utc_day() -> None:
    limits = replace(LIMITS, daily_deposit=Decimal("100.00"), daily_withdrawal=Decimal("50.00"))
    late = datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    start = run(account(), Deposit(Decimal("100.00")), late, limits)
    start = run(start, Withdraw(Decimal("50.00")), late, limits)
    with pytest.raises(DailyLimitExceededError):
        decide_deposit(start, Deposit(Decimal("0.01")), ctx(late, limits))

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


def test_apply_counts_the_transaction_and_leaves_the_version_to_the_ledger() -> None:
    start = account(balance=Decimal("1.00"), version=4, transaction_count=4)

    after = apply_withdrew(start, Withdrew("tx", Decimal("1.00"), Decimal("0.00"), NOON))

    assert (after.balance, after.version, after.transaction_count) == (Decimal("0.00"), 4, 5)
    assert after.today == DailyTotals("2024-03-01", Decimal("0.00"), Decimal("1.00"))


def test_apply_deposited_adds_to_the_balance_and_the_days_deposits() -> None:
    start = account(balance=Decimal("2.00"), version=1, transaction_count=1)

    after = apply_deposited(start, Deposited("tx", Decimal("3.00"), Decimal("5.00"), NOON))

    assert (after.balance, after.version, after.transaction_count) == (Decimal("5.00"), 1, 2)
    assert after.today == DailyTotals("2024-03-01", Decimal("3.00"), Decimal("0.00"))


@pytest.mark.parametrize("command_type", [Deposit, Withdraw])
@pytest.mark.parametrize("amount", ["0.01", "1000000.00", "5", "10.000", "1E+2"])
def test_an_amount_in_range_with_at_most_two_places_passes_validation(
    command_type: type[Deposit] | type[Withdraw], amount: str
) -> None:
    validate_cash(command_type(Decimal(amount)), LIMITS)


@pytest.mark.parametrize("command_type", [Deposit, Withdraw])
@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "between 0.01 and 1000000.00"),
        ("-5.00", "between 0.01 and 1000000.00"),
        ("0.009", "between 0.01 and 1000000.00"),
        ("1000000.01", "between 0.01 and 1000000.00"),
        ("1.001", "more than 2 decimal places"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
    ],
)
def test_an_amount_out_of_range_too_precise_or_not_finite_is_invalid(
    command_type: type[Deposit] | type[Withdraw], amount: str, reason: str
) -> None:
    with pytest.raises(InvalidAmountError, match=reason):
        validate_cash(command_type(Decimal(amount)), LIMITS)


def test_validation_uses_the_limits_it_is_given() -> None:
    narrow = replace(LIMITS, min_amount=Decimal("5.00"), max_amount=Decimal("10.00"))

    validate_cash(Deposit(Decimal("10.00")), narrow)
    with pytest.raises(InvalidAmountError, match=r"between 5\.00 and 10\.00"):
        validate_cash(Deposit(Decimal("4.99")), narrow)


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


def test_the_cash_commands_and_events_are_named() -> None:
    assert (Deposit.kind, Withdraw.kind) == ("deposit", "withdraw")
    assert (Deposited.kind, Withdrew.kind) == ("Deposited", "Withdrew")


cents = st.integers(min_value=1, max_value=600_000).map(lambda c: Decimal(c) / 100)
operations = st.lists(
    st.tuples(st.sampled_from([Deposit, Withdraw]), cents, st.integers(0, 30)), max_size=40
)


@given(operations)
def test_any_sequence_keeps_the_balance_non_negative_and_equal_to_what_was_accepted(
    ops: list[tuple[type[Deposit] | type[Withdraw], Decimal, int]],
) -> None:
    limits = replace(LIMITS, daily_deposit=Decimal("8000.00"), daily_withdrawal=Decimal("3000.00"))
    state, at = account(), NOON
    deposited = withdrawn = Decimal(0)
    day, day_in, day_out = utc_day(at), Decimal(0), Decimal(0)
    events: list[Deposited | Withdrew] = []
    for command_type, amount, hours_later in ops:
        at += timedelta(hours=hours_later)
        if utc_day(at) != day:
            day, day_in, day_out = utc_day(at), Decimal(0), Decimal(0)
        if command_type is Deposit:
            expected_ok = day_in + amount <= limits.daily_deposit
        else:
            expected_ok = amount <= state.balance and day_out + amount <= limits.daily_withdrawal
        context = ctx(at, limits, f"tx-{len(events)}")
        event: Deposited | Withdrew
        try:
            if command_type is Deposit:
                event = decide_deposit(state, Deposit(amount), context)
            else:
                event = decide_withdraw(state, Withdraw(amount), context)
        except (InsufficientFundsError, DailyLimitExceededError):
            assert not expected_ok
            continue
        assert expected_ok
        state = replay(state, event)
        events.append(event)
        if command_type is Deposit:
            deposited, day_in = deposited + amount, day_in + amount
        else:
            withdrawn, day_out = withdrawn + amount, day_out + amount
        assert state.balance >= 0
        assert event.balance_after == state.balance

    assert state.balance == deposited - withdrawn
    assert state.transaction_count == len(events)
    replayed = account()
    for event in events:
        replayed = replay(replayed, event)
    assert replayed == state


def replay(state: Account, event: Deposited | Withdrew) -> Account:
    if isinstance(event, Deposited):
        return apply_deposited(state, event)
    return apply_withdrew(state, event)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100),
)
def test_a_day_at_the_withdrawal_limit_allows_nothing_more_until_the_next_utc_midnight(
    at: datetime, amount: Decimal
) -> None:
    rich = account(balance=Decimal("100000.00"))
    spent = run(rich, Withdraw(Decimal("5000.00")), at)
    midnight = datetime.combine(at.date() + timedelta(days=1), datetime.min.time(), UTC)

    with pytest.raises(DailyLimitExceededError):
        decide_withdraw(spent, Withdraw(amount), ctx(midnight - timedelta(microseconds=1)))
    event = decide_withdraw(spent, Withdraw(amount), ctx(midnight))

    assert event.balance_after == Decimal("95000.00") - amount
