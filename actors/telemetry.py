"""``Telemetry``: the port through which the application reports its own business metrics.

The ledger, the read path and the routes call it without knowing where the numbers go, so they
stay free of Ray (``actors.ray_metrics.RayTelemetry`` is the one implementation on
``ray.util.metrics``) and unit tests run with ``NullTelemetry`` or a recording double. Every
call is in-process and cheap: it never adds a store or Redis call to the operation it counts.
Tag values come from small fixed sets (operation kinds, order types, refusal names, results),
never from user data, so the number of series stays bounded.
"""

from __future__ import annotations

from typing import Protocol

# The result of one ledger operation (the ``result`` tag).
COMMITTED = "committed"
REFUSED = "refused"
FAILED = "failed"
REPLAYED = "replayed"
RESULTS = (COMMITTED, REFUSED, FAILED, REPLAYED)


class Telemetry(Protocol):
    """What the application counts and measures."""

    def operation(self, kind: str, result: str, seconds: float) -> None:
        """One ledger operation of ``kind`` (``deposit``, ``market_order``...) ended with
        ``result`` (one of ``RESULTS``) after ``seconds``, the wait for the user's lock
        included."""

    def order(self, order_type: str, result: str) -> None:
        """One order request (``market_buy``, ``limit_sell``...) ended with ``result``."""

    def filled(self, order_type: str) -> None:
        """An order of ``order_type`` filled (a market order at once, a limit order later)."""

    def refused(self, reason: str) -> None:
        """The rules refused an operation for ``reason`` (``insufficient_funds``...)."""

    def version_conflict(self) -> None:
        """A commit found its sequence number taken by another writer (then reload, retry)."""

    def cache(self, read: str, hit: bool) -> None:
        """A read of ``read`` (``balance``, ``transactions``) hit or missed the Redis cache."""

    def active_users(self, count: int) -> None:
        """The shard now hosts ``count`` active (not passivated) users."""

    def sse_subscribers(self, delta: int) -> None:
        """A live-event stream opened (+1) or closed (-1) on this replica."""


class NullTelemetry:
    """Telemetry that records nothing: the default wherever no metrics backend is wired."""

    def operation(self, kind: str, result: str, seconds: float) -> None:
        return None

    def order(self, order_type: str, result: str) -> None:
        return None

    def filled(self, order_type: str) -> None:
        return None

    def refused(self, reason: str) -> None:
        return None

    def version_conflict(self) -> None:
        return None

    def cache(self, read: str, hit: bool) -> None:
        return None

    def active_users(self, count: int) -> None:
        return None

    def sse_subscribers(self, delta: int) -> None:
        return None
