"""``make bench`` (second part): how fast one tick fills the limit orders it crosses.

On the moto stack with HAProxy: 1,000 users (``BENCH_MATCH_USERS``) with 10 open limit buys each
(10,000 orders), one of each user's at a limit a tick will cross; then one published price that
crosses those 1,000. Measured: the time from that publication until the matcher has seen the last
of them committed, against the floor the store allows (1,000 fills at one conditional write each,
at the raw conditional-write rate of the same moto server, measured in the same run).

The set-up goes to the shards directly (the HTTP path and its argon2 logins are not what is
measured here); the fills go the production way: feed, matcher, shards, store.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ray

from actors.domain.commands import Deposit, PlaceLimitOrder
from actors.ledger.results import Committed
from actors.market.feed import FEED_NAME
from actors.matching.actor import order_matcher_handle
from actors.routing import shard_index
from actors.settings import LedgerSettings
from actors.shard import shard_handles
from bench.host import say
from bench.run import CONNECTIONS, HERE, SETTINGS, raw_put_rate, update_doc
from cluster.local import LocalStack, StackOptions

USERS = int(os.environ.get("BENCH_MATCH_USERS", "1000"))
ORDERS_PER_USER = 10
ASSET = "BTC"
QUANTITY = Decimal("0.001")
CHUNK = 500  # commands in flight at once during the set-up
BEGIN, END = "<!-- bench:matching:begin -->", "<!-- bench:matching:end -->"


def _execute_all(settings: LedgerSettings, requests: list[tuple[str, Any, str]]) -> int:
    shards = shard_handles(settings)
    committed = 0
    for start in range(0, len(requests), CHUNK):
        refs = [
            shards[shard_index(u, settings.shard_count)].execute.remote(u, c, k)
            for u, c, k in requests[start : start + CHUNK]
        ]
        committed += sum(isinstance(o, Committed) for o in ray.get(refs))
    return committed


def _matcher_status(settings: LedgerSettings) -> dict[str, Any]:
    matcher = order_matcher_handle(settings)
    status: dict[str, Any] = ray.get(matcher.ping.remote())
    return status


def _wait(settings: LedgerSettings, key: str, at_least: int, timeout_s: float) -> float:
    """Poll the matcher until ``status[key] >= at_least``; the time it took."""
    started = time.monotonic()
    while True:
        if _matcher_status(settings)[key] >= at_least:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(f"matcher {key} below {at_least} after {timeout_s} s")
        time.sleep(0.01)


def run() -> dict[str, Any]:
    """Set up the book, cross it once, measure."""
    options = {**SETTINGS, "allow_fault_injection": True}  # pause and set_price on the feed
    with LocalStack(StackOptions.isolated("haproxy", options)) as stack:
        settings = LedgerSettings(**stack.settings)
        feed = ray.get_actor(FEED_NAME, namespace=settings.namespace)
        ray.get(feed.pause.remote())
        price = ray.get(feed.latest.remote())[ASSET].price
        crossing, far = (
            (price * Decimal("0.95")).quantize(Decimal("0.01")),
            (price * Decimal("0.5")).quantize(Decimal("0.01")),
        )
        users = [f"m{uuid.uuid4().hex[:12]}" for _ in range(USERS)]
        say(f"matching: {USERS} users, {USERS * ORDERS_PER_USER} limit buys of {ASSET}")
        deposits = [(u, Deposit(Decimal("10000.00")), f"d-{u}") for u in users]
        assert _execute_all(settings, deposits) == USERS
        orders = [
            (u, PlaceLimitOrder("buy", ASSET, QUANTITY, crossing if i == 0 else far), f"o{i}-{u}")
            for u in users
            for i in range(ORDERS_PER_USER)
        ]
        placed_at = time.monotonic()
        assert _execute_all(settings, orders) == len(orders)
        place_s = time.monotonic() - placed_at
        _wait(settings, "open_orders", len(orders), 60)
        say(f"  placed {len(orders)} in {place_s:.1f} s; the matcher indexes them all")
        ceiling = raw_put_rate(stack.settings["dynamodb_endpoint_url"], CONNECTIONS)
        say(f"  raw conditional PutItem: {ceiling['rps']:.0f}/s")
        fills_before = _matcher_status(settings)["fills"]
        ticked = time.monotonic()
        ray.get(feed.set_price.remote(ASSET, (price * Decimal("0.9")).quantize(Decimal("0.01"))))
        _wait(settings, "fills", fills_before + USERS, 600)
        fill_s = time.monotonic() - ticked
        status = _matcher_status(settings)
        floor_s = USERS / ceiling["rps"]
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "users": USERS,
            "open_orders": len(orders),
            "crossed": USERS,
            "place_s": round(place_s, 2),
            "fill_s": round(fill_s, 2),
            "fills_per_s": round(USERS / fill_s, 1),
            "raw_put_rps": round(ceiling["rps"], 1),
            "floor_s": round(floor_s, 2),
            "floor_ratio": round(floor_s / fill_s, 2),
            "left_open": status["open_orders"],
        }
        say(
            f"  {USERS} fills in {fill_s:.2f} s ({result['fills_per_s']}/s); the store's floor "
            f"{floor_s:.2f} s: {result['floor_ratio']:.2f} of it"
        )
        return result


def table(result: dict[str, Any]) -> str:
    """The report's markdown."""
    return "\n".join(
        [
            f"Run of {result['date']} (moto server, HAProxy ingress, 2 shards).",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| open limit orders / users | {result['open_orders']} / {result['users']} |",
            f"| orders one tick crosses | {result['crossed']} |",
            f"| placing them (direct to the shards) | {result['place_s']} s |",
            f"| tick to last fill committed | {result['fill_s']} s "
            f"({result['fills_per_s']} fills/s) |",
            f"| raw conditional PutItem, same run | {result['raw_put_rps']}/s |",
            f"| the store's floor ({result['crossed']} writes at that rate) | "
            f"{result['floor_s']} s |",
            f"| floor / measured | {result['floor_ratio']} |",
            f"| orders left open (not crossed) | {result['left_open']} |",
        ]
    )


def main() -> int:
    result = run()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "matching.json").write_text(json.dumps(result, indent=2) + "\n")
    update_doc(table(result), BEGIN, END)
    print(table(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
