"""``Operation``: everything the ledger needs to know about one kind of operation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from actors.domain.accounts import Account
from actors.domain.context import Context
from actors.store.records import ReadModel

C = TypeVar("C")
E = TypeVar("E")


@dataclass(frozen=True)
class Operation(Generic[C, E]):
    """One kind of operation.

    Attributes:
        command_type: the command that asks for it.
        event_type: the event it records (its ``kind`` is the stored type name).
        validate: the checks of the request alone (bad input: answered 422, never recorded).
        decide: the rule, from the account and the command to the event, or a ``DomainError``
            refusal (recorded against the idempotency key like a success).
        apply: the event's effect on the account (the ledger sets the version).
        read_models: the history rows the event adds (transactions, orders, asset movements);
            the account view is written for every event by the ledger itself.
        live_event: the type of the live event published with the event's JSON form.
    """

    command_type: type[C]
    event_type: type[E]
    validate: Callable[[C, Context], None]
    decide: Callable[[Account, C, Context], E]
    apply: Callable[[Account, E], Account]
    read_models: Callable[[E, int], tuple[ReadModel, ...]]
    live_event: str

    @property
    def event_name(self) -> str:
        """The event's stored type name."""
        name: str = getattr(self.event_type, "kind")  # noqa: B009 - a class attribute of E
        return name


AnyOperation = Operation[Any, Any]
