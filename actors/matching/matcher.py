"""``Matcher``: fills the limit orders each tick crosses and expires the ones whose time has
come, through their owners' actors (no Ray here: the ``OrderMatcher`` actor wraps it).

The matcher only proposes: every fill and expiry is a command to the owner's actor, decided
there under the user's lock against the account's open orders, with the idempotency key
``fill:<order id>`` (or ``expire:``). So a tick processed twice, two ticks crossing within
milliseconds, a cancel racing a fill, or a restart in between, fill an order at most once; an
entry the actor finds closed is dropped from the index, and one whose shard did not answer is
tried again on the next tick (if that tick still crosses it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from actors.domain.commands import Command, ExpireOrder, FillOrder, Side
from actors.domain.errors import OrderNotFillableError
from actors.domain.limit_orders import NOT_DUE
from actors.domain.quotes import Quote
from actors.ledger.errors import IdempotencyKeyReusedError
from actors.ledger.results import Committed, Failed, Outcome
from actors.matching.book import IndexedOrder, OpenOrderBook
from actors.store.records import OrderView

log = logging.getLogger(__name__)
Request = tuple[str, Command, str]  # (username, command, idempotency key)
GONE = (OrderNotFillableError, IdempotencyKeyReusedError)


class ShardCommands(Protocol):
    """Where the matcher's commands go: the actor that hosts their users."""

    async def run(self, shard: Hashable, requests: Sequence[Request]) -> Sequence[Outcome]:
        """Run ``requests`` on the actor ``shard`` (a key of ``route``); one outcome each, in
        order (raises when the actor does not answer)."""


OpenOrders = Callable[[], Awaitable[list[tuple[str, OrderView]]]]


def from_view(username: str, order: OrderView) -> IndexedOrder:
    """The index entry of a queued order read model (the store's open-orders index)."""
    side: Side = "buy" if order.order_type.endswith("buy") else "sell"
    expiry = datetime.fromisoformat(order.expires_at) if order.expires_at else None
    return IndexedOrder(username, order.order_id, side, order.asset_id, order.price, expiry)


@dataclass
class MatchReport:
    """What one round did: orders filled, expired, dropped (found closed) and to retry."""

    filled: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)


class Matcher:
    """The open-order book, and the rounds that turn ticks into fills."""

    def __init__(
        self,
        shards: ShardCommands,
        route: Callable[[str], Hashable],
        open_orders: OpenOrders,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.book = OpenOrderBook()
        self._shards = shards
        self._route = route  # username -> the key of its actor (actors/placement.py)
        self._open_orders = open_orders
        self._clock = clock
        self._closed_recently: set[str] = set()
        self.fills = 0
        self.rounds = 0

    def changed(self, opened: Sequence[IndexedOrder], closed: Sequence[str]) -> None:
        """A shard's report: ``opened`` are open, ``closed`` are final."""
        for order_id in closed:
            self.book.remove(order_id)
            self._closed_recently.add(order_id)
        for order in opened:
            if order.order_id not in self._closed_recently:
                self.book.add(order)

    async def rebuild(self) -> int:
        """Add every order of the store's open-orders index (add only: an order the index
        still shows but a shard reported closed stays out). Returns how many were added."""
        added = sum(
            self.book.add(from_view(username, order))
            for username, order in await self._open_orders()
            if order.order_id not in self._closed_recently
        )
        self._closed_recently.clear()  # the index has caught up with anything older
        return added

    async def match(self, quotes: Mapping[str, Quote]) -> MatchReport:
        """One round: fill what ``quotes`` cross, expire what is due, through the owners."""
        now = self._clock()
        by_shard: dict[Hashable, list[tuple[IndexedOrder, Request]]] = {}
        for asset_id, quote in quotes.items():
            if quote.price <= 0:
                continue
            for order in self.book.crossed(asset_id, quote.price):
                command = FillOrder(order.order_id, quote.price, quote.at)
                self._queue(by_shard, order, command, f"fill:{order.order_id}")
        for order in self.book.pop_due(now):
            self._queue(by_shard, order, ExpireOrder(order.order_id), f"expire:{order.order_id}")
        report = MatchReport()
        await asyncio.gather(*(self._send(i, work, report) for i, work in by_shard.items()))
        self.rounds += 1
        self.fills += len(report.filled)
        return report

    def _queue(
        self,
        by_shard: dict[Hashable, list[tuple[IndexedOrder, Request]]],
        order: IndexedOrder,
        command: Command,
        key: str,
    ) -> None:
        shard = self._route(order.username)
        pending = by_shard.setdefault(shard, [])
        if all(o.order_id != order.order_id for o, _ in pending):  # a due order may also cross
            pending.append((order, (order.username, command, key)))

    async def _send(
        self, shard: Hashable, work: list[tuple[IndexedOrder, Request]], report: MatchReport
    ) -> None:
        try:
            outcomes: Sequence[Any] = await self._shards.run(shard, [r for _, r in work])
        except Exception:  # the shard is down or restarting: the next tick tries again
            log.warning("shard %s did not take %d fills; retrying", shard, len(work), exc_info=True)
            outcomes = [None] * len(work)
        for (order, (_, command, _)), outcome in zip(work, outcomes, strict=True):
            self._settle(order, command, outcome, report)

    def _settle(
        self, order: IndexedOrder, command: Command, outcome: Outcome | None, report: MatchReport
    ) -> None:
        expiry = isinstance(command, ExpireOrder)
        if isinstance(outcome, Committed):
            self.book.remove(order.order_id)
            done = (
                report.dropped
                if outcome.replayed
                else (report.expired if expiry else report.filled)
            )
            done.append(order.order_id)  # a replay: an earlier round (or matcher) did it
        elif isinstance(outcome, Failed) and isinstance(outcome.error, GONE):
            if getattr(outcome.error, "reason", None) == NOT_DUE:
                self.book.expire_later(order)  # clocks differ: try again later
                report.retried.append(order.order_id)
                return
            self.book.remove(order.order_id)
            report.dropped.append(order.order_id)
        else:  # the store or the shard was unavailable: keep it for the next round
            if expiry:
                self.book.expire_later(order)
            report.retried.append(order.order_id)
