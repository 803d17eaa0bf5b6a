"""``LedgerService``: activate, idempotency, decide, commit, project, passivate (no Ray here).

The Ray shard actor wraps one of these and adds nothing but placement: each user's operations
run one at a time under the user's lock (its mailbox), in arrival order; users run concurrently.
An operation answers after exactly one store write, the event (or the refusal) carrying its
idempotency key; its read models follow behind the reply through the ``Projector``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from actors.cache.read_cache import NullReadCache, ReadCache
from actors.domain.accounts import Account
from actors.domain.commands import Command, request_fingerprint
from actors.domain.context import Context
from actors.domain.errors import DomainError
from actors.domain.money import ZERO
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError
from actors.ledger.metering import record_outcome
from actors.ledger.projection import Projection, apply_record, project
from actors.ledger.projector import Projector
from actors.ledger.results import Committed, Failed, Outcome, Refused
from actors.live.port import LiveEvent, LiveEvents, NullLiveEvents
from actors.market.errors import PriceUnavailableError
from actors.matching.port import NullOrderIndex, OrderIndexSink, indexed
from actors.operations.base import AnyOperation
from actors.operations.codec import (
    REFUSED,
    event_from_payload,
    event_to_payload,
    refusal_from_payload,
    refusal_to_payload,
)
from actors.operations.registry import for_command, live_view_of
from actors.settings import LedgerSettings
from actors.store import keys
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.store.port import LedgerStore
from actors.store.records import EventRecord, HoldingView, JsonDict, Snapshot
from actors.store.views import account_view_dict, view_dict
from actors.telemetry import NullTelemetry, Telemetry

log = logging.getLogger(__name__)
MAX_DECIDE_ATTEMPTS = 3
PriceSource = Callable[[str, datetime], Decimal]
NOT_RECORDED = (StoreUnavailableError, PriceUnavailableError)
INPUT_ERRORS = (ValueError,)  # InvalidAmountError, InvalidOrderError, OrderRejectedError


class _TimeOrderedIds:
    """UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter within the
    millisecond (method 1 of the RFC), then random bits, so the ids of one process sort in the
    order they were made even within one millisecond or when the clock steps back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms, self._counter = self._last_ms, self._counter + 1
                if self._counter > 0xFFF:  # the millisecond is full: borrow the next one
                    ms, self._counter = ms + 1, 0
            else:
                self._counter = 0
            self._last_ms = ms
            counter = self._counter
        tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = ms << 80 | 0x7 << 76 | counter << 64 | 0x2 << 62 | tail
        return str(uuid.UUID(int=value))


time_ordered_id = _TimeOrderedIds()


def no_prices(asset_id: str, now: datetime) -> Decimal:
    """The price source of a ledger without a feed: every order gets 503."""
    raise PriceUnavailableError(asset_id, 1.0, "no price feed")


@dataclass
class UserAccount:
    """A virtual actor: one user's state and mailbox inside a shard."""

    username: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    account: Account | None = None
    receipts: dict[str, EventRecord] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    last_used: float = field(default_factory=time.monotonic)

    @property
    def is_busy(self) -> bool:
        """An operation running or waiting."""
        return self.lock.locked() or bool(self.in_flight)


class LedgerService:
    """Hosts ``UserAccount`` virtual actors and runs their operations against the store."""

    def __init__(
        self,
        store: LedgerStore,
        cache: ReadCache | None = None,
        settings: LedgerSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = time_ordered_id,
        prices: PriceSource = no_prices,
        live: LiveEvents | None = None,
        order_index: OrderIndexSink | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._store = store
        self._cache = cache or NullReadCache()
        self._settings = settings or LedgerSettings()
        self._cash_limits = self._settings.cash_limits
        self._order_limits = self._settings.order_limits
        self._clock = clock
        self._new_id = new_id
        self._prices = prices
        self._live = live or NullLiveEvents()
        self._order_index = order_index or NullOrderIndex()
        self._telemetry = telemetry or NullTelemetry()
        self.projector = Projector(store)
        self.users: dict[str, UserAccount] = {}
        self.after_commit_hook: Callable[[EventRecord], None] | None = None

    def _context(self) -> Context:
        now = self._clock()
        return Context(
            at=now,
            new_id=self._new_id,
            cash_limits=self._cash_limits,
            order_limits=self._order_limits,
            price=lambda asset_id: self._prices(asset_id, now),
        )

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run one command for ``username``, at most once per idempotency key.

        Returns:
            ``Committed`` or ``Refused`` (replayed when the key was seen before with the same
            request), or ``Failed``: bad input, a reused or in-flight key, or an unavailable
            store or price (nothing recorded; after a store failure retry with the same key).
        """
        started = time.perf_counter()
        outcome = await self._execute(username, command, idempotency_key)
        record_outcome(self._telemetry, command, outcome, time.perf_counter() - started)
        return outcome

    async def _execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        operation = for_command(command)
        try:
            operation.validate(command, self._context())
        except INPUT_ERRORS as error:
            return Failed(error)
        user = self.users.setdefault(username, UserAccount(username))
        if idempotency_key in user.in_flight:
            return Failed(RequestInFlightError(idempotency_key))
        user.in_flight.add(idempotency_key)
        try:
            async with user.lock:
                return await self._execute_locked(user, operation, command, idempotency_key)
        finally:
            user.in_flight.discard(idempotency_key)
            user.last_used = time.monotonic()

    async def _execute_locked(
        self, user: UserAccount, operation: AnyOperation, command: Command, key: str
    ) -> Outcome:
        request_hash = request_fingerprint(command)
        try:
            for _ in range(MAX_DECIDE_ATTEMPTS):
                account = user.account or await self._activate(user)
                earlier = user.receipts.get(key)
                if earlier is not None:
                    return _replay(earlier, request_hash)
                try:
                    return await self._decide_and_commit(
                        user, account, operation, command, key, request_hash
                    )
                except SequenceTakenError:
                    self._telemetry.version_conflict()
                    user.account = None  # another writer got there first: reload, decide again
            raise StoreUnavailableError("the event log kept changing under this shard")
        except INPUT_ERRORS as error:
            return Failed(error)
        except NOT_RECORDED as error:
            if isinstance(error, StoreUnavailableError):
                user.account = None  # unknown outcome: the next call reloads from the log
            return Failed(error)

    async def _decide_and_commit(
        self,
        user: UserAccount,
        account: Account,
        operation: AnyOperation,
        command: Command,
        key: str,
        request_hash: str,
    ) -> Outcome:
        ctx = self._context()
        seq = account.version + 1
        result: Outcome
        try:
            event = operation.decide(account, command, ctx)
            event_type, payload = operation.event_name, event_to_payload(event)
            result = Committed(seq, event)
        except DomainError as refusal:
            if isinstance(refusal, INPUT_ERRORS):
                raise  # bad input, not a refusal: nothing is recorded
            event_type, payload = REFUSED, refusal_to_payload(refusal)
            result = Refused(seq, refusal)
        record = EventRecord(
            user.username, seq, event_type, payload, key, request_hash, ctx.at.isoformat()
        )
        await self._store.append(record)  # the commit point, and the only write before the reply
        user.account = apply_record(account, record)
        user.receipts[key] = record
        if self.after_commit_hook is not None:
            self.after_commit_hook(record)
        self._report_open_orders(user.username, account, user.account)
        await self._after_commit(user, record, account, user.account, operation, result)
        return result

    def _report_open_orders(self, username: str, before: Account, after: Account) -> None:
        """Tell the matcher which open orders the commit opened and closed (if any)."""
        if before.open_orders is after.open_orders:
            return  # the rules replace the mapping only when an order opens or closes
        opened = [
            indexed(username, o)
            for i, o in after.open_orders.items()
            if i not in before.open_orders
        ]
        closed = [i for i in before.open_orders if i not in after.open_orders]
        self._order_index.changed(opened, closed)

    async def _after_commit(
        self,
        user: UserAccount,
        record: EventRecord,
        before: Account,
        after: Account,
        operation: AnyOperation,
        result: Outcome,
    ) -> None:
        """Hand the read models to the projector, refresh the cache, publish the live events."""
        projection = project(record, after)
        snapshot = None
        if after.version % self._settings.snapshot_every == 0:
            user.receipts = self._live_receipts(user)
            snapshot = Snapshot(after, dict(user.receipts))
        self.projector.submit(projection, snapshot)
        view = await self._refresh_cache(projection)
        seq = str(record.seq)
        events = [LiveEvent("balance", view, seq)]
        if isinstance(result, Committed):
            kind, row = live_view_of(result.event, record.seq)
            events.append(LiveEvent(kind, view_dict(row), seq))
        for asset_id, holding in projection.account.holdings.items():
            if before.holdings.get(asset_id) != after.holdings.get(asset_id):
                events.append(LiveEvent("holding", view_dict(holding), seq))
        for asset_id in before.holdings.keys() - after.holdings.keys():
            gone = HoldingView(asset_id, ZERO, ZERO, ZERO, None, view["updated_at"])
            events.append(LiveEvent("holding", view_dict(gone), seq))
        await self._live.publish(user.username, events)

    async def _refresh_cache(self, projection: Projection) -> JsonDict:
        """Put the account view in the cache (and invalidate the history); returns the view."""
        username, version = projection.username, projection.account.version
        view = account_view_dict(projection.account)
        await self._cache.put(keys.balance_cache_key(username), version, view)
        await self._cache.put(keys.transactions_cache_key(username), version, None)
        return view

    def _live_receipts(self, user: UserAccount) -> dict[str, EventRecord]:
        oldest = self._clock().timestamp() - self._settings.receipts_ttl_s
        receipts = user.receipts.items()
        return {k: r for k, r in receipts if datetime.fromisoformat(r.at).timestamp() >= oldest}

    async def _activate(self, user: UserAccount) -> Account:
        """Load the account from its snapshot and the events after it; hand the projector the
        read models a crash left behind (events above the explicit watermark)."""
        snapshot, view = await asyncio.gather(
            self._store.load_snapshot(user.username), self._store.get_account(user.username)
        )
        account = snapshot.account if snapshot else Account(user.username)
        receipts = dict(snapshot.receipts) if snapshot else {}
        watermark = view.version if view else 0
        events = await self._store.events_after(user.username, min(account.version, watermark))
        missing: Projection | None = None
        for record in events:
            if record.seq > account.version:
                account = apply_record(account, record)
                receipts[record.idempotency_key] = record
            if record.seq > watermark:
                projection = project(record, account)
                missing = missing.merged(projection) if missing else projection
        if missing is not None:
            self.projector.submit(missing)
            await self._refresh_cache(missing)
        user.account, user.receipts = account, receipts
        if account.open_orders:  # repairs a report a crash lost between commit and report
            opened = [indexed(user.username, o) for o in account.open_orders.values()]
            self._order_index.changed(opened, [])
        return account

    def passivate_idle(self) -> int:
        """Drop users idle longer than the idle timeout whose read models are all written."""
        cutoff = time.monotonic() - self._settings.idle_timeout_s
        idle = [
            name
            for name, user in self.users.items()
            if not user.is_busy and user.last_used < cutoff and not self.projector.has_pending(name)
        ]
        for name in idle:
            del self.users[name]
        return len(idle)

    async def flush(self) -> None:
        """Wait until every read model submitted so far is written (tests, shutdown)."""
        await self.projector.flush()

    def report_size(self) -> None:
        """Report how many users are active (the shard's maintenance calls it every round)."""
        self._telemetry.active_users(len(self.users))

    def stats(self) -> dict[str, Any]:
        """Sizes for the shard's ping."""
        return {"active_users": len(self.users), "projection_backlog": self.projector.backlog}


def _replay(record: EventRecord, request_hash: str) -> Outcome:
    if record.request_hash != request_hash:
        return Failed(IdempotencyKeyReusedError(record.idempotency_key))
    if record.event_type == REFUSED:
        return Refused(record.seq, refusal_from_payload(record.payload), replayed=True)
    return Committed(record.seq, event_from_payload(record.event_type, record.payload), True)
