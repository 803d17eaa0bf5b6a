"""The shard's upkeep loop, without Ray: missed cache writes and passivation (failed read-model
writes are the projector's to retry, not the loop's)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from actors.domain.commands import Deposit
from actors.ledger.maintenance import Maintenance
from actors.ledger.service import LedgerService
from actors.settings import LedgerSettings
from actors.store.memory import InMemoryLedgerStore
from tests.unit.doubles import Clock, RecordingTelemetry, VersionedCache


@dataclass
class FakeRepairableCache(VersionedCache):
    missed: int = 0
    flushes: int = 0
    fail_flush: bool = False

    @property
    def missed_writes(self) -> int:
        return self.missed

    async def flush_missed(self) -> int:
        self.flushes += 1
        if self.fail_flush:
            raise ConnectionError("redis went away again")
        self.missed = 0
        return 0


@dataclass
class ManualClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def upkeep(
    cache: FakeRepairableCache, store: InMemoryLedgerStore | None = None
) -> tuple[Maintenance, LedgerService, ManualClock]:
    service = LedgerService(
        store or InMemoryLedgerStore(), cache, LedgerSettings(idle_timeout_s=0), clock=Clock()
    )
    clock = ManualClock()
    return (
        Maintenance(service, cache, interval_s=0.001, passivation_every_s=30, clock=clock),
        service,
        clock,
    )


def test_a_round_with_nothing_missed_does_not_touch_the_cache() -> None:
    cache = FakeRepairableCache()
    maintenance, _, _ = upkeep(cache)

    asyncio.run(maintenance.run_once())

    assert cache.flushes == 0


def test_missed_cache_writes_are_flushed() -> None:
    cache = FakeRepairableCache(missed=3)
    maintenance, _, _ = upkeep(cache)

    asyncio.run(maintenance.run_once())

    assert (cache.flushes, cache.missed) == (1, 0)


def test_idle_users_are_passivated_only_once_the_interval_has_passed() -> None:
    cache = FakeRepairableCache()
    maintenance, service, clock = upkeep(cache)

    async def scenario() -> bool:
        await service.execute("alice", Deposit(Decimal("1.00")), "k1")
        await service.flush()
        await maintenance.run_once()
        still_there = "alice" in service.users
        clock.now += 30
        await maintenance.run_once()
        return still_there

    assert asyncio.run(scenario())
    assert "alice" not in service.users


def test_a_user_whose_read_models_are_not_written_yet_is_not_passivated() -> None:
    store, cache = InMemoryLedgerStore(), FakeRepairableCache()
    maintenance, service, clock = upkeep(cache, store)

    async def scenario() -> tuple[bool, bool]:
        store.fail_next_projection = True
        await service.execute("alice", Deposit(Decimal("1.00")), "k1")
        clock.now += 30
        await maintenance.run_once()  # the projector is still backing off
        kept = "alice" in service.users
        await service.flush()
        clock.now += 30
        await maintenance.run_once()
        return kept, "alice" in service.users

    kept, still_there = asyncio.run(scenario())

    assert kept and not still_there
    assert store.accounts["alice"].version == 1
    assert service.projector.failures == 1


def test_the_loop_outlives_a_failing_round() -> None:
    cache = FakeRepairableCache(missed=1, fail_flush=True)
    maintenance, _, _ = upkeep(cache)

    async def run_a_while() -> None:
        task = asyncio.get_running_loop().create_task(maintenance.run_forever())
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run_a_while())

    assert cache.flushes >= 2  # kept trying after the first failure


def test_every_round_reports_the_active_users_and_passivation_lowers_them() -> None:
    cache, telemetry, clock = FakeRepairableCache(), RecordingTelemetry(), ManualClock()
    service = LedgerService(
        InMemoryLedgerStore(), cache, LedgerSettings(idle_timeout_s=0), telemetry=telemetry
    )
    maintenance = Maintenance(service, cache, passivation_every_s=30, clock=clock)

    async def scenario() -> None:
        await service.execute("alice", Deposit(Decimal("1.00")), "k1")
        await service.execute("bob", Deposit(Decimal("1.00")), "k2")
        await service.flush()
        await maintenance.run_once()
        clock.now += 30
        await maintenance.run_once()  # passivates both (idle timeout 0)
        await maintenance.run_once()

    asyncio.run(scenario())

    assert telemetry.of("active_users") == [(2,), (2,), (0,)]
