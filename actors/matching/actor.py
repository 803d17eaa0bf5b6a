"""``OrderMatcher``: the Ray actor that runs the ``Matcher``, one per cluster (detached, named,
restarted on failure), and the shards' ways to it.

Its loop: rebuild the book from the store's open-orders index, then long-poll the price feed
for each publication and match it; re-read the index every ``matcher_resync_interval_s`` to pick
up any order whose report was lost. After a restart the book is rebuilt before the first round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Hashable, Sequence
from typing import Any

import ray

from actors.ledger.results import Outcome
from actors.logs import configure_logging
from actors.market.feed import price_feed_handle
from actors.matching.book import IndexedOrder
from actors.matching.matcher import Matcher, Request
from actors.routing import shard_name
from actors.settings import LedgerSettings, dynamodb_client
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.store.records import OrderView

log = logging.getLogger(__name__)
MATCHER_NAME = "order-matcher"
POLL_TIMEOUT_S = 1.0  # a round at least this often, ticks or not (expiries)
REBUILD_RETRY_S = 1.0


class RayShards:
    """The shards by name: the matcher never creates one (a shard with open orders exists)."""

    def __init__(self, namespace: str) -> None:
        self._namespace = namespace
        self._handles: dict[Hashable, Any] = {}

    async def run(self, shard: Hashable, requests: Sequence[Request]) -> Sequence[Outcome]:
        handle: Any = self._handles.get(shard)
        if handle is None:
            handle = await asyncio.to_thread(
                ray.get_actor, shard_name(int(str(shard))), namespace=self._namespace
            )
            self._handles[shard] = handle
        try:
            outcomes: Sequence[Outcome] = await handle.run_commands.remote(list(requests))
        except Exception:
            self._handles.pop(shard, None)
            raise
        return outcomes


class PlacedUsers:
    """The ``dedicated`` placement: the fills of a user go to its own actor, created anew if
    it stopped while idle (open orders outlive their user's actor)."""

    def __init__(self, placement: Any) -> None:
        self._placement = placement  # an actors.placement.Placement (imported late: a cycle)

    async def run(self, shard: Hashable, requests: Sequence[Request]) -> Sequence[Outcome]:
        username = str(shard)
        handle = await self._placement.handle_for(username)
        try:
            outcomes: Sequence[Outcome] = await handle.run_commands.remote(list(requests))
        except Exception:
            self._placement.forget(username)
            raise
        return outcomes


def matcher_for(settings: LedgerSettings, open_orders: Any) -> Matcher:
    """A ``Matcher`` whose fills go where ``settings.placement`` puts each user."""
    from actors.placement import placement_for  # late: actors.shard imports this module

    placement = placement_for(settings)
    shards = PlacedUsers(placement) if settings.placement == "dedicated" else None
    return Matcher(shards or RayShards(settings.namespace), placement.route, open_orders)


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)
class OrderMatcher:
    """Fills and expires limit orders as prices tick."""

    def __init__(self, settings: LedgerSettings) -> None:
        configure_logging("matcher")  # JSON lines on stderr (actors/logs.py)
        self._settings = settings
        open_orders = self._no_open_orders
        if settings.ledger_store == "dynamodb":
            store = DynamoLedgerStore(
                dynamodb_client(settings), settings.table_name, BlockingRunner(2, "matcher-io")
            )
            open_orders = store.open_orders
        self._matcher = matcher_for(settings, open_orders)
        self._task: asyncio.Task[None] | None = None
        self._ready = False
        with contextlib.suppress(RuntimeError):  # no running loop: the first call starts it
            self._start()

    @staticmethod
    async def _no_open_orders() -> list[tuple[str, OrderView]]:
        return []  # the in-memory store lives in each shard: reports alone fill the book

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def changed(self, opened: list[IndexedOrder], closed: list[str]) -> None:
        """A shard's report of the open orders a commit opened and closed."""
        self._start()
        self._matcher.changed(opened, closed)

    async def ping(self) -> dict[str, Any]:
        """Liveness and size: the pid, the open orders indexed, fills so far."""
        self._start()
        return {
            "pid": os.getpid(),
            "ready": self._ready,
            "open_orders": len(self._matcher.book),
            "fills": self._matcher.fills,
            "rounds": self._matcher.rounds,
        }

    async def _run(self) -> None:
        await self._rebuild_until_done()
        self._ready = True
        feed = price_feed_handle(self._settings)
        loop = asyncio.get_running_loop()
        publication, next_rebuild = 0, loop.time() + self._settings.matcher_resync_interval_s
        while True:
            try:
                publication, quotes = await feed.quotes_after.remote(publication, POLL_TIMEOUT_S)
                await self._matcher.match(quotes)
                if loop.time() >= next_rebuild:
                    await self._matcher.rebuild()
                    next_rebuild = loop.time() + self._settings.matcher_resync_interval_s
            except Exception:  # a feed restart or a failing store must not stop matching
                log.warning("matching round failed; trying again", exc_info=True)
                feed = price_feed_handle(self._settings)
                await asyncio.sleep(REBUILD_RETRY_S)

    async def _rebuild_until_done(self) -> None:
        while True:
            try:
                added = await self._matcher.rebuild()
                log.info("order matcher: %d open orders indexed", added)
                return
            except Exception:
                log.warning("open orders unreadable; retrying", exc_info=True)
                await asyncio.sleep(REBUILD_RETRY_S)


def order_matcher_handle(settings: LedgerSettings) -> Any:
    """The cluster's matcher, created (detached, in ``settings.namespace``) if it is missing."""
    matcher: Any = OrderMatcher
    return matcher.options(
        name=MATCHER_NAME, namespace=settings.namespace, lifetime="detached", get_if_exists=True
    ).remote(settings)


class MatcherReports:
    """A shard's ``OrderIndexSink``: reports go to the matcher without waiting for it."""

    def __init__(self, settings: LedgerSettings) -> None:
        self._settings = settings
        self._handle: Any = None

    def handle(self) -> Any:
        """The matcher (created on first use)."""
        if self._handle is None:
            self._handle = order_matcher_handle(self._settings)
        return self._handle

    def changed(self, opened: list[IndexedOrder], closed: list[str]) -> None:
        """Send the report; a lost one is repaired by the resync and by activation."""
        try:
            self.handle().changed.remote(opened, closed)
        except Exception:
            self._handle = None
            log.warning("order report not sent; the resync picks it up", exc_info=True)
