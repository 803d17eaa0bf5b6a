"""One log line per ledger operation, written by the shard: what was asked, how it ended, how
long it took, for which user and which request (the id the ingress sent with it).

The line is the shard's half of a request's trail: the ingress's half is Serve's access log
line with the same ``request_id`` (docs/operations.md, "Logs").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from actors.domain.commands import Command
from actors.ledger.results import Committed, Outcome, Refused
from actors.logs import get_logger, operation_context

log = get_logger("actors.shard")


def result_of(outcome: Outcome) -> tuple[str, str | None]:
    """``committed``, ``replayed``, ``refused`` or ``failed``, and the error's type if any."""
    if isinstance(outcome, Committed):
        return ("replayed" if outcome.replayed else "committed"), None
    if isinstance(outcome, Refused):
        return ("replayed" if outcome.replayed else "refused"), type(outcome.error).__name__
    return "failed", type(outcome.error).__name__


async def logged_operation(
    command: Command,
    run: Callable[[], Awaitable[Outcome]],
    user: str,
    request_id: str | None = None,
) -> Outcome:
    """Await ``run()`` with ``user`` and ``request_id`` bound for every line it logs (``run`` is
    called inside, so the tasks it starts carry them too), then log the operation once."""
    with operation_context(request_id, user):
        started = time.perf_counter()
        try:
            outcome = await run()
        except Exception:
            ms = round((time.perf_counter() - started) * 1000, 2)
            log.exception("ledger operation", kind=command.kind, result="error", ms=ms)
            raise
        ms = round((time.perf_counter() - started) * 1000, 2)
        result, error = result_of(outcome)
        fields = {"error": error} if error else {}
        log.info("ledger operation", kind=command.kind, result=result, ms=ms, **fields)
        return outcome
