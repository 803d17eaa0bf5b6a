"""Live events on a real ``redis-server``: the shards' publisher and the ingress's subscriber
agree on the channels and the message shape, one pub/sub connection serves every stream of a
replica, users never see each other's events, and a Redis that goes away or stalls ends the
streams (their clients resume from the log) while the subscriber reconnects."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from actors.cache.breaker import CircuitBreaker
from actors.domain.quotes import Quote
from actors.live.fanout import CLOSED, LOST, Subscription
from actors.live.port import LiveEvent
from actors.live.redis import RedisLiveEvents, RedisLiveSubscriber
from actors.market.keys import PRICES_CHANNEL
from actors.market.store import RedisPriceStore, quote_json
from actors.store import keys
from cluster.processes import ChildProcess, free_port, redis_server

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
WAIT_S = 3.0


def url_of(server: ChildProcess) -> str:
    return f"redis://127.0.0.1:{server.port}/0"


def admin(server: ChildProcess) -> redis.Redis:
    return redis.Redis(port=server.port, decode_responses=True)


def pubsub_connections(server: ChildProcess) -> int:
    return len(admin(server).client_list(_type="pubsub"))


def listeners(server: ChildProcess, username: str) -> int:
    channel = keys.events_channel(username)
    return int(admin(server).pubsub_numsub(channel)[0][1])


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {WAIT_S} s")
        await asyncio.sleep(0.02)


async def drain(subscription: Subscription, timeout_s: float = 0.2) -> list[LiveEvent]:
    found = []
    while (event := await subscription.next(timeout_s)) is not None:
        found.append(event)
    return found


def test_a_users_events_reach_only_their_streams_over_one_connection(
    server: ChildProcess,
) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=16)
    publisher = RedisLiveEvents(url_of(server), timeout_s=1.0)
    alice_events = [LiveEvent("balance", {"b": "1"}, "1"), LiveEvent("transaction", {}, "1")]

    async def scenario() -> list[list[LiveEvent]]:
        async with (
            subscriber.subscribe("alice_01") as alice,
            subscriber.subscribe("alice_01") as alice_again,
            subscriber.subscribe("bob_0001") as bob,
        ):
            assert all([await s.wait_ready(WAIT_S) for s in (alice, alice_again, bob)])
            assert (pubsub_connections(server), subscriber.sessions) == (1, 1)
            assert (listeners(server, "alice_01"), listeners(server, "bob_0001")) == (1, 1)
            await publisher.publish("alice_01", alice_events)
            await publisher.publish("bob_0001", [LiveEvent("order", {"o": "x"}, "9")])
            found = [await drain(alice), await drain(alice_again), await drain(bob)]
        await eventually(lambda: listeners(server, "alice_01") == 0, "alice unsubscribed")
        await subscriber.close()
        await publisher.close()
        return found

    alice, alice_again, bob = asyncio.run(scenario())

    assert alice == alice_again == alice_events
    assert bob == [LiveEvent("order", {"o": "x"}, "9")]


def test_a_price_tick_reaches_every_stream_as_one_event_per_quote(server: ChildProcess) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=16)
    at = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    quotes = [Quote("BTC", Decimal("50000.5"), at), Quote("ETH", Decimal("2500"), at)]

    async def scenario() -> list[list[LiveEvent]]:
        prices = RedisPriceStore(url_of(server), 1.0)
        async with (
            subscriber.subscribe("alice_01") as alice,
            subscriber.subscribe("bob_0001") as bob,
        ):
            assert await alice.wait_ready(WAIT_S) and await bob.wait_ready(WAIT_S)
            assert await prices.save_tick(quotes, {}, keep=10)
            found = [await drain(alice), await drain(bob)]
        await subscriber.close()
        return found

    alice, bob = asyncio.run(scenario())

    assert alice == bob == [LiveEvent("price", quote_json(q)) for q in quotes]


def test_messages_without_an_id_are_delivered_and_malformed_ones_skipped(
    server: ChildProcess,
) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=16)
    channel = keys.events_channel("alice_01")

    async def scenario() -> list[LiveEvent]:
        async with subscriber.subscribe("alice_01") as alice:
            assert await alice.wait_ready(WAIT_S)
            for text in ['{"type": "balance", "data": {"b": "2"}}', "not json", '{"id": 3}']:
                admin(server).publish(channel, text)
            admin(server).publish(PRICES_CHANNEL, "{}")  # not a list of quotes
            admin(server).publish(channel, '{"id": 4, "type": "order", "data": {}}')
            found = await drain(alice)
        await subscriber.close()
        return found

    assert asyncio.run(scenario()) == [
        LiveEvent("balance", {"b": "2"}),
        LiveEvent("order", {}, "4"),
    ]


def test_when_redis_goes_away_the_streams_end_and_the_subscriber_comes_back(
    server: ChildProcess,
) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=16)
    publisher = RedisLiveEvents(url_of(server), timeout_s=1.0, breaker=CircuitBreaker(100))

    async def scenario() -> tuple[str | None, list[LiveEvent], int]:
        async with subscriber.subscribe("alice_01") as before:
            assert await before.wait_ready(WAIT_S)
            server.stop()
            await eventually(lambda: before.closed, "the stream ended")
        server.start()
        async with subscriber.subscribe("alice_01") as after:
            assert await after.wait_ready(WAIT_S)
            await publisher.publish("alice_01", [LiveEvent("balance", {}, "5")])
            found = await drain(after)
        await subscriber.close()
        await publisher.close()
        return before.end_reason, found, subscriber.sessions

    reason, found, sessions = asyncio.run(scenario())

    assert reason == LOST
    assert found == [LiveEvent("balance", {}, "5")]
    assert sessions == 2


def test_a_dropped_connection_ends_the_streams_even_if_redis_is_back_at_once(
    server: ChildProcess,
) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=16)

    async def scenario() -> tuple[str | None, bool]:
        async with subscriber.subscribe("alice_01") as before:
            assert await before.wait_ready(WAIT_S)
            admin(server).client_kill_filter(_type="pubsub")
            await eventually(lambda: before.closed, "the stream ended")
        async with subscriber.subscribe("alice_01") as after:
            ready = await after.wait_ready(WAIT_S)
        await subscriber.close()
        return before.end_reason, ready

    assert asyncio.run(scenario()) == (LOST, True)


def test_a_stalled_redis_is_noticed_by_its_silence(server: ChildProcess) -> None:
    subscriber = RedisLiveSubscriber(
        url_of(server), queue_size=16, ping_interval_s=0.05, liveness_timeout_s=0.3
    )

    async def scenario() -> str | None:
        async with subscriber.subscribe("alice_01") as alice:
            assert await alice.wait_ready(WAIT_S)
            server.signal(signal.SIGSTOP)
            await eventually(lambda: alice.closed, "the stream ended")
            server.signal(signal.SIGCONT)
        await subscriber.close()
        return alice.end_reason

    assert asyncio.run(scenario()) == LOST


def test_a_stream_opened_while_redis_is_down_is_never_ready(tmp_path: Path) -> None:
    subscriber = RedisLiveSubscriber(f"redis://127.0.0.1:{free_port()}/0", queue_size=4)

    async def scenario() -> tuple[bool, str | None]:
        async with subscriber.subscribe("alice_01") as alice:
            ready = await alice.wait_ready(WAIT_S)
        await subscriber.close()
        return ready, alice.end_reason

    assert asyncio.run(scenario()) == (False, LOST)


def test_closing_the_subscriber_ends_its_streams_and_its_connection(server: ChildProcess) -> None:
    subscriber = RedisLiveSubscriber(url_of(server), queue_size=4)

    async def scenario() -> tuple[str | None, str | None]:
        async with subscriber.subscribe("alice_01") as alice:
            assert await alice.wait_ready(WAIT_S)
            await subscriber.close()
            async with subscriber.subscribe("bob_0001") as late:
                pass
        await eventually(lambda: pubsub_connections(server) == 0, "the connection closed")
        return alice.end_reason, late.end_reason

    assert asyncio.run(scenario()) == (CLOSED, CLOSED)


def test_publishing_to_an_absent_redis_never_raises_and_logs_the_outage_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    publisher = RedisLiveEvents(f"redis://127.0.0.1:{port}/0", 0.2, CircuitBreaker(100))
    later = redis_server(port, tmp_path)

    async def scenario() -> None:
        for seq in range(3):
            await publisher.publish("alice_01", [LiveEvent("balance", {}, str(seq))])
        await publisher.publish("alice_01", [])
        later.start()
        try:
            await publisher.publish("alice_01", [LiveEvent("balance", {}, "3")])
        finally:
            later.stop()
        await publisher.close()

    with caplog.at_level(logging.WARNING, logger="actors.live.redis"):
        asyncio.run(scenario())

    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "failed" in m]) == 1
    assert len([m for m in messages if "answers again" in m]) == 1
