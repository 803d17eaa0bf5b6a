"""An open-loop load generator: requests leave at a fixed arrival rate, whatever the server does.

wrk (``bench/run.py``) is a closed loop: each connection sends its next request when the last
one answered, so a server that slows down slows the clients with it and its queue never shows
("coordinated omission"). Here request ``i`` is due at ``start + i / rate``, is sent then (as a
task of its own, never waiting for earlier answers), and its latency is measured from that
intended time, not from when it actually left: a request the client could only send late, because
the machine or the connection pool was busy, counts its wait too. Latencies go into an
HdrHistogram (microseconds, 3 significant digits).

Ad hoc: ``python -m bench.openloop URL --rate 200 --duration 10`` (a GET of URL); the scenarios of
issue 17 build on ``run_open_loop``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from hdrh.histogram import HdrHistogram

MAX_LATENCY_US = 120_000_000  # two minutes: beyond it a request is recorded as two minutes
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def due_times(rate: float, duration_s: float) -> list[float]:
    """The intended send times of a run, in seconds from its start: evenly spaced."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("the rate and the duration must be positive")
    return [i / rate for i in range(int(rate * duration_s))]


@dataclass
class OpenLoopResult:
    """What one run offered and what the server made of it."""

    offered_rate: float
    duration_s: float
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # no answer: the exception's name
    latency_us: HdrHistogram = field(default_factory=lambda: HdrHistogram(1, MAX_LATENCY_US, 3))
    worst_send_lag_s: float = 0.0  # how late the client itself sent its most delayed request
    elapsed_s: float = 0.0  # from the first due time to the last answer

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer (any status)."""
        return sum(self.statuses.values())

    @property
    def achieved_rate(self) -> float:
        """Answers per second over the whole run, the drain after the last send included."""
        return self.answered / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, percentile: float) -> float:
        """A latency percentile in milliseconds, from the intended send time."""
        return float(self.latency_us.get_value_at_percentile(percentile)) / 1000

    def summary(self) -> dict[str, Any]:
        """The figures a report shows."""
        return {
            "offered_rate": self.offered_rate,
            "achieved_rate": round(self.achieved_rate, 1),
            "sent": self.sent,
            "answered": self.answered,
            "statuses": dict(sorted(self.statuses.items())),
            "failures": dict(self.failures),
            **{f"p{p:g}_ms": round(self.percentile_ms(p), 2) for p in PERCENTILES},
            "max_ms": round(float(self.latency_us.get_max_value()) / 1000, 2),
            "worst_send_lag_ms": round(self.worst_send_lag_s * 1000, 2),
        }


async def run_open_loop(
    client: httpx.AsyncClient,
    send: Send,
    rate: float,
    duration_s: float,
    progress: Callable[[str], None] | None = None,
) -> OpenLoopResult:
    """Send ``rate`` requests per second for ``duration_s`` (``send(client, i)`` makes request
    ``i``), wait for every answer, and measure each from its intended send time."""
    result = OpenLoopResult(rate, duration_s)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, due: float) -> None:
        try:
            response = await send(client, index)
            result.statuses[response.status_code] += 1
        except (httpx.HTTPError, OSError) as error:
            result.failures[type(error).__name__] += 1
        latency_us = max(1, int((loop.time() - due) * 1_000_000))
        result.latency_us.record_value(min(latency_us, MAX_LATENCY_US))

    next_report = start + 1.0
    for index, offset in enumerate(due_times(rate, duration_s)):
        due = start + offset
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        result.worst_send_lag_s = max(result.worst_send_lag_s, loop.time() - due)
        tasks.append(asyncio.create_task(one(index, due)))
        result.sent += 1
        if progress and loop.time() >= next_report:
            next_report += 1.0
            answered = result.answered + sum(result.failures.values())
            progress(f"  {loop.time() - start:5.1f} s: {result.sent} sent, {answered} done")
    await asyncio.gather(*tasks)
    result.elapsed_s = loop.time() - start
    return result


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="GET this URL")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    parser.add_argument("--connections", type=int, default=256, help="the client's pool")
    args = parser.parse_args()

    async def go() -> OpenLoopResult:
        limits = httpx.Limits(max_connections=args.connections)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            return await run_open_loop(
                client, lambda c, _: c.get(args.url), args.rate, args.duration, print
            )

    started = time.monotonic()
    print(f"open loop: GET {args.url} at {args.rate:g}/s for {args.duration:g} s")
    figures = asyncio.run(go()).summary()
    print(f"done in {time.monotonic() - started:.1f} s")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
