"""Live events over Redis pub/sub: the shards' publisher and the ingress's subscriber.

Each user's events go on ``actors.store.keys.events_channel(username)`` as JSON
``{"id": "<seq>" | null, "type": ..., "data": {...}}``; the price feed publishes every tick on
``actors.market.keys.PRICES_CHANNEL`` as a JSON list of quotes. One ``RedisLiveSubscriber`` per
ingress replica holds ONE pub/sub connection: it subscribes a user's channel while the user has
a stream on the replica and fans each message out through a ``LiveHub``. Redis is best effort
here as everywhere: publishing never raises, and a broken connection ends the replica's streams
(their clients resume from the event log) while it reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from actors.cache.breaker import CircuitBreaker
from actors.cache.client import GuardedRedis, redis_client
from actors.live.fanout import CLOSED, LOST, LiveHub, Subscription
from actors.live.port import LiveEvent
from actors.logs import start_background
from actors.market.keys import PRICES_CHANNEL
from actors.store import keys

log = logging.getLogger(__name__)
EVENT_TYPE = re.compile(r"^[a-z][a-z_]{0,39}$")  # becomes an SSE ``event:`` line: no newlines
EVENT_ID = re.compile(r"^[0-9]{1,20}$")
USER_CHANNEL_PREFIX = keys.events_channel("")

TIMEOUT_S = 1.0  # connecting and sending commands on the pub/sub connection
READ_POLL_S = 0.05  # the longest a new subscription waits for the reader to send SUBSCRIBE
PING_INTERVAL_S = 2.0  # a PING this often, so a stalled Redis is noticed ...
LIVENESS_TIMEOUT_S = 5.0  # ... when nothing at all arrived for this long
BACKOFF_MIN_S, BACKOFF_MAX_S = 0.1, 5.0  # reconnecting: doubling from min to max


class ConnectionLostError(ConnectionError):
    """Redis stopped answering on the pub/sub connection."""


def encode_event(event: LiveEvent) -> str:
    """The channel message of ``event``."""
    return json.dumps({"id": event.id, "type": event.type, "data": event.data})


def decode_event(text: str) -> LiveEvent | None:
    """The live event of a user-channel message, or None when it is not one (logged).

    ``id`` may be absent (publishers that predate it), null, a string of digits or an integer.
    """
    try:
        message = json.loads(text)
        kind, data, seq = message["type"], message["data"], message.get("id")
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("ignoring a live-event message that is not JSON of the expected shape")
        return None
    if isinstance(seq, int) and not isinstance(seq, bool):
        seq = str(seq)
    if not _valid_event(kind, data, seq):
        log.warning("ignoring a live-event message with a bad type, id or data")
        return None
    return LiveEvent(kind, data, seq)


def _valid_event(kind: object, data: object, seq: object) -> bool:
    return (
        isinstance(kind, str)
        and EVENT_TYPE.fullmatch(kind) is not None
        and isinstance(data, dict)
        and (seq is None or (isinstance(seq, str) and EVENT_ID.fullmatch(seq) is not None))
    )


def decode_prices(text: str) -> list[LiveEvent]:
    """One ``price`` event (no id) per quote of a tick message."""
    try:
        quotes = json.loads(text)
    except ValueError:
        quotes = None
    if not isinstance(quotes, list):
        log.warning("ignoring a price message that is not a JSON list")
        return []
    return [LiveEvent("price", quote) for quote in quotes if isinstance(quote, dict)]


class Outage:
    """Logs a dependency's failure once per outage, and its recovery."""

    def __init__(self, what: str) -> None:
        self._what = what
        self.failing = False

    def failed(self, error: BaseException) -> None:
        """A call failed: log it unless this outage was logged already."""
        if not self.failing:
            log.warning("%s failed (%s); retrying quietly until it answers", self._what, error)
        self.failing = True

    def recovered(self) -> None:
        """A call succeeded: log the end of an outage."""
        if self.failing:
            log.warning("%s answers again", self._what)
        self.failing = False


class RedisLiveEvents:
    """The ``LiveEvents`` port on Redis pub/sub: one pipeline of PUBLISH per call, a tight
    timeout, a circuit breaker; a failure drops the events (the log keeps them)."""

    def __init__(
        self, redis_url: str, timeout_s: float, breaker: CircuitBreaker | None = None
    ) -> None:
        self._redis = GuardedRedis(redis_url, timeout_s, breaker=breaker)
        self._outage = Outage("publishing live events to Redis")

    async def publish(self, username: str, events: list[LiveEvent]) -> None:
        """Publish ``events`` on the user's channel, in order (best effort, never raises)."""
        breaker = self._redis.breaker
        if not events or breaker.is_open:
            return
        pipe = self._redis.client.pipeline(transaction=False)
        for event in events:
            pipe.publish(keys.events_channel(username), encode_event(event))
        try:
            await pipe.execute()
        except Exception as error:  # noqa: BLE001 - live events are best effort
            breaker.record_failure()
            self._outage.failed(error)
            return
        breaker.record_success()
        self._outage.recovered()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.close()


class RedisLiveSubscriber:
    """The ingress's ``LiveFeed``: one pub/sub connection per replica, fanned out to bounded
    per-stream queues; started by the first subscription, reconnecting with backoff.

    Args:
        redis_url: where Redis is.
        queue_size: the events one stream may have waiting before it is ended.
        timeout_s: connect and command timeout on the pub/sub connection.
        ping_interval_s: how often to PING; the connection counts as lost after
            ``liveness_timeout_s`` with nothing received.
    """

    def __init__(
        self,
        redis_url: str,
        queue_size: int,
        timeout_s: float = TIMEOUT_S,
        ping_interval_s: float = PING_INTERVAL_S,
        liveness_timeout_s: float = LIVENESS_TIMEOUT_S,
    ) -> None:
        self._url = redis_url
        self._timeout_s = timeout_s
        self._ping_interval_s = ping_interval_s
        self._liveness_timeout_s = liveness_timeout_s
        self.hub = LiveHub(queue_size, await_confirmation=True)
        self._outage = Outage("the live-events subscription to Redis")
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.sessions = 0  # pub/sub connections opened so far

    @asynccontextmanager
    async def subscribe(self, username: str) -> AsyncIterator[Subscription]:
        """A subscription for one stream: ``username``'s events and every price tick."""
        if self._task is None and not self._closed:
            self._task = start_background(self._run())  # for every stream, not the first one's
        async with self.hub.subscribe(username) as subscription:
            yield subscription

    @property
    def stream_count(self) -> int:
        """How many streams are open on this replica."""
        return self.hub.stream_count

    async def close(self) -> None:
        """End every stream, stop the reader and close its connection."""
        self._closed = True
        await self.hub.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        backoff_s = BACKOFF_MIN_S
        while not self._closed:
            started = time.monotonic()
            try:
                await self._session()
            except Exception as error:  # noqa: BLE001 - any failure: reconnect
                self._outage.failed(error)
            self.hub.end_all(CLOSED if self._closed else LOST)
            if time.monotonic() - started > BACKOFF_MAX_S:
                backoff_s = BACKOFF_MIN_S  # it had been up for a while: a fresh outage
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, BACKOFF_MAX_S)

    async def _session(self) -> None:
        """One pub/sub connection, from connect to the first failure."""
        # No retry: redis-py would reconnect and resubscribe behind our back, hiding the gap in
        # which messages were lost; a broken connection must surface so the streams end.
        client = redis_client(self._url, self._timeout_s, retries=0)
        pubsub = client.pubsub()
        channels = _Channels(self.hub)
        try:
            await pubsub.subscribe(PRICES_CHANNEL)
            self.sessions += 1
            self._outage.recovered()
            heard = pinged = time.monotonic()
            while not self._closed:
                await channels.reconcile(pubsub)
                message = await pubsub.get_message(timeout=READ_POLL_S)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    self._dispatch(message, channels)
                if now - pinged >= self._ping_interval_s:
                    await pubsub.ping()
                    pinged = now
                if now - heard > self._liveness_timeout_s:
                    raise ConnectionLostError(f"nothing from Redis for {now - heard:.1f} s")
        finally:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    def _dispatch(self, message: dict[str, Any], channels: _Channels) -> None:
        kind, channel = message.get("type"), message.get("channel")
        if kind == "subscribe" and isinstance(channel, str):
            channels.acknowledged(channel)
        elif kind == "message" and channel == PRICES_CHANNEL:
            for tick in decode_prices(message["data"]):
                self.hub.broadcast(tick)
        elif kind == "message" and isinstance(channel, str):
            event = decode_event(message["data"])
            if event is not None and channel.startswith(USER_CHANNEL_PREFIX):
                self.hub.deliver(channel.removeprefix(USER_CHANNEL_PREFIX), event)


class _Channels:
    """The user channels of one pub/sub connection, kept in step with the hub's users.

    A user's subscriptions are confirmed only when every SUBSCRIBE sent for the channel has
    been acknowledged, so an acknowledgement of an earlier, since unsubscribed, round never
    confirms the current one.
    """

    def __init__(self, hub: LiveHub) -> None:
        self._hub = hub
        self._subscribed: set[str] = set()  # usernames
        self._pending: dict[str, int] = {}  # channel -> SUBSCRIBEs not yet acknowledged

    async def reconcile(self, pubsub: Any) -> None:
        """Subscribe the channels of new users, unsubscribe those of users who left."""
        wanted = set(self._hub.users())
        new, gone = wanted - self._subscribed, self._subscribed - wanted
        if new:
            self._subscribed |= new
            for username in new:
                channel = keys.events_channel(username)
                self._pending[channel] = self._pending.get(channel, 0) + 1
            await pubsub.subscribe(*(keys.events_channel(u) for u in new))
        if gone:
            self._subscribed -= gone
            for username in gone:
                self._hub.unconfirm(username)
            await pubsub.unsubscribe(*(keys.events_channel(u) for u in gone))

    def acknowledged(self, channel: str) -> None:
        """Redis confirmed one SUBSCRIBE of ``channel``."""
        pending = self._pending.get(channel, 0) - 1
        if pending > 0:
            self._pending[channel] = pending
            return
        self._pending.pop(channel, None)
        username = channel.removeprefix(USER_CHANNEL_PREFIX)
        if channel != PRICES_CHANNEL and username in self._subscribed:
            self._hub.confirm(username)
