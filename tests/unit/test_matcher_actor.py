"""The matcher's Ray shell without Ray: it rebuilds, long-polls the feed, matches each
publication through the shards by name, survives a failing round; the shards' reports."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from actors.domain.quotes import Quote
from actors.ledger.results import Committed
from actors.matching import actor as actor_module
from actors.matching.actor import MatcherReports, OrderMatcher, RayShards
from actors.matching.book import IndexedOrder
from actors.settings import LedgerSettings

SHELL: Any = OrderMatcher.__ray_actor_class__  # type: ignore[attr-defined]
NOW = datetime.now(UTC)


class Remote:
    """A Ray method stand-in: ``.remote(...)`` gives an awaitable."""

    def __init__(self, call: Callable[..., Awaitable[Any]]) -> None:
        self.call = call
        self.calls: list[tuple[Any, ...]] = []

    def remote(self, *args: Any) -> Awaitable[Any]:
        self.calls.append(args)
        return self.call(*args)


class Feed:
    def __init__(self) -> None:
        self.publications = 0
        self.fail_next = False
        self.quotes_after = Remote(self._after)

    async def _after(self, publication: int, timeout_s: float) -> tuple[int, dict[str, Quote]]:
        await asyncio.sleep(0.01)
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("feed restarting")
        self.publications += 1
        return self.publications, {"BTC": Quote("BTC", Decimal("99"), NOW)}


class Shard:
    def __init__(self) -> None:
        self.run_commands = Remote(self._run)
        self.fail = False

    async def _run(self, requests: list[Any]) -> list[Any]:
        if self.fail:
            raise ConnectionError("shard gone")
        return [Committed(1, None) for _ in requests]


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actor_module, "REBUILD_RETRY_S", 0.01)


def test_the_matcher_rebuilds_polls_and_fills_through_the_shards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed, shard = Feed(), Shard()
    monkeypatch.setattr(actor_module, "price_feed_handle", lambda settings: feed)
    monkeypatch.setattr(actor_module.ray, "get_actor", lambda name, namespace: shard)

    async def go() -> dict[str, Any]:
        matcher = SHELL(LedgerSettings(ledger_store="memory", shard_count=1))
        order = IndexedOrder("alice", "o-1", "buy", "BTC", Decimal("100"))
        await matcher.changed([order], [])
        for _ in range(200):
            status: dict[str, Any] = await matcher.ping()
            if status["fills"]:
                break
            await asyncio.sleep(0.01)
        feed.fail_next = True  # a failing round is logged and the loop goes on
        rounds = status["rounds"]
        for _ in range(200):
            status = await matcher.ping()
            if status["rounds"] > rounds + 1:
                break
            await asyncio.sleep(0.01)
        return status

    status = asyncio.run(go())
    assert status["ready"] and status["fills"] == 1 and status["open_orders"] == 0
    assert shard.run_commands.calls[0][0][0][2] == "fill:o-1"


def test_a_rebuild_that_fails_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[Any] = [ConnectionError("store down"), []]

    async def open_orders() -> list[Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    feed = Feed()
    monkeypatch.setattr(actor_module, "price_feed_handle", lambda settings: feed)

    async def go() -> bool:
        matcher = SHELL(LedgerSettings(ledger_store="memory"))
        matcher._matcher._open_orders = open_orders
        for _ in range(200):
            if (await matcher.ping())["ready"]:
                return True
            await asyncio.sleep(0.01)
        return False

    assert asyncio.run(go()) and answers == []


def test_ray_shards_look_shards_up_by_name_and_forget_a_failed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shard, looked_up = Shard(), []

    def get_actor(name: str, namespace: str) -> Shard:
        looked_up.append(name)
        return shard

    monkeypatch.setattr(actor_module.ray, "get_actor", get_actor)

    async def go() -> None:
        shards = RayShards("ns")
        assert len(await shards.run(1, [("alice", None, "k")])) == 1  # type: ignore[list-item]
        await shards.run(1, [])
        shard.fail = True
        with pytest.raises(ConnectionError):
            await shards.run(1, [])
        shard.fail = False
        await shards.run(1, [])

    asyncio.run(go())
    assert looked_up == ["ledger-1", "ledger-1"]


def test_reports_go_to_the_matcher_and_a_failure_is_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Handle:
        def __init__(self) -> None:
            self.sent: list[Any] = []
            self.changed = self

        def remote(self, *args: Any) -> None:
            if not args[0]:
                raise RuntimeError("matcher unreachable")
            self.sent.append(args)

    handle, created = Handle(), []

    def make(settings: LedgerSettings) -> Handle:
        created.append(settings)
        return handle

    monkeypatch.setattr(actor_module, "order_matcher_handle", make)
    reports = MatcherReports(LedgerSettings())
    order = IndexedOrder("alice", "o-1", "buy", "BTC", Decimal("100"))
    reports.changed([order], [])
    reports.changed([], ["o-1"])  # fails: logged, and the handle is looked up again next time
    reports.changed([order], [])
    assert handle.sent == [([order], []), ([order], [])] and len(created) == 2
