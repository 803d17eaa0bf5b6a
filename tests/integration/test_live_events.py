"""Live events on the real stack, through Serve's HAProxy ingress: a user's stream gets their
own events within a second and never another user's, every stream gets the price ticks,
a reconnecting client is replayed what it missed, and HAProxy neither buffers a stream nor
times an idle one out before its keep-alive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import httpx
import pytest
import ray

from actors.live.port import LiveEvent
from actors.live.redis import RedisLiveEvents
from actors.store.records import OrderView
from actors.store.views import view_dict
from cluster.local import LocalStack
from serve.settings import Settings
from tests.integration.conftest import User, key, new_user
from tests.integration.test_cash_concurrency import served_per_replica, wait_until_replicas_serve
from tests.integration.test_limit_orders import funded, market_price, place_limit, publish
from tests.integration.test_trading import feed, ticking

pytestmark = pytest.mark.integration
AN_ORDER = OrderView(
    1, "o-1", None, "limit_buy", "BTC", D("0.01"), D("100"), "queued", None, None, "t", "t"
)
EVENTS = "/api/v1/events"
EVENTS_LINE = "GET /api/v1/events "
__all__ = ["ticking"]
LIVE_WITHIN_S = 1.0


@dataclass
class Stream:
    """An open SSE stream: its response and the frames parsed so far (comments skipped)."""

    response: httpx.Response
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)

    async def next_of(self, *types: str, timeout_s: float) -> dict[str, Any]:
        """The next frame of one of ``types`` within ``timeout_s`` (others are kept in
        ``seen``)."""
        async with asyncio.timeout(timeout_s):
            while True:
                frame = await self.frames.get()
                self.seen.append(frame)
                if frame["event"] in types:
                    return frame

    def drained(self) -> list[dict[str, Any]]:
        """Every frame received so far."""
        while not self.frames.empty():
            self.seen.append(self.frames.get_nowait())
        return self.seen


async def read_frames(stream: Stream) -> None:
    fields: dict[str, str] = {}
    async for line in stream.response.aiter_lines():
        if not line:
            if "event" in fields:
                data = json.loads(fields["data"])
                stream.frames.put_nowait({**fields, "data": data, "received": time.monotonic()})
            fields = {}
        elif not line.startswith(":") and ": " in line:
            name, value = line.split(": ", 1)
            fields[name] = value


@asynccontextmanager
async def sse(stack: LocalStack, user: User, **headers: str) -> AsyncIterator[Stream]:
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(base_url=stack.url, timeout=timeout) as http,
        http.stream("GET", EVENTS, headers={**user.headers, **headers}) as response,
    ):
        assert response.status_code == 200
        stream = Stream(response)
        reader = asyncio.get_running_loop().create_task(read_frames(stream))
        try:
            yield stream
        finally:
            reader.cancel()


async def deposit(stack: LocalStack, user: User, amount: str) -> float:
    """Deposit and return the time the reply came."""
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        headers = {**user.headers, "Idempotency-Key": key()}
        response = await http.post(
            "/api/v1/balance/deposit", json={"amount": amount}, headers=headers
        )
    assert response.status_code == 201, response.text
    return time.monotonic()


def test_a_stream_starts_at_once_with_its_headers_through_haproxy(
    stack: LocalStack, client: httpx.Client
) -> None:
    user = new_user(client)

    async def scenario() -> tuple[httpx.Headers, str, float]:
        async with httpx.AsyncClient(base_url=stack.url, timeout=10) as http:
            started = time.monotonic()
            async with http.stream("GET", EVENTS, headers=user.headers) as response:
                first = await anext(response.aiter_text())
                return response.headers, first, time.monotonic() - started

    headers, first, elapsed_s = asyncio.run(scenario())

    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-store"
    assert "content-encoding" not in headers
    assert first.startswith("retry: ")
    assert elapsed_s < 2.0  # HAProxy passes the first bytes on, it does not buffer the stream


def test_a_stream_needs_a_token(stack: LocalStack, client: httpx.Client) -> None:
    response = client.get(EVENTS)

    assert response.status_code == 401


def test_events_published_for_a_user_reach_only_that_users_stream(
    stack: LocalStack, client: httpx.Client
) -> None:
    alice, bob = new_user(client), new_user(client)
    publisher = RedisLiveEvents(stack.settings["redis_url"], timeout_s=1.0)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with sse(stack, alice) as alice_stream, sse(stack, bob) as bob_stream:
            await asyncio.sleep(0.5)  # both streams subscribed on their replica
            event = LiveEvent("order", view_dict(AN_ORDER), "1")
            await publisher.publish(alice.username, [event])
            got = await alice_stream.next_of("order", timeout_s=LIVE_WITHIN_S)
            await asyncio.sleep(0.5)
            await publisher.close()
            return got, bob_stream.drained()

    got, bob_frames = asyncio.run(scenario())

    assert got["id"] == "1"
    assert got["data"]["order_id"] == "o-1"
    assert [f for f in bob_frames if f["event"] != "price"] == []


def test_a_deposit_reaches_its_users_stream_within_a_second_and_no_one_elses(
    stack: LocalStack, client: httpx.Client
) -> None:
    alice, bob = new_user(client), new_user(client)

    async def scenario() -> tuple[list[dict[str, Any]], float, list[dict[str, Any]]]:
        async with sse(stack, alice) as alice_stream, sse(stack, bob) as bob_stream:
            await asyncio.sleep(0.5)
            replied = await deposit(stack, alice, "42.00")
            got = [await alice_stream.next_of("balance", "transaction", timeout_s=5.0)]
            late_s = time.monotonic() - replied
            got.append(await alice_stream.next_of("balance", "transaction", timeout_s=5.0))
            await asyncio.sleep(0.5)
            return got, late_s, bob_stream.drained()

    got, late_s, bob_frames = asyncio.run(scenario())

    assert sorted(f["event"] for f in got) == ["balance", "transaction"]
    assert {f["id"] for f in got} == {"1"}
    assert late_s < LIVE_WITHIN_S
    assert [f for f in bob_frames if f["event"] != "price"] == []


def test_every_stream_gets_the_price_ticks(stack: LocalStack, client: httpx.Client) -> None:
    tick_s = Settings(**stack.settings).price_tick_interval_s

    async def scenario() -> list[dict[str, Any]]:
        async with sse(stack, new_user(client)) as first, sse(stack, new_user(client)) as second:
            return [
                await stream.next_of("price", timeout_s=10 * tick_s + 5)
                for stream in (first, second)
            ]

    ticks = asyncio.run(scenario())

    for tick in ticks:
        assert "id" not in tick
        assert set(tick["data"]) == {"asset_id", "price", "at"}


def test_a_reconnecting_client_is_replayed_what_it_missed(
    stack: LocalStack, client: httpx.Client
) -> None:
    user = new_user(client)

    async def scenario() -> list[dict[str, Any]]:
        for amount in ("1.00", "2.00", "3.00"):
            await deposit(stack, user, amount)
        async with sse(stack, user, **{"Last-Event-ID": "1"}) as stream:
            return [await stream.next_of("transaction", timeout_s=5.0) for _ in range(2)]

    replayed = asyncio.run(scenario())

    assert [(f["id"], f["data"]["amount"]) for f in replayed] == [("2", "2.00"), ("3", "3.00")]


def test_haproxy_gives_an_idle_stream_longer_than_its_keep_alive(stack: LocalStack) -> None:
    if stack.options.proxy != "haproxy":
        pytest.skip("the stack runs Serve's Python proxy")
    configs = sorted((stack.run_dir / "h").rglob("haproxy.cfg"))  # under a per-node folder
    keepalive_s = Settings(**stack.settings).events_keepalive_s
    assert configs, "Serve's HAProxy wrote no configuration under the stack's run directory"

    for config in configs:
        text = config.read_text()
        timeouts = re.findall(r"^\s*timeout (client|server|tunnel) (\d+)s\s*$", text, re.M)

        # Absent means no limit; present, it must outlast the silence between keep-alives.
        assert all(int(s) > 2 * keepalive_s for _, s in timeouts), timeouts
        assert "compression" not in text  # a compressing proxy would hold frames back


def test_a_fill_reaches_its_owners_streams_on_both_replicas_within_a_second_of_the_tick(
    stack: LocalStack, client: httpx.Client, ticking: Any
) -> None:
    stack.deploy(ingress_replicas=2)
    try:
        wait_until_replicas_serve(stack.url, 2)
        alice, bob = funded(client), funded(client)
        ray.get(feed().pause.remote())
        limit = (market_price() * D("0.9")).quantize(D("0.01"))
        mine = place_limit(client, alice, "buy", "0.01", limit)["order_id"]
        theirs = place_limit(client, bob, "buy", "0.01", limit)["order_id"]
        before = served_per_replica(EVENTS_LINE)

        async def scenario() -> tuple[float, list[list[dict[str, Any]]], list[dict[str, Any]]]:
            async with sse(stack, bob) as bob_stream, contextlib.AsyncExitStack() as streams:
                alice_streams = [
                    await streams.enter_async_context(sse(stack, alice)) for _ in "1234"
                ]
                await asyncio.sleep(1.0)  # every stream's channel subscribed on its replica
                ticked = time.monotonic()
                publish((limit * D("0.99")).quantize(D("0.01")))  # crosses both orders
                fills = [
                    await s.next_of("order", timeout_s=5.0) for s in [*alice_streams, bob_stream]
                ]
                await asyncio.sleep(0.5)
                return (
                    ticked,
                    [s.drained() for s in alice_streams],
                    [fills[-1], *bob_stream.drained()],
                )

        ticked, alice_frames, bob_frames = asyncio.run(scenario())

        for frames in alice_frames:
            (fill,) = [f for f in frames if f["event"] == "order"]
            assert (fill["data"]["order_id"], fill["data"]["status"]) == (mine, "completed")
            assert fill["received"] - ticked < LIVE_WITHIN_S
            assert {f["id"] for f in frames if f["event"] != "price"} == {fill["id"]}
        bob_orders = {f["data"]["order_id"] for f in bob_frames if f["event"] == "order"}
        assert bob_orders == {theirs}  # bob's own fill, never alice's
        time.sleep(1.0)  # let the access logs flush
        after = served_per_replica(EVENTS_LINE)
        served = {name: n - before.get(name, 0) for name, n in after.items()}
        assert sum(served.values()) == 5, served
        assert len([n for n in served.values() if n > 0]) == 2, served  # both replicas streamed
    finally:
        stack.deploy(ingress_replicas=1)
