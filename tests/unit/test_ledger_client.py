"""``LedgerClient``: route to the user's shard, retry while it restarts, 503 past the deadline.

Ray actor handles are replaced by fakes with the same ``method.remote(...)`` shape."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ray.exceptions import ActorDiedError, ActorUnavailableError

from actors import placement
from actors.domain.commands import Deposit
from actors.domain.events import Deposited
from actors.ledger.results import Committed
from actors.logs import bind_request
from actors.routing import shard_index
from actors.settings import LedgerSettings
from serve import ledger_client
from serve.ledger_client import LedgerClient
from serve.problems import Problem

HANG = "hang"
USER = "alice_01"
AT = datetime(2024, 3, 1, 12, tzinfo=UTC)
COMMITTED = Committed(1, Deposited("tx-1", Decimal("1.00"), Decimal("1.00"), AT))


class FakeMethod:
    """``handle.method``: each ``remote`` call answers with the next scripted step."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[tuple[Any, ...]] = []

    def remote(self, *args: Any) -> Awaitable[Any]:
        self.calls.append(args)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]

        async def answer() -> Any:
            if step == HANG:
                await asyncio.sleep(30)
            if isinstance(step, BaseException):
                raise step
            return step

        return answer()


class FakeShard:
    def __init__(self, *execute: Any, ping: Any = "pong") -> None:
        self.execute = FakeMethod(*execute)
        self.ping = FakeMethod(ping)


def client_with(
    monkeypatch: pytest.MonkeyPatch, *generations: list[FakeShard], timeout_s: float = 2.0
) -> tuple[LedgerClient, list[int]]:
    """A client whose n-th lookup of the shards gets ``generations[n]`` (the last one repeats)."""
    lookups: list[int] = []

    def fake_handles(config: LedgerSettings) -> list[FakeShard]:
        lookups.append(config.shard_count)
        return generations[min(len(lookups), len(generations)) - 1]

    monkeypatch.setattr(placement, "shard_handles", fake_handles)
    monkeypatch.setattr(ledger_client, "FIRST_BACKOFF_S", 0.01)
    client = LedgerClient(LedgerSettings(shard_count=len(generations[0])), timeout_s, 2)
    return client, lookups


def shards_for_user(answer: Any, count: int = 3) -> tuple[list[FakeShard], FakeShard]:
    shards = [FakeShard("wrong shard") for _ in range(count)]
    mine = FakeShard(*answer) if isinstance(answer, tuple) else FakeShard(answer)
    shards[shard_index(USER, count)] = mine
    return shards, mine


def execute(client: LedgerClient, key: str = "client-k1") -> Any:
    return asyncio.run(client.execute(USER, Deposit(Decimal("1.00")), key))


def test_the_id_of_the_request_being_served_goes_with_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shards, mine = shards_for_user(COMMITTED)
    client, _ = client_with(monkeypatch, shards)

    async def in_a_request() -> Any:
        bind_request("req-7")
        return await client.execute(USER, Deposit(Decimal("1.00")), "client-k1")

    assert asyncio.run(in_a_request()) == COMMITTED
    assert mine.execute.calls[0][3] == "req-7"


def test_a_command_goes_to_the_users_shard_and_its_outcome_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shards, mine = shards_for_user(COMMITTED)
    client, lookups = client_with(monkeypatch, shards)

    assert execute(client) == COMMITTED
    assert execute(client) == COMMITTED
    assert mine.execute.calls[0] == (USER, Deposit(Decimal("1.00")), "client-k1", None)
    assert sum(len(s.execute.calls) for s in shards) == 2
    assert len(lookups) == 1  # handles are looked up once and reused


def test_an_unavailable_shard_is_retried_on_the_same_handle_with_the_same_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unavailable = ActorUnavailableError("restarting", None)
    shards, mine = shards_for_user((unavailable, unavailable, COMMITTED))
    client, lookups = client_with(monkeypatch, shards)

    assert execute(client, "client-retry") == COMMITTED
    assert [call[2] for call in mine.execute.calls] == ["client-retry"] * 3
    assert len(lookups) == 1


def test_a_dead_shard_is_looked_up_again_and_the_retry_goes_to_its_replacement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead, corpse = shards_for_user(ActorDiedError())
    replaced, successor = shards_for_user(COMMITTED)
    client, lookups = client_with(monkeypatch, dead, replaced)

    assert execute(client, "client-retry") == COMMITTED
    assert [call[2] for call in corpse.execute.calls] == ["client-retry"]
    assert [call[2] for call in successor.execute.calls] == ["client-retry"]
    assert len(lookups) == 2


@pytest.mark.parametrize("error", [ActorDiedError(), ActorUnavailableError("down", None)])
def test_a_shard_that_stays_down_past_the_deadline_is_a_503(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    shards, mine = shards_for_user(error)
    client, _ = client_with(monkeypatch, shards, timeout_s=0.2)

    with pytest.raises(Problem) as problem:
        execute(client)

    assert (problem.value.status, problem.value.headers) == (503, {"Retry-After": "1"})
    assert "retry with the same key" in problem.value.detail
    assert 2 <= len(mine.execute.calls) <= 6  # backed off, not hammered


def test_a_shard_that_does_not_answer_in_time_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    shards, _ = shards_for_user(HANG)
    client, _ = client_with(monkeypatch, shards, timeout_s=0.05)

    with pytest.raises(Problem) as problem:
        execute(client)

    assert problem.value.status == 503
    assert "did not answer in time" in problem.value.detail


def test_ping_is_true_only_when_every_shard_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    healthy, _ = client_with(monkeypatch, [FakeShard("x"), FakeShard("x")])

    assert asyncio.run(healthy.ping(timeout_s=0.5))


@pytest.mark.parametrize("broken", [ActorDiedError(), HANG])
def test_ping_is_false_when_a_shard_fails_or_hangs(
    monkeypatch: pytest.MonkeyPatch, broken: Any
) -> None:
    client, _ = client_with(monkeypatch, [FakeShard("x"), FakeShard("x", ping=broken)])

    assert not asyncio.run(client.ping(timeout_s=0.05))
