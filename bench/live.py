"""``make bench`` (third part): how fast live events reach connected clients.

On the moto stack with HAProxy: ``BENCH_SSE_CLIENTS`` (100) users, each with one open limit buy
and one open ``GET /api/v1/events`` stream. Then ``BENCH_SSE_TICKS`` price ticks that cross no
order, and one that crosses all of them. Measured, from the moment the tick is handed to the
price feed until the client has parsed the frame:

- every ``price`` event at every client (ticks x clients samples): the feed, Redis pub/sub, the
  replica's fan-out, HAProxy, the client;
- every client's own ``order`` event of its fill (clients samples): the feed, the matcher, the
  owner's shard (one conditional write), its publish, and the same way out.

The set-up goes to the shards directly and the sessions are opened in the stack's table with its
signing key (the HTTP path and argon2 logins are not what is measured); the streams and the fills
go the production way. The clients run in this process on the same two cores as the stack, so the
figures include the clients' own parsing of every frame.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import ray

from actors.cache.sessions import NullSessionCache
from actors.domain.commands import Deposit, PlaceLimitOrder
from actors.market.feed import FEED_NAME
from actors.settings import LedgerSettings, dynamodb_client
from actors.store.blocking import BlockingRunner
from actors.users.sessions import DynamoSessionStore
from bench.host import say
from bench.matching import _execute_all, _matcher_status, _wait
from bench.run import HERE, SETTINGS, update_doc
from cluster.local import LocalStack, StackOptions
from serve.runtime import build_sessions, build_tokens
from serve.settings import Settings

CLIENTS = int(os.environ.get("BENCH_SSE_CLIENTS", "100"))
TICKS = int(os.environ.get("BENCH_SSE_TICKS", "30"))
TICK_GAP_S = 0.2  # between the measured ticks
ASSET = "BTC"
QUANTITY = Decimal("0.001")
BEGIN, END = "<!-- bench:live:begin -->", "<!-- bench:live:end -->"


class Client:
    """One SSE client: its stream's parsed frames with their arrival times."""

    def __init__(self, username: str, token: str) -> None:
        self.username = username
        self.headers = {"Authorization": f"Bearer {token}"}
        self.opened = asyncio.Event()
        self.prices: dict[Decimal, float] = {}  # BTC price -> when it arrived
        self.filled_at: float | None = None

    async def run(self, http: httpx.AsyncClient) -> None:
        async with http.stream("GET", "/api/v1/events", headers=self.headers) as response:
            if response.status_code != 200:
                raise RuntimeError(f"stream answered {response.status_code}")
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                self.opened.set()
                if line:
                    name, _, value = line.partition(": ")
                    fields[name] = value
                    continue
                self._frame(fields, time.monotonic())
                fields = {}

    def _frame(self, fields: dict[str, str], at: float) -> None:
        kind = fields.get("event")
        if kind is None:
            return
        data = json.loads(fields["data"])
        if kind == "price" and data["asset_id"] == ASSET:
            self.prices.setdefault(Decimal(data["price"]), at)
        elif kind == "order" and data["status"] == "completed" and self.filled_at is None:
            self.filled_at = at


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p99 and max of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


async def _measure(stack: LocalStack, settings: LedgerSettings, clients: list[Client]) -> Any:
    feed = ray.get_actor(FEED_NAME, namespace=settings.namespace)
    limits = httpx.Limits(max_connections=CLIENTS + 10)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(base_url=stack.url, limits=limits, timeout=timeout) as http:
        tasks = [asyncio.create_task(c.run(http)) for c in clients]
        async with asyncio.timeout(60):
            await asyncio.gather(*(c.opened.wait() for c in clients))
        await asyncio.sleep(2.0)  # every user's channel subscribed on the replica
        say(f"  {CLIENTS} streams open")
        price = (await asyncio.to_thread(ray.get, feed.latest.remote()))[ASSET].price
        sent: dict[Decimal, float] = {}
        for i in range(TICKS):
            tick = (price * (Decimal("1.01") + Decimal(i) / 1000)).quantize(Decimal("0.01"))
            sent[tick] = time.monotonic()
            await asyncio.to_thread(ray.get, feed.set_price.remote(ASSET, tick))
            await asyncio.sleep(TICK_GAP_S)
        crossing = (price * Decimal("0.9")).quantize(Decimal("0.01"))
        fills_before = (await asyncio.to_thread(_matcher_status, settings))["fills"]
        ticked = time.monotonic()
        await asyncio.to_thread(ray.get, feed.set_price.remote(ASSET, crossing))
        await asyncio.to_thread(_wait, settings, "fills", fills_before + CLIENTS, 120)
        await asyncio.sleep(2.0)  # the last frames on their way
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sent, ticked


def _open_sessions(settings: Settings, users: list[str]) -> list[str]:
    """An access token of a session opened in the table for each user, as a login would."""
    runner = BlockingRunner(4, "bench-sessions")
    store = DynamoSessionStore(dynamodb_client(settings), settings.table_name, runner)
    sessions = build_sessions(settings, build_tokens(settings), store, NullSessionCache())

    async def open_all() -> list[str]:
        pairs = await asyncio.gather(*(sessions.open(u, 0) for u in users))
        return [pair.access_token for pair in pairs]

    try:
        return asyncio.run(open_all())
    finally:
        runner.close()


def run() -> dict[str, Any]:
    """Open the streams, tick, measure."""
    options = {**SETTINGS, "allow_fault_injection": True}  # pause and set_price on the feed
    with LocalStack(StackOptions.isolated("haproxy", options)) as stack:
        settings = LedgerSettings(**stack.settings)
        http_settings = Settings(**stack.settings)
        feed = ray.get_actor(FEED_NAME, namespace=settings.namespace)
        ray.get(feed.pause.remote())
        price = ray.get(feed.latest.remote())[ASSET].price
        limit = (price * Decimal("0.95")).quantize(Decimal("0.01"))
        users = [f"s{uuid.uuid4().hex[:12]}" for _ in range(CLIENTS)]
        say(f"live events: {CLIENTS} clients, each with one limit buy of {ASSET}")
        _execute_all(settings, [(u, Deposit(Decimal("1000.00")), f"d-{u}") for u in users])
        orders = [(u, PlaceLimitOrder("buy", ASSET, QUANTITY, limit), f"o-{u}") for u in users]
        assert _execute_all(settings, orders) == CLIENTS
        _wait(settings, "open_orders", CLIENTS, 60)
        clients = [
            Client(u, token)
            for u, token in zip(users, _open_sessions(http_settings, users), strict=True)
        ]
        sent, ticked = asyncio.run(_measure(stack, settings, clients))
    price_lags = [c.prices[p] - t for c in clients for p, t in sent.items() if p in c.prices]
    fill_lags = [c.filled_at - ticked for c in clients if c.filled_at is not None]
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "clients": CLIENTS,
        "ticks": TICKS,
        "price": {**percentiles(price_lags), "received": len(price_lags)},
        "price_expected": CLIENTS * TICKS,
        "fill": {**percentiles(fill_lags), "received": len(fill_lags)},
    }
    say(
        f"  price tick to client: p50 {result['price']['p50_ms']} ms, p99 "
        f"{result['price']['p99_ms']} ms ({len(price_lags)}/{CLIENTS * TICKS} received); fill: "
        f"p50 {result['fill']['p50_ms']} ms, p99 {result['fill']['p99_ms']} ms "
        f"({len(fill_lags)}/{CLIENTS})"
    )
    return result


def table(result: dict[str, Any]) -> str:
    """The report's markdown."""
    price, fill = result["price"], result["fill"]
    return "\n".join(
        [
            f"Run of {result['date']} (moto server, HAProxy ingress, one Gateway replica, "
            f"{result['clients']} SSE clients in the bench process).",
            "",
            "| from the tick to the client | received | p50 | p99 | max |",
            "| --- | --- | --- | --- | --- |",
            f"| `price` event ({result['ticks']} ticks x {result['clients']} clients) | "
            f"{price['received']} / {result['price_expected']} | {price['p50_ms']} ms | "
            f"{price['p99_ms']} ms | {price['max_ms']} ms |",
            f"| own `order` fill (one tick crossing {result['clients']} orders) | "
            f"{fill['received']} / {result['clients']} | {fill['p50_ms']} ms | "
            f"{fill['p99_ms']} ms | {fill['max_ms']} ms |",
        ]
    )


def main() -> int:
    result = run()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "live.json").write_text(json.dumps(result, indent=2) + "\n")
    update_doc(table(result), BEGIN, END)
    print(table(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
