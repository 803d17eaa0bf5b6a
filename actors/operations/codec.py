"""Stored forms of the operations: events and refusals as JSON payloads (pydantic's
``TypeAdapter`` over the domain dataclasses: decimals as strings, never floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors.domain.errors import (
    DailyLimitExceededError,
    DomainError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    OrderNotCancellableError,
)
from actors.operations.registry import for_event
from actors.store.records import JsonDict
from actors.store.views import adapter

REFUSED = "Refused"
REFUSALS: dict[str, type[DomainError]] = {
    cls.__name__: cls
    for cls in (
        InsufficientFundsError,
        InsufficientHoldingsError,
        DailyLimitExceededError,
        OrderNotCancellableError,
    )
}


def event_to_payload(event: object) -> JsonDict:
    """The event's fields as JSON-safe values."""
    payload: JsonDict = adapter(type(event)).dump_python(event, mode="json")
    return payload


def event_from_payload(event_type: str, payload: JsonDict) -> Any:
    """Rebuild an event from its stored type name and payload."""
    return adapter(for_event(event_type).event_type).validate_python(payload)


def refusal_to_payload(error: DomainError) -> JsonDict:
    """A refusal as JSON: its class name and its constructor arguments."""
    name = type(error).__name__
    if name not in REFUSALS:
        raise TypeError(f"{name} is not a recordable refusal")
    args = [{"decimal": str(a)} if isinstance(a, Decimal) else a for a in error.args]
    return {"error": name, "args": args}


def refusal_from_payload(payload: JsonDict) -> DomainError:
    """Rebuild a refusal stored by ``refusal_to_payload``."""
    args = [Decimal(a["decimal"]) if isinstance(a, dict) else a for a in payload["args"]]
    return REFUSALS[payload["error"]](*args)
