"""Every error of the rules and of the ledger survives a pickle round trip (a trip between Ray
workers) with its type, arguments, attributes and message."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest

from actors.domain.errors import (
    DailyLimitExceededError,
    DomainError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidAmountError,
    InvalidOrderError,
    OrderNotCancellableError,
    OrderNotFillableError,
    OrderRejectedError,
)
from actors.ledger.errors import (
    IdempotencyKeyReusedError,
    LedgerError,
    RequestInFlightError,
    UserExistsError,
)
from actors.market.errors import CatalogueUnavailableError, PriceUnavailableError
from actors.operations.registry import UnknownOperationError
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.users.store import ProfileChangedError

ERRORS: list[tuple[Exception, dict[str, object]]] = [
    (DomainError("refused"), {}),
    (
        InvalidAmountError("The amount is not a decimal number."),
        {"reason": "The amount is not a decimal number."},
    ),
    (
        InsufficientFundsError(Decimal("10.01"), Decimal("10.00")),
        {"requested": Decimal("10.01"), "available": Decimal("10.00")},
    ),
    (
        DailyLimitExceededError("withdrawal", Decimal("5000.00"), Decimal("4999.99")),
        {"kind": "withdrawal", "limit": Decimal("5000.00"), "used": Decimal("4999.99")},
    ),
    (
        InsufficientHoldingsError("BTC", Decimal("0.5"), Decimal("0.25")),
        {"asset_id": "BTC", "requested": Decimal("0.5"), "available": Decimal("0.25")},
    ),
    (
        OrderRejectedError("The order's value must be at most 10000.00."),
        {"reason": "The order's value must be at most 10000.00."},
    ),
    (
        InvalidOrderError("quantity", "The quantity must be at least 0.001."),
        {"field": "quantity", "reason": "The quantity must be at least 0.001."},
    ),
    (OrderNotCancellableError("o-1"), {"order_id": "o-1"}),
    (
        OrderNotFillableError("o-2", "The order is not open."),
        {"order_id": "o-2", "reason": "The order is not open."},
    ),
    (LedgerError("not run"), {}),
    (IdempotencyKeyReusedError("client-k1"), {"key": "client-k1"}),
    (RequestInFlightError("client-k2"), {"key": "client-k2"}),
    (StoreUnavailableError("put_item: timeout"), {"reason": "put_item: timeout"}),
    (SequenceTakenError("alice", 7), {"username": "alice", "seq": 7}),
    (UserExistsError("email"), {"field": "email"}),
    (ProfileChangedError(), {}),
    (
        PriceUnavailableError("BTC", 1.5, "no price published yet"),
        {"asset_id": "BTC", "retry_after_s": 1.5, "reason": "no price published yet"},
    ),
    (CatalogueUnavailableError("scan failed"), {"reason": "scan failed"}),
    (UnknownOperationError("no operation for command str"), {}),
]
# The separate channels: refusals and bad input of the rules, failures of the ledger's
# orchestration, and infrastructure conditions (each its own base, never a DomainError).
CHANNELS: list[type[Exception]] = [DomainError, LedgerError]
INFRASTRUCTURE = [
    StoreUnavailableError,
    SequenceTakenError,
    PriceUnavailableError,
    CatalogueUnavailableError,
    UnknownOperationError,
]


@pytest.mark.parametrize(("error", "attributes"), ERRORS, ids=[type(e).__name__ for e, _ in ERRORS])
def test_an_error_survives_a_pickle_round_trip(
    error: Exception, attributes: dict[str, object]
) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert copy.args == error.args
    assert str(copy) == str(error)
    assert {name: getattr(copy, name) for name in attributes} == attributes


def subclasses(cls: type[Exception]) -> set[type[Exception]]:
    found = set(cls.__subclasses__())
    return found | {sub for child in found for sub in subclasses(child)}


def test_every_error_class_of_the_rules_and_the_ledger_is_covered() -> None:
    classes = {*CHANNELS, *INFRASTRUCTURE}
    classes |= {sub for cls in CHANNELS for sub in subclasses(cls)}

    assert classes <= {type(error) for error, _ in ERRORS}


def test_the_ledgers_own_errors_are_ledger_errors_not_refusals() -> None:
    for cls in (IdempotencyKeyReusedError, RequestInFlightError):
        assert issubclass(cls, LedgerError)
        assert not issubclass(cls, DomainError)


@pytest.mark.parametrize("cls", INFRASTRUCTURE)
def test_infrastructure_errors_are_neither_refusals_nor_ledger_errors(
    cls: type[Exception],
) -> None:
    assert not issubclass(cls, DomainError | LedgerError)


def test_bad_input_is_a_value_error_and_a_refusal_is_not() -> None:
    for bad_input in (InvalidAmountError, InvalidOrderError, OrderRejectedError):
        assert issubclass(bad_input, DomainError) and issubclass(bad_input, ValueError)
    for refusal in (InsufficientFundsError, DailyLimitExceededError, InsufficientHoldingsError):
        assert issubclass(refusal, DomainError) and not issubclass(refusal, ValueError)


def test_an_insufficient_funds_message_does_not_reveal_the_amounts() -> None:
    message = str(InsufficientFundsError(Decimal("123.45"), Decimal("67.89")))

    assert "123.45" not in message
    assert "67.89" not in message


def test_an_insufficient_holdings_message_names_the_asset_not_the_quantities() -> None:
    message = str(InsufficientHoldingsError("ETH", Decimal("2.12345678"), Decimal("1.87654321")))

    assert "ETH" in message
    assert "2.12345678" not in message
    assert "1.87654321" not in message


def test_a_daily_limit_message_never_shows_a_negative_remainder() -> None:
    message = str(DailyLimitExceededError("deposit", Decimal("100.00"), Decimal("150.00")))

    assert message == (
        "The daily deposit limit of 100.00 would be exceeded; 0 remains for today (UTC)."
    )


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (IdempotencyKeyReusedError("k"), "use a new key"),
        (RequestInFlightError("k"), "retry shortly"),
        (StoreUnavailableError("boom"), "retry with the same Idempotency-Key"),
        (PriceUnavailableError("BTC", 2.0, "stale"), "retry in 2 s"),
        (UserExistsError("username"), "That username is already registered."),
    ],
)
def test_ledger_error_messages_tell_the_reader_what_to_do(error: Exception, advice: str) -> None:
    assert advice in str(error)


def test_a_store_unavailable_message_does_not_leak_the_underlying_reason() -> None:
    assert "secret-host" not in str(StoreUnavailableError("connect to secret-host failed"))
