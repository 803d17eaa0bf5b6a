"""What the ledger tells the matcher: the open orders each commit opens and closes.

A shard reports the difference in a user's open orders after every commit (and all of a
user's open orders on activation, which repairs a report lost to a crash); the matcher's
index is built from these reports and from the store's open-orders index.
"""

from __future__ import annotations

from typing import Protocol

from actors.domain.reservations import OpenOrder
from actors.matching.book import IndexedOrder


def indexed(username: str, order: OpenOrder) -> IndexedOrder:
    """The matcher's entry of ``username``'s open ``order``."""
    return IndexedOrder(
        username, order.order_id, order.side, order.asset_id, order.limit_price, order.expires_at
    )


class OrderIndexSink(Protocol):
    """Where a shard reports open orders (fire and forget: it never blocks a commit)."""

    def changed(self, opened: list[IndexedOrder], closed: list[str]) -> None:
        """``opened`` are open now, the order ids in ``closed`` are final."""


class NullOrderIndex:
    """Reports to nobody (unit tests of the ledger alone)."""

    def changed(self, opened: list[IndexedOrder], closed: list[str]) -> None:
        """Drop the report."""
