"""``PriceBook``: a shard's copy of the feed's latest quotes, refreshed in the background, and
the one check of whether a price may be used to fill an order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from actors.domain.quotes import Quote
from actors.logs import start_background
from actors.market.errors import PriceUnavailableError
from actors.settings import LedgerSettings

log = logging.getLogger(__name__)
FetchQuotes = Callable[[], Awaitable[Mapping[str, Quote]]]
MIN_FETCH_TIMEOUT_S = 2.0


class PriceBook:
    """Quotes fetched every ``refresh_interval_s`` with ``fetch`` (the feed's ``latest``); a
    quote is usable while its price is positive and it is at most ``max_age_s`` old."""

    def __init__(
        self,
        fetch: FetchQuotes,
        refresh_interval_s: float,
        max_age_s: float,
        fetch_timeout_s: float | None = None,
    ) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_interval_s
        self._max_age_s = max_age_s
        self._fetch_timeout_s = fetch_timeout_s or max(MIN_FETCH_TIMEOUT_S, refresh_interval_s)
        self._quotes: dict[str, Quote] = {}
        self._task: asyncio.Task[None] | None = None
        self._fetch_ok = True

    @classmethod
    def from_settings(cls, fetch: FetchQuotes, settings: LedgerSettings) -> PriceBook:
        """Refreshed every tick, usable up to ``price_max_age_s``."""
        return cls(fetch, settings.price_tick_interval_s, settings.price_max_age_s)

    @property
    def quotes(self) -> Mapping[str, Quote]:
        """The newest quote known of each asset (usable or not)."""
        return dict(self._quotes)

    def start(self) -> None:
        """Refresh in the background from now on (idempotent; needs a running event loop)."""
        if self._task is None or self._task.done():
            self._task = start_background(self._refresh_forever())

    async def close(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh_forever(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self._refresh_s)

    async def refresh(self) -> bool:
        """Fetch the feed's quotes once and keep the newer of each; False if the feed failed
        (the quotes known stay, and age)."""
        try:
            fetched = await asyncio.wait_for(self._fetch(), self._fetch_timeout_s)
        except Exception as error:  # noqa: BLE001 - the feed restarting: retry next interval
            if self._fetch_ok:
                log.warning("price feed unreachable: %r", error)
            self._fetch_ok = False
            return False
        self._fetch_ok = True
        for asset_id, quote in fetched.items():
            known = self._quotes.get(asset_id)
            if known is None or quote.at >= known.at:  # a restarted feed never goes backwards
                self._quotes[asset_id] = quote
        return True

    def quote(self, asset_id: str, now: datetime) -> Quote:
        """The quote to price an order of ``asset_id`` with at ``now``.

        Raises:
            PriceUnavailableError: when there is no quote, its price is not positive, or it is
                older than the maximum age; ``retry_after_s`` is one refresh interval.
        """
        with contextlib.suppress(RuntimeError):  # outside an event loop: the owner starts it
            self.start()
        quote = self._quotes.get(asset_id)
        if quote is None:
            raise PriceUnavailableError(asset_id, self._refresh_s, "no price published yet")
        if quote.price <= 0:
            raise PriceUnavailableError(asset_id, self._refresh_s, "the price is not positive")
        if quote.age_s(now) > self._max_age_s:
            reason = f"the price is older than {self._max_age_s:g} s"
            raise PriceUnavailableError(asset_id, self._refresh_s, reason)
        return quote
