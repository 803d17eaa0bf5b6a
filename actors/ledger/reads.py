"""``LedgerReader``: the read path. Redis first, the store (strongly consistent) on a miss, then
refill the cache with the version read, so a slow reader can never overwrite a newer value."""

from __future__ import annotations

from actors.cache.read_cache import ReadCache
from actors.ledger.records import BalanceView, TransactionPage
from actors.ledger.views import (
    balance_view_dict,
    balance_view_from_dict,
    transaction_view_dict,
    transaction_view_from_dict,
)
from actors.store import keys
from actors.store.port import LedgerStore

RECENT_WINDOW = 100


class LedgerReader:
    """Reads of a user's balance and cash history, never through the user's actor."""

    def __init__(self, store: LedgerStore, cache: ReadCache) -> None:
        self._store = store
        self._cache = cache

    async def balance(self, username: str) -> BalanceView | None:
        """The user's balance view, or None before the first operation."""
        key = keys.balance_cache_key(username)
        cached = await self._cache.get(key)
        if cached is not None:
            return balance_view_from_dict(cached)
        view = await self._store.get_balance(username)
        if view is not None:
            await self._cache.put(key, view.version, balance_view_dict(view))
        return view

    async def transactions(
        self, username: str, limit: int, before_seq: int | None = None
    ) -> TransactionPage:
        """A page of the user's transactions, newest first.

        Pages inside the most recent ``RECENT_WINDOW`` transactions come from the cache.
        """
        window = await self._recent_window(username)
        items = [t for t in window.items if before_seq is None or t.seq < before_seq]
        if len(items) > limit or not window.has_more:
            return TransactionPage(items[:limit], has_more=len(items) > limit or window.has_more)
        return await self._store.list_transactions(username, limit, before_seq)

    async def _recent_window(self, username: str) -> TransactionPage:
        key = keys.transactions_cache_key(username)
        cached = await self._cache.get(key)
        if cached is not None:
            items = [transaction_view_from_dict(t) for t in cached["items"]]
            return TransactionPage(items, has_more=bool(cached["has_more"]))
        page = await self._store.list_transactions(username, RECENT_WINDOW)
        version = page.items[0].seq if page.items else 0
        value = {"items": [transaction_view_dict(t) for t in page.items], "has_more": page.has_more}
        await self._cache.put(key, version, value)
        return page
