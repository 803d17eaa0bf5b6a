"""What the ledger and the read path report to ``Telemetry``: one operation record per
``execute`` (kind, result, latency), an order's type, a fresh refusal's reason, a fresh fill,
a version conflict, the active users, cache hits and misses; a replay repeats no refusal or
fill."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from actors.domain.commands import Deposit, FillOrder, PlaceLimitOrder, PlaceMarketOrder, Withdraw
from actors.domain.errors import (
    DailyLimitExceededError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    OrderNotCancellableError,
)
from actors.ledger.metering import filled_order_type, refusal_reason, result_of
from actors.ledger.reads import LedgerReader
from actors.ledger.results import Committed, Failed, Refused
from actors.ledger.service import LedgerService
from actors.operations.codec import REFUSALS
from actors.settings import LedgerSettings
from actors.store.errors import StoreUnavailableError
from actors.store.memory import InMemoryLedgerStore
from actors.telemetry import COMMITTED, FAILED, REFUSED, REPLAYED, NullTelemetry, Telemetry
from tests.unit.doubles import START, Clock, FixedPrices, RecordingTelemetry, VersionedCache

T = TypeVar("T")
D = Decimal
USER = "alice"
SETTINGS = LedgerSettings(daily_deposit_limit=D("1000000"), daily_withdrawal_limit=D("1000000"))


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(scenario)


def metered(
    store: InMemoryLedgerStore | None = None,
) -> tuple[LedgerService, RecordingTelemetry]:
    telemetry = RecordingTelemetry()
    prices = FixedPrices({"BTC": D("40000.00")})
    service = LedgerService(
        store or InMemoryLedgerStore(),
        VersionedCache(),
        SETTINGS,
        Clock(),
        prices=prices,
        telemetry=telemetry,
    )
    return service, telemetry


def test_a_committed_deposit_is_one_operation_record_with_its_kind_and_latency() -> None:
    service, telemetry = metered()

    run(service.execute(USER, Deposit(D("100.00")), "k1"))

    assert [c[0] for c in telemetry.calls] == ["operation"]
    [(kind, result, seconds)] = telemetry.of("operation")
    assert (kind, result) == ("deposit", COMMITTED)
    assert 0 <= seconds < 5


def test_a_refused_withdrawal_reports_its_reason_once_and_its_replay_as_replayed() -> None:
    service, telemetry = metered()

    first = run(service.execute(USER, Withdraw(D("5.00")), "k1"))
    again = run(service.execute(USER, Withdraw(D("5.00")), "k1"))

    assert isinstance(first, Refused) and isinstance(again, Refused) and again.replayed
    assert [(k, r) for k, r, _ in telemetry.of("operation")] == [
        ("withdraw", REFUSED),
        ("withdraw", REPLAYED),
    ]
    assert telemetry.of("refused") == [("insufficient_funds",)]


def test_a_market_buy_reports_its_order_type_result_and_fill_and_a_replay_no_second_fill() -> None:
    service, telemetry = metered()
    run(service.execute(USER, Deposit(D("1000.00")), "k1"))
    buy = PlaceMarketOrder("buy", "BTC", D("0.01"))

    assert isinstance(run(service.execute(USER, buy, "k2")), Committed)
    run(service.execute(USER, buy, "k2"))

    assert telemetry.of("order") == [("market_buy", COMMITTED), ("market_buy", REPLAYED)]
    assert telemetry.of("filled") == [("market_buy",)]


def test_a_limit_order_counts_as_an_order_when_placed_and_as_a_fill_when_the_matcher_fills_it() -> (
    None
):
    service, telemetry = metered()
    run(service.execute(USER, Deposit(D("1000.00")), "k1"))
    placed = run(service.execute(USER, PlaceLimitOrder("buy", "BTC", D("0.01"), D("39000")), "k2"))
    assert isinstance(placed, Committed)
    assert telemetry.of("filled") == []

    fill = FillOrder(placed.event.order.order_id, D("38999.00"), START)
    assert isinstance(run(service.execute(USER, fill, "fill:1")), Committed)

    assert telemetry.of("order") == [("limit_buy", COMMITTED)]
    assert telemetry.of("filled") == [("limit_buy",)]
    assert [k for k, _, _ in telemetry.of("operation")][-1] == "fill_order"


def test_bad_input_and_an_unavailable_store_are_failed_operations_with_nothing_else() -> None:
    class DownStore(InMemoryLedgerStore):
        async def load_snapshot(self, username: str) -> Any:
            raise StoreUnavailableError("down in this test")

    service, telemetry = metered(DownStore())

    bad = run(service.execute(USER, Deposit(D("-1")), "k1"))
    down = run(service.execute(USER, Deposit(D("1.00")), "k2"))

    assert isinstance(bad, Failed) and isinstance(down, Failed)
    assert [(k, r) for k, r, _ in telemetry.of("operation")] == [("deposit", FAILED)] * 2
    assert {c[0] for c in telemetry.calls} == {"operation"}


def test_a_commit_that_finds_its_sequence_taken_reports_a_version_conflict() -> None:
    store = InMemoryLedgerStore()
    service, telemetry = metered(store)
    other, _ = metered(store)  # a second writer on the same log (an old shard instance)
    run(service.execute(USER, Deposit(D("10.00")), "k1"))
    run(other.execute(USER, Deposit(D("20.00")), "k2"))

    outcome = run(service.execute(USER, Deposit(D("30.00")), "k3"))

    assert isinstance(outcome, Committed) and outcome.seq == 3
    assert telemetry.of("version_conflict") == [()]
    assert telemetry.of("operation")[-1][:2] == ("deposit", COMMITTED)


def test_the_active_users_are_reported_on_request() -> None:
    service, telemetry = metered()
    run(service.execute("alice", Deposit(D("1.00")), "k1"))
    run(service.execute("bob", Deposit(D("1.00")), "k2"))

    service.report_size()

    assert telemetry.of("active_users") == [(2,)]


def test_reads_report_a_miss_then_a_hit_of_each_cached_read() -> None:
    store, cache, telemetry = InMemoryLedgerStore(), VersionedCache(), RecordingTelemetry()
    reader = LedgerReader(store, cache, telemetry)

    async def scenario() -> None:
        await reader.account(USER)
        await reader.account(USER)
        await reader.transactions(USER, limit=10)
        await reader.transactions(USER, limit=10)

    run(scenario())

    assert telemetry.of("cache") == [
        ("balance", False),
        ("balance", True),
        ("transactions", False),
        ("transactions", True),
    ]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InsufficientFundsError(D("2"), D("1")), "insufficient_funds"),
        (InsufficientHoldingsError("BTC", D("2"), D("1")), "insufficient_holdings"),
        (DailyLimitExceededError("deposit", D("10"), D("9")), "daily_limit_exceeded"),
        (OrderNotCancellableError("o-1"), "order_not_cancellable"),
    ],
)
def test_each_recordable_refusal_has_a_snake_case_reason(error: Any, reason: str) -> None:
    assert refusal_reason(error) == reason


def test_every_recordable_refusal_is_covered_above() -> None:
    assert set(REFUSALS) == {
        "InsufficientFundsError",
        "InsufficientHoldingsError",
        "DailyLimitExceededError",
        "OrderNotCancellableError",
    }


def test_results_and_fills_of_outcomes() -> None:
    refusal = InsufficientFundsError(D("2"), D("1"))

    assert result_of(Failed(ValueError("x"))) == FAILED
    assert result_of(Refused(1, refusal)) == REFUSED
    assert result_of(Refused(1, refusal, replayed=True)) == REPLAYED
    assert result_of(Committed(1, object(), replayed=True)) == REPLAYED
    assert filled_order_type(object()) is None


def methods(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def test_the_null_and_recording_telemetry_implement_exactly_the_port() -> None:
    assert methods(NullTelemetry) == methods(Telemetry)
    assert methods(RecordingTelemetry) - {"of"} == methods(Telemetry)


def test_null_telemetry_records_nothing_and_never_fails() -> None:
    null = NullTelemetry()

    answers = [
        null.operation("deposit", COMMITTED, 0.1),
        null.order("market_buy", COMMITTED),
        null.filled("market_buy"),
        null.refused("insufficient_funds"),
        null.version_conflict(),
        null.cache("balance", hit=True),
        null.active_users(1),
        null.sse_subscribers(1),
    ]

    assert answers == [None] * 8
    assert vars(null) == {}
