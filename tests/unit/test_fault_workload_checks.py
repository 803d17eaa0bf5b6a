"""The checks of the bank-style fault workload (bench/faults.py) catch what they are for: a lost,
a duplicated or a negative movement, and a 5xx that is not a 503 near a fault."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from bench.faults import (
    FAULT_WINDOW_S,
    Account,
    AccountCheck,
    Attempt,
    Tally,
    book,
    check_answers,
    compare,
    next_operation,
    signed,
)
from cluster.faults import FaultTimeline

D = Decimal


def movement(kind: str, amount: str, after: str = "1.00", tid: str | None = None) -> dict[str, Any]:
    return {
        "transaction_id": tid or f"{kind}-{amount}-{after}",
        "transaction_type": kind,
        "amount": amount,
        "balance_after": after,
    }


def account_with(*movements: str, held: str = "0") -> Account:
    account = Account("alice", {})
    account.movements = [D(m) for m in movements]
    account.cash = sum(account.movements, D(0))
    account.held = D(held)
    return account


def test_signed_movements_by_type_and_an_unknown_type_is_an_error() -> None:
    assert signed(movement("DEPOSIT", "10.00")) == D("10.00")
    assert signed(movement("ORDER_SALE", "3.50")) == D("3.50")
    assert signed(movement("WITHDRAW", "4.00")) == D("-4.00")
    assert signed(movement("ORDER_PAYMENT", "2.25")) == D("-2.25")
    with pytest.raises(KeyError):
        signed(movement("REFUND", "1.00"))


def test_a_stored_account_that_matches_the_applied_operations_passes() -> None:
    account = account_with("100.00", "-40.00", held="0.002")
    check = AccountCheck()
    history = [movement("DEPOSIT", "100.00", "100.00"), movement("ORDER_PAYMENT", "40.00", "60.00")]

    compare(check, account, D("60.00"), D("0.002"), history)

    assert check == AccountCheck()


def test_a_movement_missing_from_the_history_is_lost_and_the_balance_is_flagged() -> None:
    account = account_with("100.00", "25.00")
    check = AccountCheck()

    compare(check, account, D("100.00"), D(0), [movement("DEPOSIT", "100.00", "100.00")])

    assert (check.lost, check.duplicated, check.negative) == (1, 0, 0)
    assert len(check.problems) == 2  # the history and the balance


def test_a_movement_applied_twice_is_a_duplicate() -> None:
    account = account_with("100.00")
    check = AccountCheck()
    history = [movement("DEPOSIT", "100.00", "100.00"), movement("DEPOSIT", "100.00", "200.00")]

    compare(check, account, D("200.00"), D(0), history)

    assert (check.lost, check.duplicated) == (0, 1)


def test_the_same_transaction_listed_twice_is_a_duplicate() -> None:
    account = account_with("5.00", "5.00")
    check = AccountCheck()
    twice = movement("DEPOSIT", "5.00", "5.00", tid="t1")

    compare(check, account, D("10.00"), D(0), [twice, twice])

    assert check.duplicated == 1


def test_a_negative_balance_after_any_movement_is_flagged_though_the_end_is_positive() -> None:
    account = account_with("-5.00", "10.00")
    check = AccountCheck()
    history = [movement("WITHDRAW", "5.00", "-5.00"), movement("DEPOSIT", "10.00", "5.00")]

    compare(check, account, D("5.00"), D(0), history)

    assert check.negative == 2  # the account flagged, and one movement below 0


def attempt(status: int, at: float, **kw: Any) -> Attempt:
    fields: dict[str, Any] = {"problem_json": True, "retry_after": "1", "code": None}
    return Attempt("deposit", status, at, at + 0.1, **{**fields, **kw})


def test_a_503_problem_with_retry_after_near_a_fault_is_accepted() -> None:
    timeline = FaultTimeline()
    timeline.add("dynamodb_cut", 100.0, 102.0)
    tally = Tally(attempts=[attempt(201, 50.0), attempt(503, 101.0), attempt(503, 106.0)])

    assert check_answers(tally, timeline) == []


def test_5xx_far_from_a_fault_or_not_a_503_problem_with_retry_after_are_flagged() -> None:
    timeline = FaultTimeline()
    timeline.add("shard_kill", 100.0)
    far = 100.0 + FAULT_WINDOW_S + 1
    tally = Tally(
        attempts=[
            attempt(503, far),  # too late
            attempt(503, 50.0),  # before any fault
            attempt(500, 100.5),  # a 500 is a bug, fault or not
            attempt(503, 100.5, retry_after=None),
            attempt(503, 100.5, problem_json=False),
            attempt(0, 100.5),  # a dropped connection
            attempt(401, 100.5, code="authentication_failed"),
        ]
    )

    problems = check_answers(tally, timeline)

    assert len(problems) == 7, problems


def test_business_refusals_are_not_problems_and_unfinished_operations_are() -> None:
    tally = Tally(attempts=[attempt(409, 1.0, code="insufficient_funds")])
    assert check_answers(tally, FaultTimeline()) == []
    tally.unfinished.append("deposit for alice")
    assert len(check_answers(tally, FaultTimeline())) == 1


def test_booking_an_order_moves_cash_and_holding_and_a_negative_answer_is_recorded() -> None:
    account, tally = Account("bob", {}), Tally()
    order = {"data": {"total_amount": "30.00", "quantity": "0.003"}}

    book(account, "market_buy", {}, order, tally)
    book(
        account, "market_sell", {}, {"data": {"total_amount": "10.00", "quantity": "0.001"}}, tally
    )
    book(account, "deposit", {"amount": "5.00"}, {"balance": "-15.00"}, tally)

    assert (account.cash, account.held) == (D("-15.00"), D("0.002"))
    assert account.movements == [D("-30.00"), D("10.00"), D("5.00")]
    assert tally.applied == {"market_buy": 1, "market_sell": 1, "deposit": 1}
    assert len(tally.negatives) == 1


def test_the_random_operations_are_all_valid_requests() -> None:
    rng = random.Random(3)
    seen = set()
    for _ in range(400):
        op, path, body = next_operation(rng)
        seen.add(op)
        if path.endswith(("deposit", "withdraw")):
            assert D(body["amount"]) > 0 and D(body["amount"]).as_tuple().exponent == -2
        else:
            assert body["order_type"] == op and D(body["quantity"]) > 0
    assert seen == {"deposit", "withdraw", "market_buy", "market_sell"}
