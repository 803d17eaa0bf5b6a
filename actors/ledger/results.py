"""What the ledger answers: domain results, never HTTP shapes (``serve/`` makes those)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.domain.errors import DomainError


@dataclass(frozen=True)
class Committed:
    """The operation happened: ``event`` is recorded as sequence number ``seq``."""

    seq: int
    event: Any
    replayed: bool = False


@dataclass(frozen=True)
class Refused:
    """The rules refused the operation; the refusal is recorded as ``seq`` against its key, so a
    retry gets the same answer."""

    seq: int
    error: DomainError
    replayed: bool = False


@dataclass(frozen=True)
class Failed:
    """Nothing was recorded: bad input, a reused or in-flight key, or a store or price source
    that is unavailable (then the outcome of a commit may be unknown: retry with the same key)."""

    error: Exception


Outcome = Committed | Refused | Failed
