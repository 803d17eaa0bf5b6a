"""``CoinGeckoSource``: real prices from CoinGecko's public API (``OP_PRICE_SOURCE=coingecko``).

Off by default. The public API allows a few calls a minute, so it is asked at most every
``min_interval_s``; in between, and for assets it does not price, the feed keeps the last
quotes, which then age: set ``OP_PRICE_MAX_AGE_S`` above that interval.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import httpx

from actors.domain.quotes import Quote, quantize_price
from actors.market.catalogue import Asset

BASE_URL = "https://api.coingecko.com/api/v3"
MIN_INTERVAL_S = 30.0
TIMEOUT_S = 5.0


class CoinGeckoSource:
    """Prices by ticker symbol from ``/simple/price`` (in USD)."""

    def __init__(
        self,
        base_url: str = BASE_URL,
        min_interval_s: float = MIN_INTERVAL_S,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_S, transport=transport)
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._asked_at: float | None = None

    async def next_quotes(
        self, assets: Sequence[Asset], current: Mapping[str, Quote], now: datetime
    ) -> dict[str, Quote]:
        if self._asked_at is not None and self._clock() - self._asked_at < self._min_interval_s:
            return {}
        self._asked_at = self._clock()
        symbols = {a.symbol.lower(): a.asset_id for a in assets}
        params = {"symbols": ",".join(sorted(symbols)), "vs_currencies": "usd"}
        response = await self._client.get("/simple/price", params=params)
        response.raise_for_status()
        body = json.loads(response.text, parse_float=Decimal)  # exact: never through float
        quotes: dict[str, Quote] = {}
        for symbol, prices in body.items():
            usd = _usd(prices)
            if symbol in symbols and usd is not None:
                quotes[symbols[symbol]] = Quote(symbols[symbol], usd, now)
        return quotes

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()


def _usd(prices: object) -> Decimal | None:
    """The positive USD price in one entry of the answer, or None."""
    usd = prices.get("usd") if isinstance(prices, dict) else None
    if isinstance(usd, bool) or not isinstance(usd, (int, Decimal)):
        return None
    price = quantize_price(Decimal(usd))
    return price if price > 0 else None
