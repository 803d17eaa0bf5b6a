"""Live events in process: the SSE frames, the per-replica fan-out and its bounds, resuming
from the log after ``Last-Event-ID``, and ``GET /api/v1/events`` driven over raw ASGI (httpx's
ASGI transport waits for the end of a body, and a stream has none)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.types import Message

from actors.domain.commands import FillOrder
from actors.live import fanout
from actors.live.fanout import CLOSED, SLOW, LiveHub
from actors.live.port import LiveEvent
from actors.live.redis import _Channels, decode_event, decode_prices, encode_event
from actors.live.replay import live_events_of, replay
from actors.market.keys import PRICES_CHANNEL
from actors.store.keys import events_channel
from actors.store.records import AccountView, EventRecord, HoldingView
from actors.store.views import view_dict
from serve.app import create_api
from serve.routes import events as route
from serve.routes.events import KEEP_ALIVE, frame, resume_point
from tests.unit.api import Api, unique_username
from tests.unit.doubles import RecordingTelemetry
from tests.unit.test_api_orders import market

__all__ = ["market"]  # the fixture, re-exported for pytest

EVENTS = "/api/v1/events"
WAIT_S = 2.0


class SseClient:
    """One ``GET /api/v1/events`` on the app itself: the response's start, its body as it
    comes, and a disconnect the test triggers."""

    def __init__(self, api: Api, headers: dict[str, str], spec_version: str = "2.3") -> None:
        self._app = create_api(api.runtime)
        self._headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self._spec_version = spec_version
        self._gone = asyncio.Event()
        self._request_sent = False
        self._started: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._body: asyncio.Queue[bytes] = asyncio.Queue()
        self.text = ""
        self.task: asyncio.Task[None] | None = None
        self.block_sends = asyncio.Event()  # clear it to make the client stop reading
        self.receive_error: Exception | None = None  # raised by receive() once disconnected
        self.block_sends.set()

    async def open(self, query: str = "") -> Message:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": self._spec_version},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": EVENTS,
            "raw_path": EVENTS.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver"), *self._headers],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        self.task = asyncio.get_running_loop().create_task(
            self._app(scope, self._receive, self._send)
        )
        async with asyncio.timeout(WAIT_S):
            return await self._started

    async def _receive(self) -> Message:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        if self.receive_error is not None:
            raise self.receive_error
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._started.set_result(message)
        elif message["type"] == "http.response.body":
            await self.block_sends.wait()
            self._body.put_nowait(message.get("body", b""))

    async def read_until(self, text: str, timeout_s: float = WAIT_S) -> str:
        """The body so far, once it contains ``text``."""
        async with asyncio.timeout(timeout_s):
            while text not in self.text:
                self.text += (await self._body.get()).decode()
        return self.text

    async def frames(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` event frames, parsed (comments and the retry hint skipped)."""
        async with asyncio.timeout(WAIT_S):
            while len(parsed := parse(self.text)) < count:
                self.text += (await self._body.get()).decode()
        return parsed[:count]

    async def ended(self, timeout_s: float = WAIT_S) -> None:
        """Wait until the app finished the response."""
        assert self.task is not None
        async with asyncio.timeout(timeout_s):
            await self.task

    def rest(self) -> str:
        """The body so far, with what came since the last read."""
        while not self._body.empty():
            self.text += self._body.get_nowait().decode()
        return self.text

    async def disconnect(self) -> None:
        self._gone.set()
        await self.ended()


def parse(text: str) -> list[dict[str, Any]]:
    """The event frames of an SSE body: ``{"id"?, "event", "data"}`` each."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            found.append(fields)
    return found


def new_user(api: Api) -> tuple[str, dict[str, str]]:
    username = unique_username()
    assert api.register(username).status_code == 201
    token = api.login(username).json()["access_token"]
    return username, {"Authorization": f"Bearer {token}"}


async def deposit(api: Api, headers: dict[str, str], amount: str) -> None:
    response = await api.client.post(
        "/api/v1/balance/deposit", json={"amount": amount}, headers=headers
    )
    assert response.status_code == 201, response.text


def hub_of(api: Api) -> LiveHub:
    live = api.runtime.live
    assert isinstance(live, LiveHub)
    return live


def record(seq: int, event_type: str = "Deposited") -> EventRecord:
    payload = {"transaction_id": f"t{seq}", "amount": "1.00", "balance_after": "9.00"}
    payload["at"] = "2024-03-01T12:00:00+00:00"
    return EventRecord("alice_01", seq, event_type, payload, f"k{seq}", "h", "2024-03-01")


# Frames and the resume point


def test_an_event_frame_has_its_id_type_and_one_line_of_compact_json() -> None:
    event = LiveEvent("price", {"asset_id": "BTC", "note": "two\nlines"}, "7")

    text = frame(event)

    assert text == 'id: 7\nevent: price\ndata: {"asset_id":"BTC","note":"two\\nlines"}\n\n'


def test_a_frame_carries_the_public_form_the_get_endpoints_answer_with() -> None:
    view = AccountView("alice_01", Decimal("10.00"), Decimal("4.00"), 3, 3, "2024-03-01", {})
    holding = HoldingView("BTC", Decimal("0.5"), Decimal("0.2"), Decimal("100.00"), None, None)

    balance = parse(frame(LiveEvent("balance", view_dict(view), "3")))[0]["data"]
    held = parse(frame(LiveEvent("holding", view_dict(holding), "3")))[0]["data"]

    assert balance == {
        "current_balance": "10.00",
        "available_balance": "6.00",
        "held_balance": "4.00",
        "updated_at": "2024-03-01",
    }
    assert (held["asset_id"], held["available_quantity"], held["held_quantity"]) == (
        "BTC",
        "0.30000000",
        "0.20000000",
    )
    assert held["average_cost"] == "200.00000000"


@pytest.mark.parametrize(
    "event",
    [LiveEvent("gossip", {"a": 1}, "1"), LiveEvent("balance", {"balance": "1.00"}, "1")],
)
def test_an_event_without_a_public_form_is_dropped_not_sent(event: LiveEvent) -> None:
    assert frame(event) == ""


def test_an_event_without_an_id_has_no_id_line() -> None:
    assert frame(LiveEvent("price", {"asset_id": "BTC"})) == (
        'event: price\ndata: {"asset_id":"BTC"}\n\n'
    )


@pytest.mark.parametrize(
    ("header", "query", "expected"),
    [
        ("12", "3", 12),
        (None, "3", 3),
        ("  5 ", None, 5),
        ("x1", "4", 4),
        ("-1", None, None),
        ("1" * 13, None, None),
        ("١٢", None, None),  # Arabic-Indic digits are digits to str.isdigit, not to us
        (None, None, None),
    ],
)
def test_the_resume_point_is_the_header_then_the_query_when_they_are_sequence_numbers(
    header: str | None, query: str | None, expected: int | None
) -> None:
    assert resume_point(header, query) == expected


# Replay from the log


def test_the_log_becomes_the_operations_live_events_without_the_refusals() -> None:
    records = [record(1), record(2, "Refused"), record(3, "Withdrew")]

    events = live_events_of(records)

    assert [(e.type, e.id, e.data["transaction_id"]) for e in events] == [
        ("transaction", "1", "t1"),
        ("transaction", "3", "t3"),
    ]
    assert events[0].data["transaction_type"] == "DEPOSIT"
    assert events[1].data["transaction_type"] == "WITHDRAW"


def test_replay_gives_the_events_after_the_sequence_from_the_store(api: Api) -> None:
    username, headers = new_user(api)
    for amount in ("1.00", "2.00", "3.00"):
        api.deposit(headers, amount)
    api.post("/api/v1/balance/withdraw", json={"amount": "100.00"}, headers=headers)  # refused

    events = api.run(replay(api.runtime.reader, username, 1))

    rows = api.store.transactions[username]
    assert [e.id for e in events] == ["2", "3"]
    assert [e.type for e in events] == ["transaction", "transaction"]
    assert [e.data for e in events] == [view_dict(rows[2]), view_dict(rows[3])]


def test_a_client_too_far_behind_is_not_replayed(api: Api) -> None:
    username, headers = new_user(api)
    for amount in ("1.00", "2.00", "3.00"):
        api.deposit(headers, amount)

    assert api.run(replay(api.runtime.reader, username, 0, max_events=2)) == []
    assert len(api.run(replay(api.runtime.reader, username, 1, max_events=2))) == 2


# The fan-out


def test_each_user_gets_only_their_own_events_and_everyone_the_prices() -> None:
    async def scenario() -> list[list[LiveEvent | None]]:
        hub = LiveHub(queue_size=8)
        async with hub.subscribe("alice_01") as alice, hub.subscribe("bob_0001") as bob:
            await hub.publish("alice_01", [LiveEvent("balance", {"b": "1"}, "1")])
            hub.broadcast(LiveEvent("price", {"asset_id": "BTC"}))
            return [
                [await alice.next(0.1), await alice.next(0.1)],
                [await bob.next(0.1), await bob.next(0.1)],
            ]

    alice, bob = asyncio.run(scenario())

    assert alice == [LiveEvent("balance", {"b": "1"}, "1"), LiveEvent("price", {"asset_id": "BTC"})]
    assert bob == [LiveEvent("price", {"asset_id": "BTC"}), None]


def test_a_stream_that_falls_behind_its_bound_is_ended_not_grown() -> None:
    async def scenario() -> list[object]:
        hub = LiveHub(queue_size=2)
        async with hub.subscribe("alice_01") as slow:
            for seq in range(3):
                hub.deliver("alice_01", LiveEvent("balance", {}, str(seq)))
            hub.deliver("alice_01", LiveEvent("balance", {}, "late"))
            slow.end(CLOSED)  # already ended: the first reason stays
            return [slow.end_reason, await slow.next(1), await slow.next(1), slow.closed]

    assert asyncio.run(scenario()) == [SLOW, None, None, True]


def test_the_hub_reports_a_users_first_and_last_stream_and_forgets_ended_ones() -> None:
    changes: list[list[str]] = []

    async def scenario() -> int:
        hub = LiveHub(queue_size=1, on_change=lambda: changes.append(sorted(hub.users())))
        async with hub.subscribe("alice_01"), hub.subscribe("alice_01") as second:
            async with hub.subscribe("bob_0001"):
                count = hub.stream_count
            hub.remove(second)
        hub.remove(second)  # twice: nothing happens
        return count

    assert asyncio.run(scenario()) == 3
    assert changes == [["alice_01"], ["alice_01", "bob_0001"], ["alice_01"], []]


def test_a_subscription_waits_for_its_channel_when_the_hub_awaits_confirmation() -> None:
    async def scenario() -> list[bool]:
        hub = LiveHub(queue_size=1, await_confirmation=True)
        async with hub.subscribe("alice_01") as first:
            waiting = await first.wait_ready(0.05)
            hub.confirm("alice_01")
            confirmed = await first.wait_ready(0.05)
            async with hub.subscribe("alice_01") as second:
                at_once = await second.wait_ready(0)
            hub.unconfirm("alice_01")
            async with hub.subscribe("alice_01") as third:
                again = await third.wait_ready(0.05)
        return [waiting, confirmed, at_once, again]

    assert asyncio.run(scenario()) == [False, True, True, False]


def test_closing_the_hub_ends_every_stream_and_every_later_one() -> None:
    async def scenario() -> list[str | None]:
        hub = LiveHub(queue_size=1)
        async with hub.subscribe("alice_01") as before:
            await hub.close()
            async with hub.subscribe("bob_0001") as after:
                return [before.end_reason, after.end_reason, str(hub.stream_count)]

    assert asyncio.run(scenario()) == [CLOSED, CLOSED, "1"]


# GET /api/v1/events


def test_the_stream_needs_a_bearer_token(api: Api) -> None:
    response = api.get(EVENTS)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_deposit_reaches_its_users_stream_and_no_one_elses(api: Api) -> None:
    _, alice = new_user(api)
    _, bob = new_user(api)

    async def scenario() -> tuple[Message, list[dict[str, Any]], str]:
        alice_stream, bob_stream = SseClient(api, alice), SseClient(api, bob)
        start = await alice_stream.open()
        await bob_stream.open()
        await alice_stream.read_until("retry: 2000")
        await deposit(api, alice, "25.00")
        frames = await alice_stream.frames(2)
        hub_of(api).broadcast(LiveEvent("price", {"asset_id": "BTC", "price": "1.00"}))
        bob_text = await bob_stream.read_until("event: price")
        await alice_stream.disconnect()
        await bob_stream.disconnect()
        return start, frames, bob_text

    start, frames, bob_text = api.run(scenario())

    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert (headers[b"cache-control"], headers[b"x-accel-buffering"]) == (b"no-store", b"no")
    assert [(f["id"], f["event"]) for f in frames] == [("1", "balance"), ("1", "transaction")]
    assert frames[0]["data"]["current_balance"] == "25.00"
    assert frames[1]["data"]["amount"] == "25.00"
    assert "balance" not in bob_text and "transaction" not in bob_text
    assert hub_of(api).stream_count == 0


def test_a_quiet_stream_sends_keep_alive_comments(api: Api) -> None:
    _, alice = new_user(api)
    settings = api.runtime.settings
    api.runtime.settings = settings.model_copy(update={"events_keepalive_s": 0.05})

    async def scenario() -> str:
        stream = SseClient(api, alice)
        await stream.open()
        text = await stream.read_until(KEEP_ALIVE + KEEP_ALIVE)
        await stream.disconnect()
        return text

    text = api.run(scenario())

    assert text.startswith("retry: 2000\n\n" + KEEP_ALIVE)
    assert parse(text) == []


def test_a_stream_ends_soon_after_its_session_is_logged_out(api: Api) -> None:
    _, alice = new_user(api)
    settings = api.runtime.settings
    api.runtime.settings = settings.model_copy(update={"events_keepalive_s": 0.05})

    async def scenario() -> tuple[int, int]:
        stream = SseClient(api, alice)
        await stream.open()
        await stream.read_until(KEEP_ALIVE)
        out = await api.client.post("/api/v1/auth/logout", headers=alice)
        await stream.ended(timeout_s=2.0)  # without the session check it would never end
        return out.status_code, hub_of(api).stream_count

    assert api.run(scenario()) == (204, 0)


def test_a_reconnecting_client_is_replayed_what_it_missed_then_streamed_live(api: Api) -> None:
    _, alice = new_user(api)
    for amount in ("1.00", "2.00", "3.00"):
        api.deposit(alice, amount)

    async def scenario() -> list[dict[str, Any]]:
        stream = SseClient(api, {**alice, "Last-Event-ID": "1"})
        await stream.open(query="last_event_id=0")
        await stream.frames(2)
        await deposit(api, alice, "4.00")
        frames = await stream.frames(4)
        await stream.disconnect()
        return frames

    frames = api.run(scenario())

    assert [(f["id"], f["event"]) for f in frames] == [
        ("2", "transaction"),
        ("3", "transaction"),
        ("4", "balance"),
        ("4", "transaction"),
    ]
    assert [f["data"]["amount"] for f in frames if f["event"] == "transaction"] == [
        "2.00",
        "3.00",
        "4.00",
    ]


def test_an_event_both_replayed_and_live_is_sent_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    username, alice = new_user(api)
    api.deposit(alice, "1.00")
    api.deposit(alice, "2.00")
    in_flight = live_events_of([api.store.events[username][2]])[0]
    balance = view_dict(api.run(api.runtime.reader.account(username)))
    hub = hub_of(api)
    original_add = hub.add

    def add_with_a_commit_in_flight(name: str) -> fanout.Subscription:
        subscription = original_add(name)  # published after subscribing, before the log is read
        subscription.offer(in_flight)
        subscription.offer(LiveEvent("balance", balance, "2"))
        return subscription

    monkeypatch.setattr(hub, "add", add_with_a_commit_in_flight)

    async def scenario() -> list[dict[str, Any]]:
        stream = SseClient(api, {**alice, "Last-Event-ID": "1"})
        await stream.open()
        frames = await stream.frames(2)
        await stream.disconnect()
        return frames

    frames = api.run(scenario())

    assert [(f["id"], f["event"]) for f in frames] == [("2", "transaction"), ("2", "balance")]


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
def test_a_client_that_goes_away_ends_its_stream(
    api: Api, monkeypatch: pytest.MonkeyPatch, spec_version: str
) -> None:
    _, alice = new_user(api)

    async def scenario() -> int:
        stream = SseClient(api, alice, spec_version)
        await stream.open()
        await stream.read_until("retry")
        await stream.disconnect()
        return hub_of(api).stream_count

    assert api.run(scenario()) == 0


def test_a_client_whose_connection_fails_ends_its_stream(api: Api) -> None:
    _, alice = new_user(api)

    async def scenario() -> int:
        stream = SseClient(api, alice, spec_version="2.4")
        await stream.open()
        await stream.read_until("retry")
        stream.receive_error = RuntimeError("the connection broke")
        await stream.disconnect()
        return hub_of(api).stream_count

    assert api.run(scenario()) == 0


def test_a_client_that_stops_reading_is_dropped_at_its_bound(api: Api) -> None:
    _, alice = new_user(api)
    api.runtime.live = hub = LiveHub(queue_size=3)

    async def scenario() -> None:
        stream = SseClient(api, alice)
        await stream.open()
        await stream.read_until("retry")
        stream.block_sends.clear()
        for seq in range(10):
            hub.broadcast(LiveEvent("price", {"n": seq}))
            await asyncio.sleep(0)
        stream.block_sends.set()
        await stream.ended()

    api.run(scenario())

    assert hub.stream_count == 0


def run_until_ended(api: Api, headers: dict[str, str], act: Callable[[], Awaitable[Any]]) -> str:
    async def scenario() -> str:
        stream = SseClient(api, headers)
        await stream.open()
        await stream.read_until("retry")
        await act()
        await stream.ended()
        return stream.rest()

    return api.run(scenario())


def test_shutting_the_feed_down_ends_the_streams(api: Api) -> None:
    _, alice = new_user(api)

    text = run_until_ended(api, alice, api.runtime.live.close)

    assert text == "retry: 2000\n\n"


def test_without_a_live_channel_the_stream_replays_then_ends_so_the_client_polls(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "SUBSCRIBE_TIMEOUT_S", 0.05)
    _, alice = new_user(api)
    api.deposit(alice, "5.00")
    api.runtime.live = LiveHub(queue_size=3, await_confirmation=True)  # never confirmed

    text = run_until_ended(api, {**alice, "Last-Event-ID": "0"}, lambda: asyncio.sleep(0))

    assert [(f["id"], f["event"]) for f in parse(text)] == [("1", "transaction")]


# The Redis message shapes and the subscriber's channel bookkeeping (no Redis here)


def test_an_event_survives_its_channel_message() -> None:
    event = LiveEvent("order", {"order_id": "o1", "quantity": "0.5"}, "12")

    assert decode_event(encode_event(event)) == event
    assert json.loads(encode_event(LiveEvent("price", {})))["id"] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type": "balance", "data": {}}', LiveEvent("balance", {})),
        ('{"type": "balance", "data": {}, "id": 7}', LiveEvent("balance", {}, "7")),
        ('{"type": "balance", "data": {}, "id": true}', None),
        ('{"type": "balance", "data": {}, "id": "7\\nevent: x"}', None),
        ('{"type": "Balance\\n", "data": {}}', None),
        ('{"type": "balance", "data": []}', None),
        ('{"type": "balance"}', None),
        ("[1, 2]", None),
        ("not json", None),
    ],
)
def test_a_user_channel_message_is_decoded_only_when_it_is_a_well_formed_event(
    text: str, expected: LiveEvent | None
) -> None:
    assert decode_event(text) == expected


def test_a_tick_message_becomes_one_price_event_per_quote() -> None:
    text = json.dumps([{"asset_id": "BTC", "price": "1"}, "junk", {"asset_id": "ETH"}])

    assert decode_prices(text) == [
        LiveEvent("price", {"asset_id": "BTC", "price": "1"}),
        LiveEvent("price", {"asset_id": "ETH"}),
    ]
    assert decode_prices('{"asset_id": "BTC"}') == decode_prices("nope") == []


@dataclass
class RecordingPubSub:
    """The two pub/sub commands the subscriber sends, recorded."""

    sent: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    async def subscribe(self, *channels: str) -> None:
        self.sent.append(("subscribe", channels))

    async def unsubscribe(self, *channels: str) -> None:
        self.sent.append(("unsubscribe", channels))


def test_an_acknowledgement_of_an_earlier_round_never_confirms_a_resubscribed_channel() -> None:
    channel = events_channel("alice_01")

    async def scenario() -> tuple[list[bool], list[tuple[str, tuple[str, ...]]]]:
        hub, pubsub = LiveHub(queue_size=1, await_confirmation=True), RecordingPubSub()
        channels = _Channels(hub)
        async with hub.subscribe("alice_01"):
            await channels.reconcile(pubsub)  # SUBSCRIBE 1
        await channels.reconcile(pubsub)  # UNSUBSCRIBE
        async with hub.subscribe("alice_01") as again:
            await channels.reconcile(pubsub)  # SUBSCRIBE 2
            channels.acknowledged(channel)  # of SUBSCRIBE 1: the channel went away after it
            early = await again.wait_ready(0.01)
            channels.acknowledged(channel)
            channels.acknowledged(PRICES_CHANNEL)
            return [early, await again.wait_ready(0.01)], pubsub.sent

    ready, sent = asyncio.run(scenario())

    assert ready == [False, True]
    assert sent == [
        ("subscribe", (channel,)),
        ("unsubscribe", (channel,)),
        ("subscribe", (channel,)),
    ]


def test_a_limit_fill_streams_the_order_completed_the_cash_and_the_holding(market: Api) -> None:
    api = market
    username, alice = new_user(api)
    api.deposit(alice, "1000.00")
    body = {"order_type": "limit_buy", "asset_id": "BTC", "quantity": "0.01", "price": "40000"}
    placed = api.post("/api/v1/orders", json=body, headers={**alice, "Idempotency-Key": "k-1"})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["data"]["order_id"]

    async def scenario() -> list[dict[str, Any]]:
        stream = SseClient(api, alice)
        await stream.open()
        await stream.read_until("retry: 2000")
        command = FillOrder(order_id, Decimal("39000.00"), datetime.now(UTC))
        await api.ledger.service.execute(username, command, f"fill:{order_id}")
        frames = await stream.frames(3)
        await stream.disconnect()
        return frames

    frames = api.run(scenario())

    by_type = {f["event"]: f for f in frames}
    assert sorted(by_type) == ["balance", "holding", "order"]
    assert {f["id"] for f in frames} == {"3"}
    order = by_type["order"]["data"]
    assert (order["order_id"], order["status"], order["filled_price"]) == (
        order_id,
        "completed",
        "39000.00",
    )
    assert order["total_amount"] == "390.00"
    assert by_type["balance"]["data"]["current_balance"] == "610.00"
    assert by_type["balance"]["data"]["held_balance"] == "0.00"
    assert by_type["holding"]["data"]["quantity"] == "0.01000000"


def test_a_stream_beyond_the_replicas_cap_is_503_with_retry_after(api: Api) -> None:
    _, alice = new_user(api)
    _, bob = new_user(api)
    api.runtime.settings = api.runtime.settings.model_copy(update={"events_max_streams": 1})

    async def scenario() -> tuple[Any, Any]:
        first = SseClient(api, alice)
        await first.open()
        await first.read_until("retry: 2000")
        refused = await api.client.get(EVENTS, headers=bob)
        await first.disconnect()
        again = SseClient(api, bob)  # a slot is free again once the first stream ended
        started = await again.open()
        await again.disconnect()
        return refused, started

    refused, started = api.run(scenario())

    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == "service_unavailable"
    assert started["status"] == 200


def test_a_stream_counts_as_an_sse_subscriber_while_it_is_open(api: Api) -> None:
    _, alice = new_user(api)
    api.runtime.telemetry = telemetry = RecordingTelemetry()

    async def scenario() -> list[tuple[Any, ...]]:
        stream = SseClient(api, alice)
        await stream.open()
        await stream.read_until("retry")
        while_open = telemetry.of("sse_subscribers")
        await stream.disconnect()
        return while_open

    while_open = api.run(scenario())

    assert while_open == [(1,)]
    assert telemetry.of("sse_subscribers") == [(1,), (-1,)]
