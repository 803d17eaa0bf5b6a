"""Price history: one point per interval (open, high, low, last), and the 24-hour change, high
and low computed from the points of the window and the price now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from actors.market.history import (
    DayStats,
    HistoryRecorder,
    PricePoint,
    change_percent,
    day_stats,
    interval_start,
)
from tests.unit.market import T0, quote


def point(minute: int, o: str, h: str, low: str, c: str) -> PricePoint:
    prices = [Decimal(v) for v in (o, h, low, c)]
    return PricePoint(T0 + timedelta(minutes=minute), *prices)


def test_intervals_are_aligned_on_the_epoch() -> None:
    at = datetime(2025, 11, 3, 12, 0, 59, 999000, tzinfo=UTC)

    assert interval_start(at, 60) == datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
    assert interval_start(at, 0.5) == datetime(2025, 11, 3, 12, 0, 59, 500000, tzinfo=UTC)


def test_quotes_of_one_interval_fold_into_one_point() -> None:
    recorder = HistoryRecorder(60)
    prices = ["100", "104", "97", "101"]

    points = [
        recorder.record([quote("BTC", p, T0 + timedelta(seconds=10 * i))])["BTC"]
        for i, p in enumerate(prices)
    ]

    assert points[-1] == PricePoint(T0, Decimal(100), Decimal(104), Decimal(97), Decimal(101))
    assert {p.at for p in points} == {T0}


def test_a_new_interval_starts_a_new_point_per_asset() -> None:
    recorder = HistoryRecorder(60)
    recorder.record([quote("BTC", "100", T0), quote("ETH", "10", T0)])

    later = recorder.record([quote("BTC", "90", T0 + timedelta(seconds=61))])

    assert later == {"BTC": PricePoint.first(T0 + timedelta(seconds=60), Decimal(90))}


def test_the_24h_change_is_measured_from_the_first_price_of_the_window() -> None:
    points = [point(0, "100", "120", "95", "110"), point(1, "110", "130", "90", "125")]

    stats = day_stats(points, Decimal("125.5"))

    assert stats == DayStats(
        reference=Decimal(100),
        change=Decimal("25.50000000"),
        change_percent=Decimal("25.50"),
        high=Decimal(130),
        low=Decimal(90),
    )


def test_a_fall_gives_a_negative_change_and_the_price_now_can_be_the_low() -> None:
    stats = day_stats([point(0, "200", "210", "190", "195")], Decimal("150"))

    assert stats is not None
    assert (stats.change, stats.change_percent) == (Decimal("-50.00000000"), Decimal("-25.00"))
    assert (stats.high, stats.low) == (Decimal(210), Decimal(150))


def test_the_price_now_can_be_the_high() -> None:
    stats = day_stats([point(0, "1", "2", "1", "2")], Decimal("3"))

    assert stats is not None and stats.high == Decimal(3) and stats.low == Decimal(1)


def test_without_history_there_are_no_24h_figures() -> None:
    assert day_stats([], Decimal("100")) is None


def test_the_change_percent_is_rounded_half_even_to_2_places() -> None:
    assert change_percent(Decimal(3), Decimal(4)) == Decimal("33.33")
    assert change_percent(Decimal("0.00001800"), Decimal("0.00001801")) == Decimal("0.06")
    assert change_percent(Decimal(0), Decimal(5)) == Decimal("0.00")
