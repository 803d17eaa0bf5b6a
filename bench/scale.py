"""``python -m bench.scale``: users at scale on one machine (issue 17, "Scale of users").

For each size (``--users``, default 1,000, 10,000 and 100,000) it starts a fresh pool of
``LedgerShard`` actors (``placement: pool``, ``--shards`` of them, in a namespace of their own)
on one isolated local stack and measures:

1. Memory per active user: the growth of the shard processes' resident set (``VmRSS`` of the
   pids their ``ping()`` reports) from their idle baseline to all ``N`` users activated, each
   by its first command (a deposit, through ``LedgerShard.execute_many`` and
   ``LedgerService.execute``: activation, decision, one store write, read models, cache, live
   events), sent in batches of ``--batch`` per shard call.
2. Activation latency: ``--sample`` users, one call at a time, each command timed at the
   caller (a Ray call to the shard's ``execute``): the first command of a user whose state is
   in the store but not in memory (it was passivated: activation loads its snapshot, view and
   events), then a second, warm, command of the same user; and the first command of a brand-new
   user (activation finds nothing to load).
3. That passivation gives the memory back: with the idle timeout set just above the time the
   activation takes (or ``--idle-timeout``), the shards' own maintenance loop passivates every
   user; the RSS is read again once ``ping()`` reports no active user. Then every user is
   activated again from the store by replaying its first deposit (same key: nothing new is
   written) and passivated again, with the RSS read after each (see ``measure``).

The ledger is the in-memory store (``ledger_store: memory``): 100,000 activations against the
moto server would take far longer than the run, and the store here is what activation reads,
not what is measured. Its rows live in the shard's own memory, though, so they count in the RSS
added and stay after passivation: the in-process breakdown (``heap_breakdown``, with
``tracemalloc``, no Ray) says how many of the bytes per user are the store's rows and how many
the active user's state.

Writes ``bench/results/scale.json`` and the table between the ``bench:scale`` markers of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import time
import tracemalloc
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench.host import say
from bench.run import HERE, SETTINGS, update_doc

BEGIN, END = "<!-- bench:scale:begin -->", "<!-- bench:scale:end -->"
DEFAULT_SIZES = "1000,10000,100000"
RUN = uuid.uuid4().hex[:6]
MIB = 1024 * 1024
GIB = 1024 * MIB
GOAL_BYTES = 2 * GIB  # issue 17: 100,000 activated users add less than this in total
PASSIVATION_INTERVAL_S = 30.0  # actors.ledger.maintenance's, for the pool placement
PROGRESS_EVERY_S = 3.0
AMOUNT = Decimal("1.00")
MIN_IDLE_TIMEOUT_S = 15.0


# --- pure helpers (tests/unit/test_scale_bench.py) -------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """``"1000,10k,1e5"``-style sizes: positive user counts, in the order given."""
    sizes = []
    for part in (p.strip().lower() for p in text.split(",")):
        if not part:
            continue
        scale = 1000 if part.endswith("k") else 1
        number = float(part.removesuffix("k")) * scale
        if number < 1 or number != int(number):
            raise ValueError(f"not a user count: {part!r}")
        sizes.append(int(number))
    if not sizes:
        raise ValueError("no user counts given")
    return sizes


def vm_rss_bytes(status: str) -> int:
    """The resident set in bytes from the text of ``/proc/<pid>/status``."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmRSS unit {unit!r}")
            return int(value) * 1024
    raise ValueError("no VmRSS line (a kernel thread, or not a status file)")


def rss_of(pids: Iterable[int]) -> int:
    """The summed resident set of ``pids``, in bytes."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as f:
            total += vm_rss_bytes(f.read())
    return total


def percentiles_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max (nearest rank) of ``samples`` in seconds, as milliseconds."""
    if not samples:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples)

    def rank(q: float) -> float:
        index = max(0, min(len(ordered) - 1, math.ceil(round(q * len(ordered), 9)) - 1))
        return round(ordered[index] * 1000, 3)

    return {"p50_ms": rank(0.50), "p99_ms": rank(0.99), "max_ms": round(ordered[-1] * 1000, 3)}


def idle_timeout_for(users: int, rate_per_s: float) -> float:
    """An idle timeout that outlasts the activation of ``users`` at ``rate_per_s`` (with room
    for a slower machine) so none is passivated before all are counted, yet soon over."""
    return max(MIN_IDLE_TIMEOUT_S, round(1.3 * users / max(rate_per_s, 1.0) + 10.0))


def split_batches(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    if size < 1:
        raise ValueError("a batch holds at least one item")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def by_shard(users: Iterable[str], shard_count: int) -> dict[int, list[str]]:
    """``users`` grouped by the shard that hosts them (``actors.routing.shard_index``)."""
    from actors.routing import shard_index

    groups: dict[int, list[str]] = {i: [] for i in range(shard_count)}
    for user in users:
        groups[shard_index(user, shard_count)].append(user)
    return groups


def mib(value: float) -> str:
    """Bytes as MiB with one decimal."""
    return f"{value / MIB:.1f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The markdown table of the sizes measured."""
    lines = [
        "| users | store | RSS added, all active: MiB (KiB/user) | after passivation: MiB above "
        "baseline | re-activated from the store: KiB/user over that | after 2nd passivation: "
        "MiB above baseline | activation p50 / p99 ms | warm p50 / p99 ms | new user p50 / p99 "
        "ms | first deposits/s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lat, base, n = r["latency"], r["rss_baseline_bytes"], r["users"]
        again = r["rss_after_reactivation_bytes"] - r["rss_after_passivation_bytes"]

        def pair(key: str, lat: dict[str, Any] = lat) -> str:
            return f"{lat[key]['p50_ms']:.2f} / {lat[key]['p99_ms']:.2f}"

        lines.append(
            f"| {n:,} | {r['store']} | {mib(r['rss_added_bytes'])} "
            f"({r['rss_added_bytes'] / n / 1024:.2f}) "
            f"| {mib(r['rss_after_passivation_bytes'] - base)} | {again / n / 1024:.2f} "
            f"| {mib(r['rss_after_second_passivation_bytes'] - base)} "
            f"| {pair('activation')} | {pair('warm')} | {pair('new_user')} "
            f"| {r['first_deposits']['rate']:.0f} |"
        )
    return "\n".join(lines)


# --- the in-process breakdown (no Ray) --------------------------------------------------------


def heap_breakdown(users: int = 5000) -> dict[str, float]:
    """Bytes of Python heap per user (``tracemalloc``), in this process with the in-memory
    store: all of it with ``users`` active, and what is left once they are passivated (the
    store's rows, which a DynamoDB-backed shard keeps in DynamoDB instead)."""
    import gc

    from actors.domain.commands import Deposit
    from actors.ledger.service import LedgerService
    from actors.settings import LedgerSettings
    from actors.store.memory import InMemoryLedgerStore

    async def go() -> dict[str, float]:
        service = LedgerService(InMemoryLedgerStore(), None, LedgerSettings(idle_timeout_s=0))
        names = [f"heap-{i}" for i in range(users)]
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for batch in split_batches(names, 500):
                await asyncio.gather(
                    *(service.execute(n, Deposit(AMOUNT), f"{n}-1") for n in batch)
                )
            await service.flush()
            gc.collect()
            active = tracemalloc.get_traced_memory()[0] - before
            service.passivate_idle()
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        return {
            "users": users,
            "active_bytes_per_user": round(active / users, 1),
            "store_bytes_per_user": round(kept / users, 1),
            "user_state_bytes_per_user": round((active - kept) / users, 1),
        }

    return asyncio.run(go())


# --- the run on Ray ---------------------------------------------------------------------------


@dataclass
class Pool:
    """One size's shards: handles, pids, and how to reach each user's shard."""

    settings: Any
    handles: list[Any]
    pids: list[int] = field(default_factory=list)

    def handle_for(self, username: str) -> Any:
        from actors.routing import shard_index

        return self.handles[shard_index(username, len(self.handles))]

    def pings(self) -> list[dict[str, Any]]:
        import ray

        return list(ray.get([h.ping.remote() for h in self.handles], timeout=120))

    def active_users(self) -> int:
        return sum(p["active_users"] for p in self.pings())

    def flush(self) -> None:
        import ray

        ray.get([h.flush.remote() for h in self.handles], timeout=300)

    def rss(self) -> int:
        return rss_of(self.pids)


def start_pool(
    stack_settings: dict[str, Any], label: str, store: str, shards: int, idle_s: float
) -> Pool:
    """Fresh shards (their own namespace, so their own settings) with the price feed started."""
    import ray

    from actors.market.feed import price_feed_handle
    from actors.settings import LedgerSettings
    from actors.shard import shard_handles

    settings = LedgerSettings(
        **{
            **stack_settings,
            "namespace": f"scale-{RUN}-{label}",
            "ledger_store": store,
            "shard_count": shards,
            "idle_timeout_s": idle_s,
        }
    )
    ray.get(price_feed_handle(settings).start.remote(), timeout=60)
    pool = Pool(settings, shard_handles(settings))
    pool.pids = [p["pid"] for p in pool.pings()]
    return pool


def stop_pool(pool: Pool) -> None:
    """Kill every actor of the pool's namespace (shards, feed, matcher)."""
    import ray

    for actor in ray.util.list_named_actors(all_namespaces=True):
        if actor["namespace"] == pool.settings.namespace:
            with contextlib.suppress(ValueError):  # gone already
                ray.kill(ray.get_actor(actor["name"], namespace=actor["namespace"]))


def run_all(
    pool: Pool, users: list[str], batch: int, what: str, in_flight: int = 2
) -> dict[str, Any]:
    """One deposit per user, key ``<user>-1`` (so a second pass replays the first), in
    batches per shard, ``in_flight`` calls per shard at once; progress every few seconds."""
    import ray

    from actors.domain.commands import Deposit
    from actors.ledger.results import Committed

    groups = by_shard(users, len(pool.handles))
    queues = {i: split_batches(g, batch) for i, g in groups.items()}
    pending: dict[Any, int] = {}
    done = committed = replayed = 0
    failures: dict[str, int] = {}
    started = last = time.monotonic()

    def send(shard: int) -> None:
        if queues[shard]:
            names = queues[shard].pop(0)
            requests = [(n, Deposit(AMOUNT), f"{n}-1", None) for n in names]
            pending[pool.handles[shard].execute_many.remote(requests)] = shard

    for shard in queues:
        for _ in range(in_flight):
            send(shard)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=PROGRESS_EVERY_S)
        for ref in ready:
            shard = pending.pop(ref)
            for outcome in ray.get(ref):
                done += 1
                if isinstance(outcome, Committed):
                    committed += 1
                    replayed += outcome.replayed
                else:
                    kind = type(outcome).__name__
                    failures[kind] = failures.get(kind, 0) + 1
            send(shard)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            rate = done / (now - started)
            say(
                f"  {what} {done:,}/{len(users):,} ({rate:,.0f}/s), "
                f"shards' RSS {mib(pool.rss())} MiB"
            )
    elapsed = time.monotonic() - started
    if failures:
        say(f"  not committed: {failures}")
    return {
        "sent": done,
        "committed": committed,
        "replayed": replayed,
        "failures": failures,
        "seconds": round(elapsed, 2),
        "rate": done / elapsed,
    }


def timed_commands(pool: Pool, users: Sequence[str], key_suffix: str) -> list[float]:
    """One deposit per user, one at a time: each call's latency in seconds, at the caller."""
    import ray

    from actors.domain.commands import Deposit
    from actors.ledger.results import Committed

    latencies = []
    for name in users:
        started = time.perf_counter()
        outcome = ray.get(
            pool.handle_for(name).execute.remote(name, Deposit(AMOUNT), f"{name}-{key_suffix}"),
            timeout=60,
        )
        latencies.append(time.perf_counter() - started)
        if not isinstance(outcome, Committed):
            raise RuntimeError(f"{name}: {outcome!r}")
    return latencies


def wait_until_passivated(pool: Pool, timeout_s: float) -> float:
    """Poll the shards until no user is active; the seconds it took."""
    started = time.monotonic()
    last = started
    while True:
        active = pool.active_users()
        now = time.monotonic()
        if active == 0:
            return now - started
        if now - started > timeout_s:
            raise TimeoutError(f"{active} users still active after {timeout_s:.0f} s")
        if now - last >= 10:
            last = now
            say(f"  waiting for the maintenance loop: {active:,} still active")
        time.sleep(1.0)


def settle_rss(pool: Pool, seconds: float = 3.0) -> int:
    """The RSS once the read models are written and the process had a moment to settle."""
    pool.flush()
    time.sleep(seconds)
    return pool.rss()


def measure(
    stack_settings: dict[str, Any],
    users: int,
    store: str,
    shards: int,
    batch: int,
    sample: int,
    rate: float,
    idle_timeout_s: float | None = None,
) -> dict[str, Any]:
    """Every figure of one size, on a fresh pool of shards (killed afterwards).

    1. ``users`` brand-new users, each activated by its first deposit: the RSS with all active.
    2. All passivated by the maintenance loop: the RSS again (the memory store keeps its rows).
    3. All activated again from the store, by replaying each one's first deposit (same key:
       activation loads the state, the receipt answers, nothing new is written, so all the RSS
       it adds is the active users' own state): the RSS with all active again.
    4. All passivated again: the RSS once more.
    Latencies (``sample`` users, one call at a time): the first deposit of a brand-new user, a
    warm deposit, and the first deposit of a passivated user (activation loads its state).
    """
    idle_s = idle_timeout_s or idle_timeout_for(users, rate)
    wait_s = idle_s + 2 * PASSIVATION_INTERVAL_S + 30
    say(f"{users:,} users, {store} store, {shards} shards (idle timeout {idle_s:g} s)")
    pool = start_pool(stack_settings, f"{store}-{users}", store, shards, idle_s)
    try:
        prefix = f"s{RUN}-{store}-{users}"
        timed_commands(pool, [f"{prefix}-warmup-{i}" for i in range(50)], "1")  # warm paths
        new_user = timed_commands(pool, [f"{prefix}-new-{i}" for i in range(sample)], "1")
        baseline = settle_rss(pool)
        say(f"  baseline: shards' RSS {mib(baseline)} MiB (pids {pool.pids})")
        names = [f"{prefix}-{i}" for i in range(users)]
        first = run_all(pool, names, batch, "activated (first deposit)")
        active = pool.active_users()
        after = settle_rss(pool)
        say(
            f"  {active:,} active; RSS +{mib(after - baseline)} MiB "
            f"({(after - baseline) / users:,.0f} B per user), {first['rate']:,.0f}/s"
        )
        warm = timed_commands(pool, names[-sample:], "2")  # the most recent: surely active
        took = wait_until_passivated(pool, wait_s)
        passivated = settle_rss(pool)
        say(
            f"  all passivated after {took:.0f} s: RSS +{mib(passivated - baseline)} MiB "
            "above the baseline"
        )
        returning = timed_commands(pool, names[:sample], "3")  # loads its state from the store
        warm += timed_commands(pool, names[:sample], "4")
        again = run_all(pool, names, batch, "re-activated (replays)")
        active_again = pool.active_users()
        reactivated = settle_rss(pool)
        say(
            f"  {active_again:,} active again; RSS +{mib(reactivated - passivated)} MiB over "
            f"the passivated ({(reactivated - passivated) / users:,.0f} B per user), "
            f"{again['rate']:,.0f}/s"
        )
        took_again = wait_until_passivated(pool, wait_s)
        passivated_again = settle_rss(pool)
        say(
            f"  all passivated again after {took_again:.0f} s: RSS "
            f"+{mib(passivated_again - baseline)} MiB above the baseline"
        )
        latency = {
            "activation": percentiles_ms(returning),
            "warm": percentiles_ms(warm),
            "new_user": percentiles_ms(new_user),
        }
        say(
            f"  activation p50/p99 {latency['activation']['p50_ms']}/"
            f"{latency['activation']['p99_ms']} ms, warm {latency['warm']['p50_ms']}/"
            f"{latency['warm']['p99_ms']} ms, new user {latency['new_user']['p50_ms']}/"
            f"{latency['new_user']['p99_ms']} ms"
        )
        stats = pool.pings()
        return {
            "users": users,
            "store": store,
            "shards": shards,
            "idle_timeout_s": idle_s,
            "first_deposits": first,
            "replays": again,
            "active_after_activation": active,
            "active_after_reactivation": active_again,
            "rss_baseline_bytes": baseline,
            "rss_after_activation_bytes": after,
            "rss_added_bytes": after - baseline,
            "rss_after_passivation_bytes": passivated,
            "rss_after_reactivation_bytes": reactivated,
            "rss_after_second_passivation_bytes": passivated_again,
            "passivated_after_s": [round(took, 1), round(took_again, 1)],
            "missed_cache_writes": sum(p["missed_cache_writes"] for p in stats),
            "latency": latency,
            "latency_samples": sample,
        }
    finally:
        stop_pool(pool)


def goal_verdict(users: int, added_bytes: int) -> str:
    """Issue 17's goal for the largest size on the memory store, in words."""
    if users < 100_000:
        return f"not measured (the largest size was {users:,} users)"
    verdict = "met" if added_bytes < GOAL_BYTES else "NOT met"
    return f"{verdict} ({users:,} users added {added_bytes / GIB:.2f} GiB)"


def summary(rows: list[dict[str, Any]], heap: dict[str, float], when: str) -> str:
    """The markdown of a run: the table, the goal and the heap breakdown."""
    memory = [r for r in rows if r["store"] == "memory"] or rows
    largest = max(memory, key=lambda r: r["users"])
    return "\n".join(
        [
            f"Run of {when} on {os.cpu_count()} CPUs, {largest['shards']} shards (pool "
            f"placement), stores: {', '.join(sorted({r['store'] for r in rows}))}.",
            "",
            table(rows),
            "",
            "Goal (issue 17): 100,000 activated users add less than 2 GiB: "
            f"{goal_verdict(largest['users'], largest['rss_added_bytes'])}. "
            f"In-process heap per user (tracemalloc, {heap['users']:,.0f} users, no Ray): "
            f"{heap['active_bytes_per_user']:,.0f} B active, of which "
            f"{heap['store_bytes_per_user']:,.0f} B are the in-memory store's rows (kept after "
            f"passivation) and {heap['user_state_bytes_per_user']:,.0f} B the user's own state "
            "(dropped by passivation).",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--users", default=DEFAULT_SIZES, help="sizes, comma-separated")
    parser.add_argument(
        "--dynamodb-users",
        default="",
        help="sizes to run on the moto server too, comma-separated (slow: a few thousand)",
    )
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="commands per shard call")
    parser.add_argument("--sample", type=int, default=300, help="users timed one at a time")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=None,
        help="seconds, for every size (default: from the last size's rate, with room)",
    )
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    runs = [(n, "memory") for n in parse_sizes(args.users)]
    if args.dynamodb_users:
        runs += [(n, "dynamodb") for n in parse_sizes(args.dynamodb_users)]

    from cluster.local import LocalStack, StackOptions

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    say(
        "the in-memory store (ledger_store: memory): 100,000 activations fit in minutes, "
        "where the moto server takes about a millisecond a request"
    )
    heap = heap_breakdown()
    say(f"in-process heap per user: {heap}")
    rows: list[dict[str, Any]] = []
    rates = {"memory": 400.0, "dynamodb": 100.0}  # guesses, then the last size's rate
    started = time.monotonic()
    with LocalStack(StackOptions.isolated("haproxy", {**SETTINGS, "ledger_store": "memory"})) as st:
        for users, store in runs:
            row = measure(
                st.settings,
                users,
                store,
                args.shards,
                args.batch,
                args.sample,
                rates[store],
                args.idle_timeout,
            )
            rows.append(row)
            rates[store] = row["first_deposits"]["rate"]
            say(f"  ({time.monotonic() - started:.0f} s so far)")
    out = {"date": when, "heap_breakdown": heap, "sizes": rows}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "scale.json").write_text(json.dumps(out, indent=2) + "\n")
    say(f"wrote {HERE / 'results' / 'scale.json'}")
    text = summary(rows, heap, when)
    print(text, flush=True)
    if not args.no_doc:
        update_doc(text, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
