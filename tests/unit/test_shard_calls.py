"""``ShardCalls``: one call per command under a light load, batches under a heavy one, and each
command answered with its own outcome (or its own failure)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from ray.exceptions import ActorDiedError

from actors.domain.commands import Deposit
from serve.shard_calls import Request, ShardCalls


class Gate:
    """A fake shard whose calls answer when the test opens the gate: ``execute`` answers a
    request with its key, ``execute_many`` each request with its key (or ``answer``'s)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.single: list[Request] = []
        self.batches: list[list[Request]] = []
        self.whole_call_error: BaseException | None = None
        self.execute = _Method(self._execute)
        self.execute_many = _Method(self._execute_many)

    async def _execute(self, *request: Any) -> Any:
        self.single.append(request)  # type: ignore[arg-type]
        await self.opened.wait()
        if self.whole_call_error:
            raise self.whole_call_error
        return f"outcome of {request[2]}"

    async def _execute_many(self, requests: list[Request]) -> list[Any]:
        self.batches.append(requests)
        await self.opened.wait()
        if self.whole_call_error:
            raise self.whole_call_error
        return [
            ValueError(f"bad {key}") if key.startswith("bad") else f"outcome of {key}"
            for _, _, key, _ in requests
        ]


class _Method:
    def __init__(self, run: Any) -> None:
        self._run = run

    def remote(self, *args: Any) -> Any:
        return self._run(*args)


def request(key: str) -> Request:
    return ("alice_01", Deposit(Decimal("1.00")), key, None)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_under_a_light_load_each_command_is_its_own_call() -> None:
    async def go() -> None:
        shard = Gate()
        shard.opened.set()
        calls = ShardCalls(shard, in_flight=2)
        assert await calls.submit(request("k1")) == "outcome of k1"
        assert await calls.submit(request("k2")) == "outcome of k2"
        assert [r[2] for r in shard.single] == ["k1", "k2"] and shard.batches == []
        assert (calls.calls, calls.commands) == (2, 2)

    asyncio.run(go())


def test_commands_waiting_for_a_free_call_go_together_and_each_gets_its_own_answer() -> None:
    async def go() -> None:
        shard = Gate()
        calls = ShardCalls(shard, in_flight=1)
        first = calls.submit(request("k0"))
        waiting = [calls.submit(request(f"k{n}")) for n in range(1, 5)]
        await settle()
        assert len(shard.single) == 1 and shard.batches == []  # the others wait for the call
        shard.opened.set()
        assert await first == "outcome of k0"
        assert await asyncio.gather(*waiting) == [f"outcome of k{n}" for n in range(1, 5)]
        assert [[r[2] for r in batch] for batch in shard.batches] == [["k1", "k2", "k3", "k4"]]
        assert (calls.calls, calls.commands) == (2, 5)

    asyncio.run(go())


def test_a_batch_holds_at_most_max_batch_commands() -> None:
    async def go() -> None:
        shard = Gate()
        calls = ShardCalls(shard, in_flight=1, max_batch=2)
        futures = [calls.submit(request(f"k{n}")) for n in range(6)]
        shard.opened.set()
        await asyncio.gather(*futures)
        # the first alone (nothing outstanding), then 2, 2, and the last alone again
        assert [len(batch) for batch in shard.batches] == [2, 2]
        assert [r[2] for r in shard.single] == ["k0", "k5"]

    asyncio.run(go())


def test_an_exception_answers_its_own_command_only() -> None:
    async def go() -> None:
        shard = Gate()
        calls = ShardCalls(shard, in_flight=1)
        first = calls.submit(request("k0"))
        good, bad = calls.submit(request("k1")), calls.submit(request("bad-k2"))
        shard.opened.set()
        await first
        assert await good == "outcome of k1"
        with pytest.raises(ValueError, match="bad-k2"):
            await bad

    asyncio.run(go())


def test_a_call_that_fails_as_a_whole_fails_each_of_its_commands() -> None:
    async def go() -> None:
        shard = Gate()
        shard.whole_call_error = ActorDiedError()
        calls = ShardCalls(shard, in_flight=1)
        futures = [calls.submit(request(f"k{n}")) for n in range(3)]
        shard.opened.set()
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(r, ActorDiedError) for r in results)

    asyncio.run(go())


def test_a_caller_that_stops_waiting_leaves_the_others_answered() -> None:
    async def go() -> None:
        shard = Gate()
        calls = ShardCalls(shard, in_flight=1)
        first = calls.submit(request("k0"))
        gone, kept = calls.submit(request("k1")), calls.submit(request("k2"))
        gone.cancel()  # its deadline passed
        shard.opened.set()
        await first
        assert await kept == "outcome of k2"
        assert [r[2] for r in shard.batches[0]] == ["k1", "k2"]  # still sent: the key decides

    asyncio.run(go())


def test_a_cancelled_call_cancels_its_commands() -> None:
    async def go() -> None:
        shard = Gate()
        calls = ShardCalls(shard, in_flight=1)
        future = calls.submit(request("k0"))
        await settle()
        for task in list(calls._tasks):
            task.cancel()
        await settle()
        assert future.cancelled()

    asyncio.run(go())


def test_the_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ShardCalls(Gate(), in_flight=0)
    with pytest.raises(ValueError):
        ShardCalls(Gate(), in_flight=1, max_batch=0)
