"""From the ledger's domain results to HTTP: the one place a result becomes a status."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from actors.ledger.results import Committed, Outcome
from serve.problems import problem_for

REPLAYED_HEADER = "Idempotent-Replayed"


def committed_or_raise(outcome: Outcome) -> Committed:
    """The committed result, or the problem of a refusal or a failure raised."""
    if isinstance(outcome, Committed):
        return outcome
    raise problem_for(outcome.error)


def created(body: dict[str, Any], replayed: bool) -> JSONResponse:
    """201 with ``body``; a replay of an earlier request says so in a header."""
    return answered(body, replayed, 201)


def answered(body: dict[str, Any], replayed: bool, status: int = 200) -> JSONResponse:
    """``status`` with ``body``; a replay of an earlier request says so in a header."""
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    return JSONResponse(body, status_code=status, headers=headers)
