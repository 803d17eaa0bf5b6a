"""The registry: every operation, found by its command's type or its event's stored name.

An unknown command or event type is an error (``UnknownOperationError``), never a default.
"""

from __future__ import annotations

from actors.operations.base import AnyOperation
from actors.operations.cash import DEPOSIT, WITHDRAW
from actors.operations.limit_orders import CANCEL_ORDER, EXPIRE_ORDER, FILL_ORDER, LIMIT_ORDER
from actors.operations.orders import MARKET_ORDER
from actors.store.records import OrderView

OPERATIONS: tuple[AnyOperation, ...] = (
    DEPOSIT,
    WITHDRAW,
    MARKET_ORDER,
    LIMIT_ORDER,
    FILL_ORDER,
    CANCEL_ORDER,
    EXPIRE_ORDER,
)
_BY_COMMAND = {op.command_type: op for op in OPERATIONS}
_BY_EVENT = {op.event_name: op for op in OPERATIONS}


class UnknownOperationError(LookupError):
    """A command or stored event type no operation is registered for."""


def for_command(command: object) -> AnyOperation:
    """The operation ``command`` asks for."""
    try:
        return _BY_COMMAND[type(command)]
    except KeyError:
        raise UnknownOperationError(f"no operation for command {type(command).__name__}") from None


def for_event(event_type: str) -> AnyOperation:
    """The operation that records events named ``event_type``."""
    try:
        return _BY_EVENT[event_type]
    except KeyError:
        raise UnknownOperationError(f"no operation records events of type {event_type!r}") from None


def order_view_of(event: object, seq: int) -> OrderView:
    """The order read model an order event records (what the order endpoints answer with).

    Raises:
        UnknownOperationError: the event records no order.
    """
    operation = for_event(getattr(event, "kind", ""))
    for row in operation.read_models(event, seq):
        if isinstance(row, OrderView):
            return row
    raise UnknownOperationError(f"{type(event).__name__} records no order")
