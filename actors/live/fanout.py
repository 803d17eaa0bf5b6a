"""The fan-out of live events inside one ingress replica: one bounded queue per local stream.

``LiveHub`` holds the streams (``Subscription``) of the users connected to this replica and
hands each event to the streams of its user (``deliver``) or to every stream (``broadcast``,
for price ticks). It knows nothing of Redis: ``actors.live.redis.RedisLiveSubscriber`` feeds it
from one pub/sub connection, and on its own it is the in-process feed of the unit tests (its
``publish`` is the ``LiveEvents`` port, so a ``LedgerService`` can publish straight into it).

A stream never grows without bound: when its queue is full the stream is ended (``SLOW``) and
its client resumes from the event log with ``Last-Event-ID``, which costs less than buffering
for a client that does not read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from actors.live.port import LiveEvent

SLOW = "slow"  # the client did not keep up: its queue filled
LOST = "lost"  # the replica's pub/sub connection broke: events may have been missed
CLOSED = "closed"  # the replica is shutting down
GONE = "gone"  # the client disconnected
ENDED = "ended"  # the stream's session ended (logout, password change) or its token expired


class Subscription:
    """One stream's view of a user's live events: a bounded queue, ended at most once.

    ``wait_ready`` tells the stream when events published from now on will reach it (the
    replica's pub/sub channel of the user is confirmed), so that reading the log after that
    point leaves no gap.
    """

    def __init__(self, username: str, queue_size: int) -> None:
        self.username = username
        self.end_reason: str | None = None
        self._queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(queue_size)
        self._settled = asyncio.Event()  # ready, or ended before it was ready

    @property
    def closed(self) -> bool:
        """Whether the stream was ended (``end_reason`` says why)."""
        return self.end_reason is not None

    async def wait_ready(self, timeout_s: float) -> bool:
        """Wait until live events reach this subscription; False if it ended or timed out."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._settled.wait()
        except TimeoutError:
            return False
        return not self.closed

    async def next(self, timeout_s: float) -> LiveEvent | None:
        """The next event, or None when none came within ``timeout_s`` or the stream ended."""
        if self.closed and self._queue.empty():
            return None
        try:
            async with asyncio.timeout(timeout_s):
                return await self._queue.get()
        except TimeoutError:
            return None

    def ready(self) -> None:
        """Live events reach this subscription from now on."""
        self._settled.set()

    def offer(self, event: LiveEvent) -> None:
        """Queue ``event``; end the stream (``SLOW``) instead of growing past its bound."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.end(SLOW)

    def end(self, reason: str) -> None:
        """End the stream: drop what is queued and wake its reader."""
        if self.closed:
            return
        self.end_reason = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)
        self._settled.set()


class LiveFeed(Protocol):
    """What the ingress needs of a live-events source."""

    def subscribe(self, username: str) -> AbstractAsyncContextManager[Subscription]:
        """A subscription to ``username``'s events and the price ticks, for one stream."""

    @property
    def stream_count(self) -> int:
        """How many streams are open on this replica."""

    async def close(self) -> None:
        """End every stream and release the connection (replica shutdown)."""


class LiveHub:
    """The streams of this replica by user (a ``LiveFeed`` and a ``LiveEvents`` port).

    Args:
        queue_size: the events one stream may have waiting before it is ended.
        await_confirmation: new subscriptions wait for ``confirm(username)`` before they are
            ready (a pub/sub source); otherwise they are ready at once (in process).
        on_change: called when a user gets a first stream or loses a last one.
    """

    def __init__(
        self,
        queue_size: int,
        await_confirmation: bool = False,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self._queue_size = queue_size
        self._await_confirmation = await_confirmation
        self._on_change = on_change or (lambda: None)
        self._streams: dict[str, set[Subscription]] = {}
        self._confirmed: set[str] = set()
        self._closed = False

    @asynccontextmanager
    async def subscribe(self, username: str) -> AsyncIterator[Subscription]:
        """A subscription for one stream of ``username``, removed when the block exits."""
        subscription = self.add(username)
        try:
            yield subscription
        finally:
            self.remove(subscription)

    def add(self, username: str) -> Subscription:
        """A new subscription of ``username`` (already ended once the hub is closed)."""
        subscription = Subscription(username, self._queue_size)
        if self._closed:
            subscription.end(CLOSED)
            return subscription
        if not self._await_confirmation or username in self._confirmed:
            subscription.ready()
        streams = self._streams.setdefault(username, set())
        streams.add(subscription)
        if len(streams) == 1:
            self._on_change()
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """Forget ``subscription`` (its stream is over)."""
        streams = self._streams.get(subscription.username)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        if not streams:
            del self._streams[subscription.username]
            self._on_change()

    def users(self) -> list[str]:
        """The users with at least one stream here."""
        return list(self._streams)

    @property
    def stream_count(self) -> int:
        """How many streams are open here."""
        return sum(len(s) for s in self._streams.values())

    def confirm(self, username: str) -> None:
        """The user's channel is subscribed: their waiting subscriptions are ready."""
        self._confirmed.add(username)
        for subscription in self._streams.get(username, ()):
            subscription.ready()

    def unconfirm(self, username: str) -> None:
        """The user's channel is being unsubscribed: new subscriptions must wait again."""
        self._confirmed.discard(username)

    def deliver(self, username: str, event: LiveEvent) -> None:
        """Give ``event`` to every stream of ``username``."""
        for subscription in list(self._streams.get(username, ())):
            subscription.offer(event)

    def broadcast(self, event: LiveEvent) -> None:
        """Give ``event`` to every stream (price ticks)."""
        for streams in list(self._streams.values()):
            for subscription in list(streams):
                subscription.offer(event)

    def end_all(self, reason: str) -> None:
        """End every stream (they may have missed events) and forget every confirmation."""
        self._confirmed.clear()
        for streams in list(self._streams.values()):
            for subscription in list(streams):
                subscription.end(reason)

    async def publish(self, username: str, events: list[LiveEvent]) -> None:
        """The ``LiveEvents`` port, in process: deliver ``events`` to ``username``'s streams."""
        for event in events:
            self.deliver(username, event)

    async def close(self) -> None:
        """End every stream; later subscriptions end at once."""
        self._closed = True
        self.end_all(CLOSED)
