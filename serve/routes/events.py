"""Live events: ``GET /api/v1/events``, a Server-Sent Events stream of the caller's ``order``,
``balance``, ``holding`` and ``transaction`` events and every ``price`` tick.

A stream starts with a ``retry:`` hint, then (with ``Last-Event-ID``) the events the client
missed, replayed from the log, then the live events; a ``: keep-alive`` comment goes out when
nothing else did for ``events_keepalive_s``. It ends when the client goes away, when it falls
too far behind (its queue fills), when the replica's Redis subscription breaks (events may
have been missed) or when the replica shuts down; in every case the client reconnects with
``Last-Event-ID`` and is replayed what it missed. See ``docs/live-events.md``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from actors.live.fanout import ENDED, GONE, Subscription
from actors.live.port import LiveEvent
from actors.live.replay import replay
from actors.store.records import HoldingView, JsonDict, OrderView, TransactionView
from actors.store.views import account_view_from_dict, view_from_dict
from serve.deps import CurrentClaims, RuntimeDep
from serve.pricing import holding_public
from serve.problems import unavailable
from serve.routes.balance import balance_public, transaction_public
from serve.routes.orders import order_public
from serve.runtime import Runtime
from serve.security import TokenClaims

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/events", tags=["events"])
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
KEEP_ALIVE = ": keep-alive\n\n"
RETRY_MS = 2000  # how long a client waits before reconnecting (the SSE ``retry`` field)
SUBSCRIBE_TIMEOUT_S = 2.0  # the longest a new stream waits for the replica's Redis channel
MAX_EVENT_ID_DIGITS = 12  # a log sequence number; anything else is ignored, not refused


# The public form of each live event type's data: the same shapes the GET endpoints answer
# with (the shards publish read models; HTTP shapes are made here, as for every route). A
# holding is shown unvalued: prices come as their own ``price`` events.
PUBLIC: dict[str, Callable[[JsonDict], Any]] = {
    "balance": lambda d: balance_public(account_view_from_dict(d)),
    "order": lambda d: order_public(view_from_dict(OrderView, d)),
    "transaction": lambda d: transaction_public(view_from_dict(TransactionView, d)),
    "holding": lambda d: holding_public(view_from_dict(HoldingView, d), None),
    "price": lambda d: d,
}


def public_data(event: LiveEvent) -> JsonDict | None:
    """The JSON a client is sent for ``event``; None (logged) for an unknown type or data
    that is not the read model of its type."""
    shape = PUBLIC.get(event.type)
    try:
        if shape is None:
            raise ValueError(f"no public form for live events of type {event.type!r}")
        shaped = shape(event.data)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        log.warning("dropping a live event of type %r: %s", event.type, str(error).splitlines()[0])
        return None
    return shaped if isinstance(shaped, dict) else shaped.model_dump(mode="json")


def frame(event: LiveEvent) -> str:
    """One SSE frame: ``id:`` (when the event has one), ``event:``, one ``data:`` line of
    compact JSON (JSON escapes newlines, so it is always one line); empty when the event has
    no public form."""
    data = public_data(event)
    if data is None:
        return ""
    lines = [f"id: {event.id}"] if event.id is not None else []
    lines.append(f"event: {event.type}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def resume_point(header: str | None, query: str | None) -> int | None:
    """The sequence number to resume after: the ``Last-Event-ID`` header (sent by a
    reconnecting client, so newer than the URL's) or the query; None when neither is one."""
    for value in (header, query):
        text = (value or "").strip()
        if text.isascii() and text.isdigit() and len(text) <= MAX_EVENT_ID_DIGITS:
            return int(text)
    return None


# Not in the OpenAPI document: it cannot describe an endless stream, a generated client would
# wait for the end of the body, and so would the schema-driven fuzz tests.
@router.get("", response_class=StreamingResponse, include_in_schema=False)
async def events(
    request: Request,
    claims: CurrentClaims,
    runtime: RuntimeDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(max_length=64)] = None,
) -> StreamingResponse:
    """The caller's live events as ``text/event-stream``; resumes after ``Last-Event-ID``.
    503 (``Retry-After``) when this replica already serves ``events_max_streams`` streams."""
    if runtime.live.stream_count >= runtime.settings.events_max_streams:
        raise unavailable("This server streams to as many clients as it can; retry shortly.")
    after = resume_point(last_event_id_header, last_event_id)
    stream = event_stream(request, runtime, claims, after)
    return StreamingResponse(stream, media_type="text/event-stream", headers=HEADERS)


async def event_stream(
    request: Request, runtime: Runtime, claims: TokenClaims, after: int | None
) -> AsyncIterator[str]:
    """The frames of one stream: the retry hint, the replay, then the live events."""
    username = claims.subject
    async with runtime.live.subscribe(username) as subscription:
        loop = asyncio.get_running_loop()
        watcher = loop.create_task(end_when_gone(request, subscription))
        every_s = runtime.settings.events_keepalive_s
        guard = loop.create_task(end_when_ended(runtime, claims, subscription, every_s))
        runtime.telemetry.sse_subscribers(+1)
        try:
            yield f"retry: {RETRY_MS}\n\n"
            # Subscribed before the log is read: an event committed in between is in one or both.
            live = await subscription.wait_ready(SUBSCRIBE_TIMEOUT_S)
            replayed = await replay(runtime.reader, username, after) if after is not None else []
            for chunk in filter(None, map(frame, replayed)):
                yield chunk
            if not live:
                return  # Redis is unreachable: the client polls the log through its reconnects
            seen = {(e.id, e.type) for e in replayed}
            async for chunk in live_frames(subscription, runtime.settings.events_keepalive_s, seen):
                yield chunk
        finally:
            runtime.telemetry.sse_subscribers(-1)
            watcher.cancel()
            guard.cancel()


async def live_frames(
    subscription: Subscription, keepalive_s: float, seen: set[tuple[str | None, str]]
) -> AsyncIterator[str]:
    """Frames of new events (skipping the ``seen`` ones, already replayed), and a keep-alive
    comment whenever nothing else went out for ``keepalive_s``; until the subscription ends."""
    quiet_since = time.monotonic()
    while True:
        event = await subscription.next(max(quiet_since + keepalive_s - time.monotonic(), 0.0))
        if event is None and subscription.closed:
            return
        if event is not None and (event.id, event.type) in seen:
            continue
        chunk = KEEP_ALIVE if event is None else frame(event)
        if chunk:
            quiet_since = time.monotonic()
            yield chunk


async def end_when_gone(request: Request, subscription: Subscription) -> None:
    """End ``subscription`` (``GONE``) as soon as the client disconnects."""
    try:
        while (await request.receive())["type"] != "http.disconnect":
            pass  # the (empty) request body: a GET has nothing else to say
    except Exception:  # noqa: BLE001 - a receive that fails: the client is gone too
        pass
    subscription.end(GONE)


async def end_when_ended(
    runtime: Runtime, claims: TokenClaims, subscription: Subscription, every_s: float
) -> None:
    """End ``subscription`` (``ENDED``) once its session ends or its access token expires,
    checked every ``every_s``: a stream does not outlive a logout or a password change."""
    while not subscription.closed:
        await asyncio.sleep(every_s)
        if not await runtime.sessions.holds(claims):
            subscription.end(ENDED)
