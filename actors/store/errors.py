"""Errors of the store: unreachable, or a sequence number another writer took."""

from __future__ import annotations


class StoreUnavailableError(Exception):
    """The store could not be reached or did not answer in time; the outcome may be unknown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return "The ledger store is unavailable; retry with the same Idempotency-Key."


class SequenceTakenError(Exception):
    """Another writer already appended this sequence number: reload and decide again."""

    def __init__(self, username: str, seq: int) -> None:
        super().__init__(username, seq)
        self.username = username
        self.seq = seq
