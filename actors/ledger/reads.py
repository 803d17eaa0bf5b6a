"""``LedgerReader``: the read path. Redis first; on a miss the store (strongly consistent), plus
the log's tail above the projection watermark projected in memory, so a read right after a
reply shows the operation even before the projector has written its read models. A refill
carries the version read, so a slow reader can never overwrite a newer value.

A cached value older than the newest version this process saw committed (``KnownVersions``,
noted by the ingress from each outcome) is a miss: a cache write that Redis missed (stalled or
restarting, or its shard died before re-sending it) never hides the caller's own operation."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from actors.cache.read_cache import ReadCache
from actors.domain.accounts import Account
from actors.ledger.projection import account_from_view, account_view, apply_record, project
from actors.store import keys
from actors.store.port import LedgerStore
from actors.store.records import (
    AccountView,
    AssetTransactionView,
    EventRecord,
    JsonDict,
    OrderFilter,
    OrderView,
    Page,
    ReadModel,
    TransactionView,
)
from actors.store.views import account_view_dict, account_view_from_dict, view_dict, view_from_dict
from actors.telemetry import NullTelemetry, Telemetry

RECENT_WINDOW = 100
KNOWN_VERSIONS = 100_000  # users whose newest version a process remembers (about 10 MB)
T = TypeVar("T")


class KnownVersions:
    """The newest account version (the seq of its last event) this process saw committed for
    each user, the ``capacity`` most recently noted users kept."""

    def __init__(self, capacity: int = KNOWN_VERSIONS) -> None:
        self._capacity = capacity
        self._versions: OrderedDict[str, int] = OrderedDict()

    def note(self, username: str, version: int) -> None:
        """``username``'s account is at ``version`` or later (a replay's older seq is ignored)."""
        known = self._versions.pop(username, 0)
        self._versions[username] = max(known, version)
        if len(self._versions) > self._capacity:
            self._versions.popitem(last=False)

    def floor(self, username: str) -> int:
        """The lowest version a read of ``username`` may show (0 when none was seen)."""
        return self._versions.get(username, 0)


@dataclass(frozen=True)
class Head:
    """A user's read models at the head of the log: the account and the rows not yet written."""

    account: AccountView
    tail: tuple[ReadModel, ...]

    def rows(self, cls: type[T], keep: Callable[[T], bool] = lambda _: True) -> list[T]:
        """The unwritten rows of type ``cls`` passing ``keep``, newest first."""
        found: list[T] = [r for r in reversed(self.tail) if isinstance(r, cls) and keep(r)]
        return found


def empty_account(username: str) -> AccountView:
    """The account view of a user who has done nothing yet (version 0)."""
    return account_view(Account(username), None)


class LedgerReader:
    """Reads of a user's account, history and orders, never through the user's actor."""

    def __init__(
        self,
        store: LedgerStore,
        cache: ReadCache,
        telemetry: Telemetry | None = None,
        known: KnownVersions | None = None,
    ) -> None:
        self._store = store
        self._cache = cache
        self._telemetry = telemetry or NullTelemetry()
        self.known = known or KnownVersions()

    async def _cached(self, read: str, key: str, username: str) -> JsonDict | None:
        """The cached value of ``key`` (None on a miss, or when older than what this process saw
        committed for ``username``), counted as a hit or a miss of ``read``."""
        cached = await self._cache.get(key, self.known.floor(username))
        self._telemetry.cache(read, hit=cached is not None)
        return cached

    async def head(self, username: str) -> Head:
        """The account at the head of the log, from the store and the log's tail."""
        view = await self._store.get_account(username)
        watermark = view.version if view else 0
        tail_records = await self._store.events_after(username, watermark)
        if not tail_records:
            return Head(view or empty_account(username), ())
        account = account_from_view(view) if view else Account(username)
        rows: list[ReadModel] = []
        at = view.updated_at if view else None
        for record in tail_records:
            account = apply_record(account, record)
            rows.extend(project(record, account).rows)
            at = record.at
        return Head(account_view(account, at), tuple(rows))

    async def events_after(self, username: str, seq: int) -> list[EventRecord]:
        """The user's log entries after ``seq``, oldest first (resuming live events)."""
        return await self._store.events_after(username, seq)

    async def account(self, username: str) -> AccountView:
        """The user's account view (version 0 and empty before the first operation)."""
        key = keys.balance_cache_key(username)
        cached = await self._cached("balance", key, username)
        if cached is not None:
            return account_view_from_dict(cached)
        head = await self.head(username)
        await self._cache.put(key, head.account.version, account_view_dict(head.account))
        return head.account

    async def transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> Page[TransactionView]:
        """A page of the user's cash transactions, newest first.

        Pages inside the most recent ``RECENT_WINDOW`` transactions come from the cache.
        """
        window = await self._recent_window(username)
        items = [t for t in window.items if before_seq is None or t.seq < before_seq]
        if len(items) > limit or not window.has_more:
            return Page(items[:limit], has_more=len(items) > limit or window.has_more)
        head = await self.head(username)
        return await self._merged(
            head.rows(TransactionView, lambda t: before_seq is None or t.seq < before_seq),
            self._store.list_transactions(username, limit, before_seq),
            limit,
        )

    async def _recent_window(self, username: str) -> Page[TransactionView]:
        key = keys.transactions_cache_key(username)
        cached = await self._cached("transactions", key, username)
        if cached is not None:
            items = [view_from_dict(TransactionView, t) for t in cached["items"]]
            return Page(items, has_more=bool(cached["has_more"]))
        head = await self.head(username)
        page = await self._merged(
            head.rows(TransactionView),
            self._store.list_transactions(username, RECENT_WINDOW),
            RECENT_WINDOW,
        )
        value = {"items": [view_dict(t) for t in page.items], "has_more": page.has_more}
        await self._cache.put(key, head.account.version, value)
        return page

    async def orders(
        self, username: str, limit: int, after_id: str | None, where: OrderFilter
    ) -> Page[OrderView]:
        """A page of the user's orders, newest first, filtered."""
        head = await self.head(username)
        fresh = head.rows(
            OrderView, lambda o: where.matches(o) and (after_id is None or o.order_id < after_id)
        )
        return await self._merged(
            fresh, self._store.list_orders(username, limit, after_id, where), limit
        )

    async def order(self, username: str, order_id: str) -> OrderView | None:
        """One of the user's orders, None when it is not theirs or does not exist."""
        stored = await self._store.get_order(username, order_id)
        if stored is not None:
            return stored
        head = await self.head(username)
        fresh = head.rows(OrderView, lambda o: o.order_id == order_id)
        if fresh:
            return fresh[0]
        # The projector may have written the row and moved the watermark past it between the
        # two reads above; rows are written before the watermark, so the store has it now.
        return await self._store.get_order(username, order_id)

    async def asset_transactions(
        self, username: str, asset_id: str, limit: int, before_seq: int | None = None
    ) -> Page[AssetTransactionView]:
        """A page of the user's movements of one asset, newest first."""
        head = await self.head(username)
        fresh = head.rows(
            AssetTransactionView,
            lambda a: a.asset_id == asset_id and (before_seq is None or a.seq < before_seq),
        )
        return await self._merged(
            fresh,
            self._store.list_asset_transactions(username, asset_id, limit, before_seq),
            limit,
        )

    @staticmethod
    async def _merged(fresh: list[T], stored: Awaitable[Page[T]], limit: int) -> Page[T]:
        """The unwritten rows, then the stored page without the rows written meanwhile."""
        page = await stored
        items = fresh + [x for x in page.items if x not in fresh]
        return Page(items[:limit], has_more=len(items) > limit or page.has_more)
