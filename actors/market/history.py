"""Price history: one point per interval per asset, and the 24-hour figures computed from it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from actors.domain.quotes import Quote, quantize_price

DAY = timedelta(hours=24)
PERCENT_QUANTUM = Decimal("0.01")


@dataclass(frozen=True)
class PricePoint:
    """The prices of one asset during the interval starting at ``at``: first, highest, lowest
    and last (``close``, the price when the interval ended or the latest so far)."""

    at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    @classmethod
    def first(cls, at: datetime, price: Decimal) -> PricePoint:
        """The point of an interval that has seen one price."""
        return cls(at, price, price, price, price)

    def with_price(self, price: Decimal) -> PricePoint:
        """This point after one more price in the same interval."""
        return PricePoint(self.at, self.open, max(self.high, price), min(self.low, price), price)


def interval_start(at: datetime, interval_s: float) -> datetime:
    """The start of the ``interval_s``-long interval (aligned on the epoch) holding ``at``."""
    start = (at.timestamp() // interval_s) * interval_s
    return datetime.fromtimestamp(start, UTC)


class HistoryRecorder:
    """Folds every quote into the point of its interval; the feed stores the points it returns.

    Only the open interval's point of each asset is kept in memory: a restart starts that
    interval afresh from the next price.
    """

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._open: dict[str, PricePoint] = {}

    def record(self, quotes: Iterable[Quote]) -> dict[str, PricePoint]:
        """The current point of each quoted asset, with its quote folded in."""
        points: dict[str, PricePoint] = {}
        for quote in quotes:
            start = interval_start(quote.at, self._interval_s)
            current = self._open.get(quote.asset_id)
            if current is None or current.at != start:
                point = PricePoint.first(start, quote.price)
            else:
                point = current.with_price(quote.price)
            self._open[quote.asset_id] = points[quote.asset_id] = point
        return points


@dataclass(frozen=True)
class DayStats:
    """An asset's last 24 hours (or since its history starts, if that is more recent)."""

    reference: Decimal  # the first price of the window
    change: Decimal  # price now minus the reference
    change_percent: Decimal  # the change relative to the reference, in percent, 2 places
    high: Decimal
    low: Decimal


def change_percent(reference: Decimal, price: Decimal) -> Decimal:
    """``price``'s change from ``reference`` in percent, 2 places (0 for a zero reference)."""
    if reference == 0:
        return Decimal("0.00")
    return ((price - reference) * 100 / reference).quantize(PERCENT_QUANTUM, ROUND_HALF_EVEN)


def day_stats(points: Sequence[PricePoint], price: Decimal) -> DayStats | None:
    """The 24-hour figures from the window's ``points`` (oldest first) and the price now.

    Returns None without points (the history is unavailable): nothing to compare with.
    """
    if not points:
        return None
    reference = points[0].open
    return DayStats(
        reference=reference,
        change=quantize_price(price - reference),
        change_percent=change_percent(reference, price),
        high=max(max(p.high for p in points), price),
        low=min(min(p.low for p in points), price),
    )
