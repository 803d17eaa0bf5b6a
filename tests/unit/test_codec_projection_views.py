"""JSON encodings (decimals as strings, never floats), the operation registry, the projection
and the read-model views."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import Account, DailyTotals
from actors.domain.commands import Deposit, PlaceMarketOrder, Withdraw
from actors.domain.errors import (
    DailyLimitExceededError,
    DomainError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidAmountError,
)
from actors.domain.events import (
    Deposited,
    LimitOrderFilled,
    LimitOrderPlaced,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    Withdrew,
)
from actors.domain.holdings import Holding
from actors.ledger.projection import account_from_view, account_view, apply_record, project
from actors.operations.codec import (
    REFUSED,
    event_from_payload,
    event_to_payload,
    refusal_from_payload,
    refusal_to_payload,
)
from actors.operations.registry import OPERATIONS, UnknownOperationError, for_command, for_event
from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    HoldingView,
    OrderView,
    TransactionView,
)
from actors.store.views import (
    account_from_dict,
    account_to_dict,
    account_view_dict,
    account_view_from_dict,
    view_dict,
    view_from_dict,
)

AT = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
money = st.decimals(min_value=0, max_value=10**9, places=2)
quantities = st.decimals(min_value=0, max_value=10**6, places=8)
FILL = OrderFilled(
    "order-1",
    "client-1",
    "buy",
    "BTC",
    Decimal("0.50000000"),
    Decimal("40000.12345678"),
    Decimal("20000.07"),
    Decimal("79999.93"),
    Decimal("0.50000000"),
    AT,
)


def record(
    username: str, seq: int, event_type: str, payload: dict[str, Any], key: str = "client-k1"
) -> EventRecord:
    return EventRecord(username, seq, event_type, payload, key, "abc123", AT.isoformat())


def event_record(username: str, seq: int, event: Deposited | Withdrew | OrderFilled) -> EventRecord:
    return record(username, seq, event.kind, event_to_payload(event))


@pytest.mark.parametrize(
    "event",
    [
        Deposited("tx-1", Decimal("10.50"), Decimal("110.50"), AT),
        Withdrew("tx-2", Decimal("0.01"), Decimal("0.00"), AT),
        FILL,
    ],
)
def test_an_event_survives_its_json_payload(event: Deposited | Withdrew | OrderFilled) -> None:
    payload = json.loads(json.dumps(event_to_payload(event)))

    assert event_from_payload(event.kind, payload) == event
    assert payload["amount"] == str(event.amount)


def test_payload_amounts_are_strings_that_keep_their_places() -> None:
    payload = event_to_payload(Deposited("tx", Decimal("10.10"), Decimal("20.00"), AT))

    assert (payload["amount"], payload["balance_after"]) == ("10.10", "20.00")


def test_an_unknown_event_type_is_not_silently_decoded() -> None:
    payload = event_to_payload(Deposited("tx", Decimal(1), Decimal(1), AT))

    with pytest.raises(UnknownOperationError, match="Teleported"):
        event_from_payload("Teleported", payload)


def test_every_operation_is_registered_under_its_command_and_its_event_name() -> None:
    assert {op.event_name: op.event_type for op in OPERATIONS} == {
        "Deposited": Deposited,
        "Withdrew": Withdrew,
        "OrderFilled": OrderFilled,
        "LimitOrderPlaced": LimitOrderPlaced,
        "LimitOrderFilled": LimitOrderFilled,
        "OrderCancelled": OrderCancelled,
        "OrderExpired": OrderExpired,
    }
    assert for_command(Deposit(Decimal(1))).event_type is Deposited
    assert for_command(Withdraw(Decimal(1))).event_type is Withdrew
    assert for_command(PlaceMarketOrder("buy", "BTC", Decimal(1))).event_type is OrderFilled
    assert all(for_event(op.event_name) is op for op in OPERATIONS)


def test_an_unknown_command_has_no_operation() -> None:
    with pytest.raises(UnknownOperationError, match="str"):
        for_command("deposit 5")


@pytest.mark.parametrize(
    "refusal",
    [
        InsufficientFundsError(Decimal("10.01"), Decimal("10.00")),
        DailyLimitExceededError("withdrawal", Decimal("5000.00"), Decimal("4999.99")),
        InsufficientHoldingsError("BTC", Decimal("0.50000000"), Decimal("0.1")),
    ],
)
def test_a_refusal_survives_its_json_payload_with_its_type_arguments_and_message(
    refusal: DomainError,
) -> None:
    payload = json.loads(json.dumps(refusal_to_payload(refusal)))
    back = refusal_from_payload(payload)

    assert payload["error"] == type(refusal).__name__
    assert type(back) is type(refusal)
    assert back.args == refusal.args
    assert [str(a) for a in back.args] == [str(a) for a in refusal.args]  # places kept
    assert str(back) == str(refusal)


def test_only_the_recordable_refusals_can_be_stored() -> None:
    with pytest.raises(TypeError, match="InvalidAmountError"):
        refusal_to_payload(InvalidAmountError("bad input is never recorded"))


@given(
    money,
    money,
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.dates().map(lambda d: d.isoformat()),
    money,
    money,
)
def test_an_account_survives_its_json_form_exactly(
    balance: Decimal,
    held: Decimal,
    version: int,
    count: int,
    day: str,
    deposited: Decimal,
    withdrawn: Decimal,
) -> None:
    account = Account(
        "alice", balance, held, version, count, DailyTotals(day, deposited, withdrawn)
    )

    data = json.loads(json.dumps(account_to_dict(account)))
    back = account_from_dict(data)

    assert back == account
    assert str(back.balance) == str(balance)
    assert str(back.today.withdrawn) == str(withdrawn)


@given(quantities, quantities, money)
def test_an_account_with_holdings_survives_its_json_form_exactly(
    quantity: Decimal, held: Decimal, cost: Decimal
) -> None:
    holdings = {"BTC": Holding(quantity, held, cost, AT, AT), "ETH": Holding(quantity)}
    account = Account("alice", Decimal("1.00"), holdings=holdings)

    back = account_from_dict(json.loads(json.dumps(account_to_dict(account))))

    assert back == account
    assert str(back.holding("BTC").quantity) == str(quantity)
    assert back.holding("ETH").opened_at is None


def test_the_projection_of_a_deposit_writes_its_transaction_and_the_account_after_it() -> None:
    event = Deposited("tx-9", Decimal("5.00"), Decimal("15.00"), AT)
    after = Account("alice", Decimal("15.00"), Decimal("2.00"), 9, 9)

    projection = project(event_record("alice", 9, event), after)

    assert projection.username == "alice"
    assert projection.rows == (
        TransactionView(
            9, "tx-9", "DEPOSIT", Decimal("5.00"), Decimal("15.00"), "COMPLETED", AT.isoformat()
        ),
    )
    assert projection.account == AccountView(
        "alice", Decimal("15.00"), Decimal("2.00"), 9, 9, AT.isoformat(), {}
    )


def test_the_projection_of_a_withdrawal_is_typed_withdraw() -> None:
    event = Withdrew("tx-3", Decimal("1.00"), Decimal("0.00"), AT)

    projection = project(event_record("bob", 3, event), Account("bob", Decimal("0.00"), version=3))

    assert [row.transaction_type for row in projection.rows] == ["WITHDRAW"]  # type: ignore[union-attr]
    assert projection.account.version == 3


def test_the_projection_of_a_fill_writes_the_payment_the_order_and_the_asset_movement() -> None:
    after = Account("alice", Decimal("79999.93"), version=4, transaction_count=2)

    transaction, order, movement = project(event_record("alice", 4, FILL), after).rows

    assert isinstance(transaction, TransactionView)
    assert (transaction.transaction_type, transaction.order_id) == ("ORDER_PAYMENT", "order-1")
    assert isinstance(order, OrderView)
    assert (order.order_type, order.status, order.total_amount) == (
        "market_buy",
        "completed",
        Decimal("20000.07"),
    )
    assert isinstance(movement, AssetTransactionView)
    assert (movement.transaction_type, movement.seq, movement.holding_after) == (
        "BUY",
        4,
        Decimal("0.50000000"),
    )


def test_the_projection_of_a_refusal_writes_no_row_only_the_account_at_its_version() -> None:
    refused = record(
        "alice", 2, REFUSED, refusal_to_payload(InsufficientFundsError(Decimal(2), Decimal(1)))
    )
    after = Account("alice", Decimal("1.00"), version=2, transaction_count=1)

    projection = project(refused, after)

    assert projection.rows == ()
    assert (projection.account.version, projection.account.balance) == (2, Decimal("1.00"))


def test_applying_a_record_applies_its_event_and_sets_the_version_to_its_seq() -> None:
    start = Account("alice", Decimal("10.00"), version=4, transaction_count=4)
    event = Deposited("tx", Decimal("5.00"), Decimal("15.00"), AT)

    after = apply_record(start, event_record("alice", 7, event))

    assert (after.balance, after.version, after.transaction_count) == (Decimal("15.00"), 7, 5)


def test_applying_a_refusal_moves_only_the_version() -> None:
    start = Account("alice", Decimal("10.00"), version=4, transaction_count=4)
    refusal = InsufficientFundsError(Decimal("20.00"), Decimal("10.00"))

    after = apply_record(start, record("alice", 5, REFUSED, refusal_to_payload(refusal)))

    assert after == Account("alice", Decimal("10.00"), version=5, transaction_count=4)


def test_an_account_view_lists_the_holdings_sorted_and_comes_back_as_an_account() -> None:
    account = Account(
        "alice",
        Decimal("10.00"),
        Decimal("1.00"),
        3,
        2,
        DailyTotals("2024-03-01", Decimal("10.00")),
        {
            "ETH": Holding(Decimal("2"), Decimal("0"), Decimal("4000.00"), AT, AT),
            "BTC": Holding(Decimal("0.5"), Decimal("0.1"), Decimal("20000.00")),
        },
    )

    view = account_view(account, AT.isoformat())
    back = account_from_view(view)

    assert list(view.holdings) == ["BTC", "ETH"]
    assert view.holdings["ETH"] == HoldingView(
        "ETH", Decimal("2"), Decimal("0"), Decimal("4000.00"), AT.isoformat(), AT.isoformat()
    )
    assert view.holdings["BTC"].created_at is None
    assert back == replace(account, today=DailyTotals())  # reads need no daily totals


@given(money, money, st.integers(min_value=0, max_value=10**9), quantities)
def test_an_account_view_survives_its_json_form(
    balance: Decimal, held: Decimal, version: int, quantity: Decimal
) -> None:
    holding = HoldingView("BTC", quantity, Decimal("0E-8"), balance, AT.isoformat(), None)
    view = AccountView("alice", balance, held, version, version, AT.isoformat(), {"BTC": holding})

    data = json.loads(json.dumps(account_view_dict(view)))

    assert account_view_from_dict(data) == view
    assert data["balance"] == str(balance)
    assert data["holdings"]["BTC"]["quantity"] == str(quantity)


@given(money, money, st.integers(min_value=1, max_value=10**9), st.none() | st.just("order-7"))
def test_a_transaction_view_survives_its_json_form(
    amount: Decimal, after: Decimal, seq: int, order_id: str | None
) -> None:
    view = TransactionView(
        seq, "tx", "WITHDRAW", amount, after, "COMPLETED", AT.isoformat(), order_id
    )

    data = json.loads(json.dumps(view_dict(view)))

    assert view_from_dict(TransactionView, data) == view
    assert isinstance(data["amount"], str)
    assert data["order_id"] == order_id
