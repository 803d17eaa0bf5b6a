"""JSON encodings (decimals as strings, never floats), the projection and the read-model views."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import Account, DailyTotals
from actors.domain.events import Deposited, Withdrew
from actors.ledger.codec import (
    account_from_dict,
    account_to_dict,
    event_from_payload,
    event_to_payload,
    receipt_from_dict,
    receipt_to_dict,
)
from actors.ledger.projection import project
from actors.ledger.records import BalanceView, EventRecord, Receipt, TransactionView
from actors.ledger.views import (
    balance_view_dict,
    balance_view_from_dict,
    transaction_view_dict,
    transaction_view_from_dict,
)

AT = datetime(2024, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
money = st.decimals(min_value=0, max_value=10**9, places=2)


def a_receipt(**overrides: object) -> Receipt:
    fields: dict[str, object] = {
        "idempotency_key": "client-k1",
        "request_hash": "abc123",
        "status_code": 201,
        "body": {"balance": "10.00", "version": 1},
        "at": AT.isoformat(),
    }
    fields.update(overrides)
    return Receipt(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event",
    [
        Deposited("tx-1", Decimal("10.50"), Decimal("110.50"), AT),
        Withdrew("tx-2", Decimal("0.01"), Decimal("0.00"), AT),
    ],
)
def test_an_event_survives_its_json_payload(event: Deposited | Withdrew) -> None:
    payload = json.loads(json.dumps(event_to_payload(event)))

    assert event_from_payload(event.kind, payload) == event
    assert payload["amount"] == str(event.amount)


def test_payload_amounts_are_strings_that_keep_their_places() -> None:
    payload = event_to_payload(Deposited("tx", Decimal("10.10"), Decimal("20.00"), AT))

    assert (payload["amount"], payload["balance_after"]) == ("10.10", "20.00")


def test_an_unknown_event_type_is_not_silently_decoded() -> None:
    payload = event_to_payload(Deposited("tx", Decimal(1), Decimal(1), AT))

    with pytest.raises(KeyError):
        event_from_payload("Teleported", payload)


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


def test_a_receipt_survives_its_json_form_without_the_replayed_flag() -> None:
    original = a_receipt(replayed=True)

    data = json.loads(json.dumps(receipt_to_dict(original)))

    assert "replayed" not in data
    assert receipt_from_dict(data) == a_receipt(replayed=False)


def test_the_projection_of_a_deposit_writes_its_transaction_and_the_balance_after_it() -> None:
    event = Deposited("tx-9", Decimal("5.00"), Decimal("15.00"), AT)
    record = EventRecord("alice", 9, "Deposited", event_to_payload(event), a_receipt())
    after = Account("alice", Decimal("15.00"), Decimal("2.00"), 9, 9)

    projection = project(record, after)

    assert projection.username == "alice"
    assert projection.transaction == TransactionView(
        9, "tx-9", "DEPOSIT", Decimal("5.00"), Decimal("15.00"), "COMPLETED", AT.isoformat()
    )
    assert projection.balance == BalanceView(
        "alice", Decimal("15.00"), Decimal("2.00"), 9, 9, AT.isoformat()
    )


def test_the_projection_of_a_withdrawal_is_typed_withdraw() -> None:
    event = Withdrew("tx-3", Decimal("1.00"), Decimal("0.00"), AT)
    record = EventRecord("bob", 3, "Withdrew", event_to_payload(event), a_receipt())

    projection = project(record, Account("bob", Decimal("0.00"), version=3, transaction_count=3))

    assert projection.transaction.transaction_type == "WITHDRAW"
    assert projection.balance.version == 3


@given(money, money, st.integers(min_value=0, max_value=10**9))
def test_a_balance_view_survives_its_json_form(
    balance: Decimal, held: Decimal, version: int
) -> None:
    view = BalanceView("alice", balance, held, version, version, AT.isoformat())

    data = json.loads(json.dumps(balance_view_dict(view)))

    assert balance_view_from_dict(data) == view
    assert data["balance"] == str(balance)


@given(money, money, st.integers(min_value=1, max_value=10**9))
def test_a_transaction_view_survives_its_json_form(
    amount: Decimal, after: Decimal, seq: int
) -> None:
    view = TransactionView(seq, "tx", "WITHDRAW", amount, after, "COMPLETED", AT.isoformat())

    data = json.loads(json.dumps(transaction_view_dict(view)))

    assert transaction_view_from_dict(data) == view
    assert isinstance(data["amount"], str)
