"""Errors of the ledger's orchestration (as opposed to the money rules' refusals): a channel of
their own, ``LedgerError``, never a ``DomainError``."""

from __future__ import annotations

from actors.domain.errors import DomainError


class LedgerError(Exception):
    """A request the ledger could not run; nothing was recorded."""


class IdempotencyKeyReusedError(LedgerError):
    """The same Idempotency-Key was sent with a different request body."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return "This Idempotency-Key was already used with a different request; use a new key."


class RequestInFlightError(LedgerError):
    """A request with this Idempotency-Key is still being processed."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return "A request with this Idempotency-Key is still in progress; retry shortly."


class UserExistsError(DomainError):
    """The username or the email address is already registered."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field

    def __str__(self) -> str:
        return f"That {self.field} is already registered."
