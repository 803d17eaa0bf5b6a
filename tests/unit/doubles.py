"""Test doubles shared by the unit tests: a clock, a versioned cache, gated and scripted stores."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from structlog.contextvars import get_contextvars

from actors.domain.commands import Command
from actors.domain.errors import InvalidOrderError
from actors.ledger.results import Outcome
from actors.ledger.service import LedgerService
from actors.live.port import LiveEvent
from actors.market.errors import PriceUnavailableError
from actors.matching.book import IndexedOrder
from actors.store.errors import SequenceTakenError
from actors.store.memory import InMemoryLedgerStore
from actors.store.records import EventRecord, JsonDict

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """A clock the test moves by hand (the service's ``clock`` collaborator)."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FixedPrices:
    """A price source with prices the test sets, like a shard's: an asset it has no price for is
    not traded (422), and one in ``stale`` has no fresh price (503)."""

    prices: dict[str, Decimal] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)

    def __call__(self, asset_id: str, now: datetime) -> Decimal:
        if asset_id in self.stale:
            raise PriceUnavailableError(asset_id, 1.0, "stale in this test")
        price = self.prices.get(asset_id)
        if price is None:
            raise InvalidOrderError("asset_id", f"No asset {asset_id} is traded here.")
        return price


@dataclass
class VersionedCache:
    """A dict with the Redis script's semantics: a version never goes backwards, and an
    invalidation marker (``None``) never replaces data of the same version."""

    entries: dict[str, tuple[int, JsonDict | None]] = field(default_factory=dict)
    puts: list[tuple[str, int, JsonDict | None]] = field(default_factory=list)
    published: list[tuple[str, JsonDict]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    answers_ping: bool = True

    async def get(self, key: str, at_least: int = 0) -> JsonDict | None:
        self.gets.append(key)
        entry = self.entries.get(key)
        return entry[1] if entry and entry[0] >= at_least else None

    async def put(self, key: str, version: int, value: JsonDict | None) -> None:
        self.puts.append((key, version, value))
        current = self.entries.get(key)
        if current is not None:
            current_version, current_value = current
            if version < current_version:
                return
            if version == current_version and (value is None or current_value is not None):
                return
        self.entries[key] = (version, value)

    async def publish(self, channel: str, message: JsonDict) -> None:
        self.published.append((channel, message))

    async def ping(self) -> bool:
        return self.answers_ping


class GatedStore(InMemoryLedgerStore):
    """An in-memory store whose ``append`` (for the ``gated`` users, or everyone) waits until the
    test opens the gate: a commit held in flight."""

    def __init__(self, gated: set[str] | None = None) -> None:
        super().__init__()
        self.gated = gated
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def append(self, record: EventRecord) -> None:
        if self.gated is None or record.username in self.gated:
            self.waiting.set()
            await self.gate.wait()
        await super().append(record)


class AlwaysTakenStore(InMemoryLedgerStore):
    """A store where some other writer always got the next sequence number first."""

    def __init__(self) -> None:
        super().__init__()
        self.append_attempts = 0

    async def append(self, record: EventRecord) -> None:
        self.append_attempts += 1
        raise SequenceTakenError(record.username, record.seq)


class InProcessLedger:
    """The ingress's ledger client, minus Ray: calls a ``LedgerService`` directly."""

    def __init__(self, service: LedgerService, answers_ping: bool = True) -> None:
        self.service = service
        self.answers_ping = answers_ping
        self.calls: list[tuple[str, Command, str]] = []
        self.log_contexts: list[dict[str, Any]] = []  # the log context of each call

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        self.calls.append((username, command, idempotency_key))
        self.log_contexts.append(get_contextvars())
        return await self.service.execute(username, command, idempotency_key)

    async def ping(self) -> bool:
        return self.answers_ping


def synchronously(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test function on a fresh event loop (the suite has no async plugin)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@dataclass
class RecordingLiveEvents:
    """A live-events port that keeps what the ledger published, ``(username, event)``."""

    published: list[tuple[str, LiveEvent]] = field(default_factory=list)

    async def publish(self, username: str, events: list[LiveEvent]) -> None:
        self.published.extend((username, event) for event in events)


@dataclass
class RecordingOrderIndex:
    """An order-index sink that keeps the reports: open entries by id, and the closed ids."""

    open: dict[str, IndexedOrder] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)

    def changed(self, opened: list[IndexedOrder], closed: list[str]) -> None:
        self.open.update((o.order_id, o) for o in opened)
        for order_id in closed:
            self.open.pop(order_id, None)
            self.closed.append(order_id)


class RecordingTelemetry:
    """``Telemetry`` that keeps every call as ``(method, *args)``, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def of(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of ``method``."""
        return [call[1:] for call in self.calls if call[0] == method]

    def operation(self, kind: str, result: str, seconds: float) -> None:
        self.calls.append(("operation", kind, result, seconds))

    def order(self, order_type: str, result: str) -> None:
        self.calls.append(("order", order_type, result))

    def filled(self, order_type: str) -> None:
        self.calls.append(("filled", order_type))

    def refused(self, reason: str) -> None:
        self.calls.append(("refused", reason))

    def version_conflict(self) -> None:
        self.calls.append(("version_conflict",))

    def cache(self, read: str, hit: bool) -> None:
        self.calls.append(("cache", read, hit))

    def active_users(self, count: int) -> None:
        self.calls.append(("active_users", count))

    def sse_subscribers(self, delta: int) -> None:
        self.calls.append(("sse_subscribers", delta))
