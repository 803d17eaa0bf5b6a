"""``OpenOrderBook``: the open limit orders of every user, by asset and limit price.

It lives in the matcher, outside any user's actor, so a tick finds the orders it crosses with
two binary searches instead of visiting users: per asset, buys sorted by limit price from the
highest (a price ``p`` crosses every buy with a limit at or above ``p``: a prefix) and sells
from the lowest (every sell at or below ``p``: a prefix). Expiries sit in a heap.

It is an index, never the truth: an entry may outlive its order (the owner's actor then refuses
the fill and the entry is dropped), and the book is rebuilt from the store after a restart.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from actors.domain.commands import Side


@dataclass(frozen=True)
class IndexedOrder:
    """What the matcher needs of an open order: whose, which side, what limit, until when."""

    username: str
    order_id: str
    side: Side
    asset_id: str
    limit_price: Decimal
    expires_at: datetime | None = None

    def crosses(self, price: Decimal) -> bool:
        """Whether ``price`` lets this order fill."""
        return price <= self.limit_price if self.side == "buy" else price >= self.limit_price


class OpenOrderBook:
    """Open orders indexed by asset and limit price, and by expiry."""

    def __init__(self) -> None:
        self._orders: dict[str, IndexedOrder] = {}
        # per asset and side: sorted (sort key, order id); buys keyed by -limit (highest first)
        self._sides: dict[tuple[str, Side], list[tuple[Decimal, str]]] = {}
        self._expiries: list[tuple[datetime, str]] = []

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def get(self, order_id: str) -> IndexedOrder | None:
        """The entry of ``order_id``, if indexed."""
        return self._orders.get(order_id)

    def add(self, order: IndexedOrder) -> bool:
        """Index ``order`` (False when it is indexed already)."""
        if order.order_id in self._orders:
            return False
        self._orders[order.order_id] = order
        bisect.insort(self._side(order), (_sort_key(order), order.order_id))
        if order.expires_at is not None:
            heapq.heappush(self._expiries, (order.expires_at, order.order_id))
        return True

    def remove(self, order_id: str) -> bool:
        """Drop ``order_id`` from the index (False when it was not there)."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return False
        entries = self._side(order)
        entry = (_sort_key(order), order_id)
        at = bisect.bisect_left(entries, entry)
        if at < len(entries) and entries[at] == entry:
            del entries[at]
        return True  # an expiry left in the heap is skipped when it comes up

    def crossed(self, asset_id: str, price: Decimal) -> list[IndexedOrder]:
        """Every open order of ``asset_id`` that ``price`` crosses, best limit first."""
        buys = self._sides.get((asset_id, "buy"), [])
        sells = self._sides.get((asset_id, "sell"), [])
        last_buy = bisect.bisect_right(buys, (-price, "\uffff"))
        last_sell = bisect.bisect_right(sells, (price, "\uffff"))
        ids = [i for _, i in buys[:last_buy]] + [i for _, i in sells[:last_sell]]
        return [self._orders[i] for i in ids]

    def pop_due(self, now: datetime) -> list[IndexedOrder]:
        """Take the indexed orders whose expiry has come at ``now`` off the expiry heap (they
        stay indexed until removed; ``expire_later`` puts one back after a failed attempt)."""
        due: list[IndexedOrder] = []
        while self._expiries and self._expiries[0][0] <= now:
            _, order_id = heapq.heappop(self._expiries)
            order = self._orders.get(order_id)
            if order is not None:
                due.append(order)
        return due

    def expire_later(self, order: IndexedOrder) -> None:
        """Put ``order``'s expiry back (its expiry could not be recorded this time)."""
        if order.expires_at is not None and order.order_id in self._orders:
            heapq.heappush(self._expiries, (order.expires_at, order.order_id))

    def _side(self, order: IndexedOrder) -> list[tuple[Decimal, str]]:
        return self._sides.setdefault((order.asset_id, order.side), [])


def _sort_key(order: IndexedOrder) -> Decimal:
    return -order.limit_price if order.side == "buy" else order.limit_price
