"""A multi-process open-loop load generator: several client processes share one arrival rate.

One Python process sending through httpx falls behind near 200 requests/s on these 2 cores (the
first open-loop run, docs/benchmarks.md), so its figures measured the client. Here ``processes``
worker processes (spawned once, reused for every rate of a run) each send every
``processes``-th request of the schedule: request ``i`` is due at ``start + i / rate``, leaves
then over a raw HTTP/1.1 keep-alive connection (``bench.rawhttp``: prebuilt request bytes, no
client library), and its latency is measured from its intended time into an HdrHistogram. Each
worker returns its histogram (encoded), its statuses, failures, lateness and CPU time; the parent
adds them into one ``OpenLoopResult``, so a run reports the client's own cost per request too.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hdrh.histogram import HdrHistogram

from bench.openloop import MAX_LATENCY_US, OpenLoopResult, due_times
from bench.rawhttp import FAILURES, ConnectionPool, Mix

START_DELAY_S = 0.5  # the workers' common start, after the parent hands them the run
PER_WORKER_CONNECTIONS = 256


@dataclass(frozen=True)
class Slice:
    """What one worker sends of a run: every ``stride``-th request from ``first``."""

    host: str
    port: int
    mix: Mix
    rate: float
    duration_s: float
    first: int
    stride: int
    start_at: float  # wall-clock time (time.time()) of request 0's due time
    connections: int = PER_WORKER_CONNECTIONS


def run_slice(work: Slice) -> dict[str, Any]:
    """A worker's part of a run (in its own process): figures the parent can add up."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        pass
    cpu_before = time.process_time()
    figures = asyncio.run(_send_slice(work))
    figures["cpu_s"] = time.process_time() - cpu_before
    return figures


async def _send_slice(work: Slice) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    pool = ConnectionPool(work.host, work.port, work.connections)
    histogram = HdrHistogram(1, MAX_LATENCY_US, 3)
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    offsets = due_times(work.rate, work.duration_s)[work.first :: work.stride]
    indexes = range(work.first, len(offsets) * work.stride + work.first, work.stride)
    # the wall-clock start in this loop's clock
    start = loop.time() + (work.start_at - time.time())
    worst_lag = 0.0
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, due: float) -> None:
        try:
            statuses[await pool.send(work.mix.request(index))] += 1
        except FAILURES as error:
            failures[type(error).__name__] += 1
        latency_us = max(1, int((loop.time() - due) * 1_000_000))
        histogram.record_value(min(latency_us, MAX_LATENCY_US))

    for index, offset in zip(indexes, offsets, strict=True):
        due = start + offset
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        worst_lag = max(worst_lag, loop.time() - due)
        tasks.append(loop.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    finished = loop.time()
    await pool.close()
    return {
        "sent": len(tasks),
        "statuses": dict(statuses),
        "failures": dict(failures),
        "histogram": histogram.encode(),
        "worst_lag_s": worst_lag,
        "elapsed_s": finished - start,
        "connections": pool.opened,
    }


class LoadGenerator:
    """A pool of worker processes; ``run`` offers one rate of one mix and returns the result."""

    def __init__(self, processes: int = 2) -> None:
        self.processes = processes
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Ray
        self._pool = ProcessPoolExecutor(processes, mp_context=context)
        self.last_cpu_s = 0.0  # the workers' CPU seconds in the last run
        self.last_connections = 0

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(self, *_: object) -> None:
        self._pool.shutdown(cancel_futures=True)

    def run(self, url: str, mix: Mix, rate: float, duration_s: float) -> OpenLoopResult:
        """Offer ``rate`` requests/s of ``mix`` to ``url`` for ``duration_s``; wait for every
        answer; one result for all the workers."""
        parts = urlsplit(url)
        start_at = time.time() + START_DELAY_S
        slices = [
            Slice(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                mix,
                rate,
                duration_s,
                first,
                self.processes,
                start_at,
            )
            for first in range(self.processes)
        ]
        figures = list(self._pool.map(run_slice, slices))
        return combine(rate, duration_s, figures, self)


def combine(
    rate: float, duration_s: float, figures: list[dict[str, Any]], into: LoadGenerator | None
) -> OpenLoopResult:
    """One result from the workers' figures (histograms added, counters summed)."""
    result = OpenLoopResult(rate, duration_s)
    for part in figures:
        result.sent += part["sent"]
        result.statuses.update(part["statuses"])
        result.failures.update(part["failures"])
        result.latency_us.add(HdrHistogram.decode(part["histogram"]))
        result.worst_send_lag_s = max(result.worst_send_lag_s, part["worst_lag_s"])
        result.elapsed_s = max(result.elapsed_s, part["elapsed_s"])
    if into is not None:
        into.last_cpu_s = sum(part["cpu_s"] for part in figures)
        into.last_connections = sum(part["connections"] for part in figures)
    return result
