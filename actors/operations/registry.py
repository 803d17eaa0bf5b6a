"""The registry: every operation, found by its command's type or its event's stored name.

An unknown command or event type is an error (``UnknownOperationError``), never a default.
"""

from __future__ import annotations

from typing import TypeVar

from actors.operations.base import AnyOperation
from actors.operations.cash import DEPOSIT, WITHDRAW
from actors.operations.limit_orders import CANCEL_ORDER, EXPIRE_ORDER, FILL_ORDER, LIMIT_ORDER
from actors.operations.orders import MARKET_ORDER
from actors.store.records import OrderView, ReadModel, TransactionView

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


# The read model a live event of each type carries: the row its event writes of that class, so
# a stream shows an order or a payment exactly as the order and history endpoints do.
LIVE_VIEWS: dict[str, type[OrderView] | type[TransactionView]] = {
    "order": OrderView,
    "transaction": TransactionView,
}
V = TypeVar("V", bound=OrderView | TransactionView)


def view_of(event: object, seq: int, cls: type[V]) -> V:
    """The read model of class ``cls`` that ``event`` (at ``seq``) records.

    Raises:
        UnknownOperationError: the event records none of that class.
    """
    operation = for_event(getattr(event, "kind", ""))
    for row in operation.read_models(event, seq):
        if isinstance(row, cls):
            return row
    raise UnknownOperationError(f"{type(event).__name__} records no {cls.__name__}")


def order_view_of(event: object, seq: int) -> OrderView:
    """The order read model an order event records (what the order endpoints answer with)."""
    return view_of(event, seq, OrderView)


def live_view_of(event: object, seq: int) -> tuple[str, ReadModel]:
    """The live event ``event`` publishes: its type and the read model it carries."""
    kind = for_event(getattr(event, "kind", "")).live_event
    return kind, view_of(event, seq, LIVE_VIEWS[kind])
