"""What one ledger operation reports to ``Telemetry``, derived from its command and outcome in
one place (``LedgerService.execute`` calls ``record_outcome`` once per operation)."""

from __future__ import annotations

import re

from actors.domain.errors import DomainError
from actors.domain.events import LimitOrderFilled, OrderFilled
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.telemetry import COMMITTED, FAILED, REFUSED, REPLAYED, Telemetry

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def result_of(outcome: Outcome) -> str:
    """The ``result`` tag: committed, refused, failed, or replayed (an earlier answer again)."""
    if isinstance(outcome, Failed):
        return FAILED
    if outcome.replayed:
        return REPLAYED
    return COMMITTED if isinstance(outcome, Committed) else REFUSED


def refusal_reason(error: DomainError) -> str:
    """The ``reason`` tag: the refusal's stored name in snake case without ``Error``
    (``InsufficientFundsError`` -> ``insufficient_funds``). Only the few recordable refusals
    (``actors.operations.codec.REFUSALS``) reach here, so the tag has a handful of values."""
    name = type(error).__name__.removesuffix("Error")
    return _WORD_START.sub("_", name).lower()


def filled_order_type(event: object) -> str | None:
    """The order type an event fills (``market_buy``, ``limit_sell``...), None if no fill."""
    if isinstance(event, OrderFilled):
        return event.order_type
    if isinstance(event, LimitOrderFilled):
        return event.order.order_type
    return None


def record_outcome(telemetry: Telemetry, command: object, outcome: Outcome, seconds: float) -> None:
    """Report one finished operation: its kind, result and latency; an order's type; a fresh
    refusal's reason; a fresh fill (a replay repeats an answer, it refuses or fills nothing)."""
    result = result_of(outcome)
    telemetry.operation(getattr(command, "kind", type(command).__name__), result, seconds)
    order_type = getattr(command, "order_type", None)
    if order_type is not None:
        telemetry.order(order_type, result)
    if isinstance(outcome, Refused) and not outcome.replayed:
        telemetry.refused(refusal_reason(outcome.error))
    if isinstance(outcome, Committed) and not outcome.replayed:
        filled = filled_order_type(outcome.event)
        if filled is not None:
            telemetry.filled(filled)
