"""A small circuit breaker: after repeated failures, skip a dependency for a while."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; lets one trial through after
    ``reset_after_s``; closes again on the first success."""

    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        """Whether calls should skip the dependency now."""
        if self._opened_at is None:
            return False
        if self._clock() - self._opened_at >= self._reset_after_s:
            self._opened_at = self._clock()  # half-open: one trial, then wait again
            return False
        return True

    def record_success(self) -> None:
        """The dependency answered: close."""
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        """The dependency failed or was too slow."""
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()


async def guarded(breaker: CircuitBreaker, call: Awaitable[T]) -> T | None:
    """Await ``call`` unless ``breaker`` is open; any failure counts against it and is None
    (Redis is an optimization: a failed call behaves like a miss or a no-op)."""
    if breaker.is_open:
        close = getattr(call, "close", None)
        if close:
            close()
        return None
    try:
        result = await call
    except Exception as error:  # noqa: BLE001 - any Redis failure degrades to a miss
        breaker.record_failure()
        log.debug("redis call failed: %s", error)
        return None
    breaker.record_success()
    return result
