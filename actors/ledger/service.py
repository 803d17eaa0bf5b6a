"""``LedgerService``: load, decide, commit, project, refresh the cache, publish (no Ray here).

The Ray shard actor wraps one of these and adds nothing but placement: each user's operations
run one at a time under the user's lock (its mailbox), in arrival order; users run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from actors.cache.read_cache import NullReadCache, ReadCache
from actors.domain.accounts import Account, CashLimits, apply, decide
from actors.domain.commands import Command, request_fingerprint
from actors.domain.errors import DomainError
from actors.domain.events import Event
from actors.ledger.codec import event_from_payload, event_to_payload
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError
from actors.ledger.projection import TRANSACTION_TYPES, Projection, project
from actors.ledger.records import (
    EventRecord,
    JsonDict,
    Outcome,
    Receipt,
    Rejection,
    Snapshot,
)
from actors.ledger.views import balance_view_dict
from actors.store import keys
from actors.store.errors import SequenceTakenError, StoreUnavailableError
from actors.store.port import LedgerStore

log = logging.getLogger(__name__)
MAX_DECIDE_ATTEMPTS = 3


@dataclass
class UserAccount:
    """A virtual actor: one user's state and mailbox inside a shard."""

    username: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    account: Account | None = None
    receipts: dict[str, Receipt] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    last_used: float = field(default_factory=time.monotonic)

    @property
    def is_idle(self) -> bool:
        """No operation running or waiting."""
        return not self.lock.locked() and not self.in_flight


@dataclass(frozen=True)
class LedgerPolicy:
    """Tunables of the ledger (limits, snapshots, idempotency retention)."""

    limits: CashLimits = field(default_factory=CashLimits)
    snapshot_every: int = 50
    receipts_ttl_s: int = 24 * 3600
    idle_timeout_s: float = 300.0


class LedgerService:
    """Hosts ``UserAccount`` virtual actors and runs their operations against the store."""

    def __init__(
        self,
        store: LedgerStore,
        cache: ReadCache | None = None,
        policy: LedgerPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._store = store
        self._cache = cache or NullReadCache()
        self._policy = policy or LedgerPolicy()
        self._clock = clock
        self._new_id = new_id
        self.users: dict[str, UserAccount] = {}
        self.after_commit_hook: Callable[[EventRecord], None] | None = None
        self.needs_repair: set[str] = set()

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run one command for ``username``, at most once per idempotency key.

        Returns:
            The receipt (a replay when the key was seen before with the same request), or a
            rejection: a refusal of the money rules, a reused or in-flight key, or an
            unavailable store (the outcome is then unknown: retry with the same key).
        """
        user = self.users.setdefault(username, UserAccount(username))
        if idempotency_key in user.in_flight:
            return Rejection(RequestInFlightError(idempotency_key))
        user.in_flight.add(idempotency_key)
        try:
            async with user.lock:
                return await self._execute_locked(user, command, idempotency_key)
        finally:
            user.in_flight.discard(idempotency_key)
            user.last_used = time.monotonic()

    async def _execute_locked(self, user: UserAccount, command: Command, key: str) -> Outcome:
        request_hash = request_fingerprint(command)
        try:
            for _ in range(MAX_DECIDE_ATTEMPTS):
                account = user.account or await self._activate(user)
                earlier = user.receipts.get(key)
                if earlier is not None:
                    return _replay(earlier, request_hash)
                try:
                    return await self._decide_and_commit(user, account, command, key, request_hash)
                except SequenceTakenError:
                    user.account = None  # another writer got there first: reload, decide again
            raise StoreUnavailableError("the event log kept changing under this shard")
        except StoreUnavailableError as error:
            user.account = None  # unknown outcome: the next call reloads from the log
            return Rejection(error)

    async def _decide_and_commit(
        self, user: UserAccount, account: Account, command: Command, key: str, request_hash: str
    ) -> Outcome:
        now = self._clock()
        try:
            event = decide(account, command, self._new_id(), now, self._policy.limits)
        except DomainError as refusal:
            return Rejection(refusal)
        seq = account.version + 1
        receipt = Receipt(key, request_hash, 201, _receipt_body(event, seq), now.isoformat())
        record = EventRecord(user.username, seq, event.kind, event_to_payload(event), receipt)
        await self._store.append(record)  # the commit point
        user.account = apply(account, event, seq)
        user.receipts[key] = receipt
        if self.after_commit_hook is not None:
            self.after_commit_hook(record)
        await self._after_commit(user, record, user.account)
        return receipt

    async def _after_commit(self, user: UserAccount, record: EventRecord, after: Account) -> None:
        """Read models, cache, live event, snapshot. A failure here loses nothing: the event is
        committed, the cache still shows it, and ``repair_pending`` (or the user's next
        operation) re-projects it from the log."""
        projection = project(record, after)
        try:
            await self._store.apply_projection(projection)
            projected = True
        except Exception:
            log.exception("projection of %s#%d failed; will repair", user.username, record.seq)
            user.account = None
            self.needs_repair.add(user.username)
            projected = False
        await self._refresh_cache(projection)
        if projected and after.version % self._policy.snapshot_every == 0:
            await self._snapshot(user, after)

    async def _snapshot(self, user: UserAccount, after: Account) -> None:
        """Save a snapshot; a failure only means a longer replay on the next activation."""
        user.receipts = self._live_receipts(user)
        try:
            await self._store.save_snapshot(Snapshot(after, user.receipts))
        except Exception:
            log.exception("snapshot of %s at %d failed", user.username, after.version)

    async def _refresh_cache(self, projection: Projection) -> None:
        username, balance = projection.username, balance_view_dict(projection.balance)
        version = projection.balance.version
        await self._cache.put(keys.balance_cache_key(username), version, balance)
        await self._cache.put(keys.transactions_cache_key(username), version, None)
        await self._cache.publish(
            keys.events_channel(username), {"type": "balance", "data": balance}
        )

    def _live_receipts(self, user: UserAccount) -> dict[str, Receipt]:
        oldest = self._clock().timestamp() - self._policy.receipts_ttl_s
        receipts = user.receipts.items()
        return {k: r for k, r in receipts if datetime.fromisoformat(r.at).timestamp() >= oldest}

    async def _activate(self, user: UserAccount) -> Account:
        """Load the account from its snapshot and the events after it; repair the read models a
        crash left behind (events newer than the projection watermark)."""
        snapshot = await self._store.load_snapshot(user.username)
        account = snapshot.account if snapshot else Account(user.username)
        receipts = dict(snapshot.receipts) if snapshot else {}
        events = await self._store.events_after(user.username, account.version)
        projected_version = await self._projection_watermark(user.username)
        for record in events:
            account = apply(
                account, event_from_payload(record.event_type, record.payload), record.seq
            )
            receipts[record.receipt.idempotency_key] = record.receipt
            if record.seq > projected_version:
                projection = project(record, account)
                await self._store.apply_projection(projection)
                await self._refresh_cache(projection)
        user.account, user.receipts = account, receipts
        return account

    async def _projection_watermark(self, username: str) -> int:
        """The last event whose read models all exist.

        An event's transaction and balance items are written concurrently, so a crash can leave
        either without the other; both are written before the next event of the user is decided,
        so only the newest event can be half projected, and the older of the two versions is a
        safe place to resume.
        """
        balance, newest = await asyncio.gather(
            self._store.get_balance(username), self._store.list_transactions(username, 1)
        )
        balance_version = balance.version if balance else 0
        transaction_version = newest.items[0].seq if newest.items else 0
        return min(balance_version, transaction_version)

    async def repair_pending(self) -> int:
        """Reload (and so re-project) the users whose projection failed, without waiting for
        their next operation; returns how many still need it."""
        for username in list(self.needs_repair):
            user = self.users.setdefault(username, UserAccount(username))
            async with user.lock:
                try:
                    if user.account is None:
                        await self._activate(user)
                except Exception:
                    log.warning("repair of %s failed; will retry", username, exc_info=True)
                    continue
            self.needs_repair.discard(username)
        return len(self.needs_repair)

    def passivate_idle(self) -> int:
        """Drop users idle longer than the policy's timeout; returns how many were dropped."""
        cutoff = time.monotonic() - self._policy.idle_timeout_s
        idle = [n for n, u in self.users.items() if u.is_idle and u.last_used < cutoff]
        for name in idle:
            del self.users[name]
        return len(idle)


def _replay(receipt: Receipt, request_hash: str) -> Outcome:
    if receipt.request_hash != request_hash:
        return Rejection(IdempotencyKeyReusedError(receipt.idempotency_key))
    return replace(receipt, replayed=True)


def _receipt_body(event: Event, seq: int) -> JsonDict:
    return {
        "transaction_id": event.transaction_id,
        "transaction_type": TRANSACTION_TYPES[event.kind],
        "amount": str(event.amount),
        "balance": str(event.balance_after),
        "timestamp": event.at.isoformat(),
        "version": seq,
    }
