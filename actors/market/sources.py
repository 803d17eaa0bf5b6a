"""Where prices come from: the ``PriceSource`` port, the seeded random walk (the default) and
the factory that picks one from the settings."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from actors.domain.quotes import PRICE_QUANTUM, Quote, quantize_price
from actors.market.catalogue import Asset
from actors.settings import LedgerSettings


class PriceSource(Protocol):
    """Produces the next prices of the catalogue."""

    async def next_quotes(
        self, assets: Sequence[Asset], current: Mapping[str, Quote], now: datetime
    ) -> dict[str, Quote]:
        """The new quotes (stamped ``now``) of the assets it has a price for; the feed keeps
        ``current`` for the others. May raise: the feed logs it and skips the tick."""
        ...


class RandomWalkSource:
    """A seeded geometric random walk: each tick multiplies each price by
    ``exp(volatility * Z - volatility**2 / 2)`` (``Z`` standard normal, so the expected price
    does not drift), quantized to 8 places and never below the smallest price step.

    The same seed, catalogue and starting prices give the same sequence of prices.
    """

    def __init__(self, seed: int, volatility: float) -> None:
        self._random = random.Random(seed)
        self._volatility = volatility

    async def next_quotes(
        self, assets: Sequence[Asset], current: Mapping[str, Quote], now: datetime
    ) -> dict[str, Quote]:
        quotes: dict[str, Quote] = {}
        for asset in sorted(assets, key=lambda a: a.asset_id):  # a fixed order: reproducible
            last = current.get(asset.asset_id)
            price = last.price if last is not None else asset.initial_price
            quotes[asset.asset_id] = Quote(asset.asset_id, self.step(price), now)
        return quotes

    def step(self, price: Decimal) -> Decimal:
        """One move of the walk from ``price``."""
        sigma = self._volatility
        factor = Decimal(math.exp(self._random.gauss(0.0, 1.0) * sigma - sigma * sigma / 2))
        return max(quantize_price(price * factor), PRICE_QUANTUM)


def build_source(settings: LedgerSettings) -> PriceSource:
    """The source ``settings.price_source`` names."""
    if settings.price_source == "coingecko":
        from actors.market.coingecko import CoinGeckoSource  # httpx only when asked for

        return CoinGeckoSource()
    return RandomWalkSource(settings.price_seed, settings.price_volatility)
