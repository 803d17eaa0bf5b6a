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
    InvalidAmountError,
)
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError, UserExistsError
from actors.store.errors import SequenceTakenError, StoreUnavailableError

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
    (IdempotencyKeyReusedError("client-k1"), {"key": "client-k1"}),
    (RequestInFlightError("client-k2"), {"key": "client-k2"}),
    (StoreUnavailableError("put_item: timeout"), {"reason": "put_item: timeout"}),
    (SequenceTakenError("alice", 7), {"username": "alice", "seq": 7}),
    (UserExistsError("email"), {"field": "email"}),
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


def test_every_error_class_of_the_rules_and_the_ledger_is_covered() -> None:
    classes = {DomainError, *DomainError.__subclasses__(), SequenceTakenError}
    classes |= {sub for cls in list(classes) for sub in cls.__subclasses__()}

    assert classes <= {type(error) for error, _ in ERRORS}


def test_the_refusals_are_domain_errors_and_a_taken_sequence_is_not() -> None:
    refusals = [type(e) for e, _ in ERRORS if not isinstance(e, SequenceTakenError)]

    assert all(issubclass(cls, DomainError) for cls in refusals)
    assert not issubclass(SequenceTakenError, DomainError)


def test_an_insufficient_funds_message_does_not_reveal_the_amounts() -> None:
    message = str(InsufficientFundsError(Decimal("123.45"), Decimal("67.89")))

    assert "123.45" not in message
    assert "67.89" not in message


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
        (UserExistsError("username"), "That username is already registered."),
    ],
)
def test_ledger_error_messages_tell_the_reader_what_to_do(error: Exception, advice: str) -> None:
    assert advice in str(error)


def test_a_store_unavailable_message_does_not_leak_the_underlying_reason() -> None:
    assert "secret-host" not in str(StoreUnavailableError("connect to secret-host failed"))
