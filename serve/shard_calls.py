"""``ShardCalls``: concurrent commands to one shard go as one actor call (group commit).

Submitting a Ray actor task costs the Gateway replica about a third of a millisecond of CPU
(``submit_actor_task``: 15-19% of the replica's time under a load of market orders, profiled
with py-spy), and each task costs the shard its own receive, deserialization and reply. So a
replica keeps at most ``in_flight`` calls outstanding per shard: a command that arrives while
they all are waits for the next call, which carries every command waiting by then (up to
``max_batch``; ``LedgerShard.execute_many`` runs them concurrently, in order per user, and
answers each). Under a light load every command leaves at once, alone, as before; under a
heavy one the batches grow with the queue, and the per-call cost is shared.

A batch answers when its last command does; a call that fails as a whole (the shard died, or
is restarting) fails each of its commands, which ``LedgerClient`` retries one by one with its
key. A caller that stops waiting (its deadline) leaves its command in the batch: the shard
applies it or not exactly as it would a single call, and the key makes the retry safe.
"""

from __future__ import annotations

import asyncio
from typing import Any

from actors.domain.commands import Command
from actors.ledger.results import Outcome

Request = tuple[str, Command, str, str | None]  # username, command, idempotency key, request id


class ShardCalls:
    """The calls of one Gateway replica to one shard actor."""

    def __init__(self, handle: Any, in_flight: int, max_batch: int = 64) -> None:
        if in_flight < 1 or max_batch < 1:
            raise ValueError("in_flight and max_batch must be at least 1")
        self._handle = handle
        self._in_flight = in_flight
        self._max_batch = max_batch
        self._pending: list[tuple[Request, asyncio.Future[Outcome]]] = []
        self._outstanding = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.calls = 0  # actor calls made, and the commands they carried: their ratio is the
        self.commands = 0  # mean batch size

    def submit(self, request: Request) -> asyncio.Future[Outcome]:
        """Queue ``request`` for this shard: the future of its outcome."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._outstanding < self._in_flight:
            self._send()
        return future

    def _send(self) -> None:
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        requests = [request for request, _ in batch]
        if len(requests) == 1:
            ref = self._handle.execute.remote(*requests[0])
        else:
            ref = self._handle.execute_many.remote(requests)
        self._outstanding += 1
        self.calls += 1
        self.commands += len(requests)
        task = asyncio.get_running_loop().create_task(self._answer(ref, batch))
        self._tasks.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, ref: Any, batch: list[tuple[Request, asyncio.Future[Outcome]]]) -> None:
        try:
            results = await ref
            if len(batch) == 1:
                results = [results]
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue  # its caller stopped waiting
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - the whole call failed: each command did
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        finally:
            self._outstanding -= 1
            if self._pending:
                self._send()
