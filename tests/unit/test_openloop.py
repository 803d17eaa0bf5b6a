"""The open-loop generator (bench/openloop.py) shows a server's queue that a closed loop hides:
latency counts from each request's intended send time."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bench.openloop import OpenLoopResult, due_times, run_open_loop

SERVICE_S = 0.02  # one request at a time, 20 ms each: 50 requests/s at most


def serial_server() -> httpx.MockTransport:
    """A server that answers one request at a time, each after ``SERVICE_S``."""
    lock = asyncio.Lock()

    async def handle(request: httpx.Request) -> httpx.Response:
        async with lock:
            await asyncio.sleep(SERVICE_S)
        return httpx.Response(200 if request.url.path == "/ok" else 503)

    return httpx.MockTransport(handle)


def run(rate: float, duration_s: float, path: str = "/ok") -> OpenLoopResult:
    async def go() -> OpenLoopResult:
        async with httpx.AsyncClient(transport=serial_server(), base_url="http://x") as client:
            return await run_open_loop(client, lambda c, _: c.get(path), rate, duration_s)

    return asyncio.run(go())


def test_due_times_are_evenly_spaced_at_the_rate() -> None:
    assert due_times(4, 1) == [0.0, 0.25, 0.5, 0.75]
    with pytest.raises(ValueError):
        due_times(0, 1)


def test_under_its_capacity_the_server_answers_near_its_service_time() -> None:
    result = run(rate=20, duration_s=1.0)

    assert (result.sent, result.statuses[200]) == (20, 20)
    assert SERVICE_S * 1000 <= result.percentile_ms(50) < 10 * SERVICE_S * 1000


def test_over_its_capacity_the_queue_shows_in_the_latency() -> None:
    # 100/s offered for 0.5 s to a 50/s server: the 50 requests take 1 s of service, so the last
    # waits about 0.5 s past its intended time, though each is served in 20 ms
    result = run(rate=100, duration_s=0.5)

    assert result.sent == 50 and result.answered == 50
    assert result.latency_us.get_max_value() / 1e6 >= 0.4
    assert result.percentile_ms(99) >= 400
    assert result.achieved_rate <= 60  # the server's rate, not the offered one
    # the wait is the server's queue, not the client sending late: even when a loaded host stalls
    # this process (a CI run saw a 0.42 s send lag), the stall delays the serial server too, so the
    # worst latency stays at least the 0.5 s queue above the client's own lateness
    worst_s = result.latency_us.get_max_value() / 1e6
    assert worst_s - result.worst_send_lag_s >= 0.4


def test_the_summary_counts_statuses_and_failures() -> None:
    refused = run(rate=10, duration_s=0.5, path="/busy").summary()

    assert refused["statuses"] == {503: 5} and refused["failures"] == {}
    assert refused["p50_ms"] <= refused["p99_ms"] <= refused["max_ms"]

    async def failing() -> OpenLoopResult:
        def broken(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as client:
            return await run_open_loop(client, lambda c, _: c.get("http://x/"), 10, 0.3)

    failed = asyncio.run(failing())
    assert failed.failures == {"ConnectError": 3} and failed.answered == 0
