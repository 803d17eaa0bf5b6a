"""``python -m bench.placement``: the two placements of users (``OP_PLACEMENT``, see
``actors/placement.py``) side by side in one run, as ratios (issue 17).

One isolated stack per placement, one after the other, with the same settings otherwise (the
in-memory ledger by default, so the engine's own cost shows; ``BENCH_PLACEMENT_STORES=memory,
dynamodb`` adds the moto store). On each:

1. **memory per active user**: users are activated one at a time (their first money command);
   at each of ``BENCH_PLACEMENT_USERS`` (20 and 50) active users, the processes holding users
   (the ``ledger-<i>`` shards for ``pool``, the ``user-<username>`` actors for ``dedicated``) are
   pinged for their pid and active users, and their ``VmRSS`` and ``RssAnon`` read from
   ``/proc/<pid>/status``. Per active user: all those processes' RSS over the users they hold,
   and the marginal cost, the growth between the first and the last checkpoint per user added.
2. **activation latency**: each of those first money commands (a deposit over HTTP, one at a
   time, so nothing queues) is timed to its final answer (a 503, an actor slow to start on a
   busy host, is retried with the same key, and counted): p50, p99 and max; then one more
   deposit each, warm.
3. **order throughput**: wrk (``bench.run.wrk``, closed loop, ``BENCH_CONNECTIONS`` connections,
   ``BENCH_DURATION_S`` s) sends market orders round the same users, beside the no-op
   ``GET /health`` of the same stack; CPU ms per order by role (``bench.run.CpuWindow``), and
   the holding processes' CPU while every user sits idle for a few seconds.

Writes ``bench/results/placement.json`` and the table between the ``bench:placement`` markers
of docs/benchmarks.md. The machines are noisy and shared: compare the ratios, not the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from bench.run import (
    CONNECTIONS,
    DEPOSIT_BODY,
    DURATION_S,
    HERE,
    ORDER_ASSET,
    ORDER_BODY,
    SETTINGS,
    STARTING_CASH,
    Bench,
    CpuWindow,
    contended,
    find_processes,
    say,
    update_doc,
    wrk,
)
from cluster.local import LocalStack, StackOptions

PLACEMENTS = ("pool", "dedicated")
CHECKPOINTS = tuple(
    sorted(int(n) for n in os.environ.get("BENCH_PLACEMENT_USERS", "20,50").split(","))
)
STORES = tuple(os.environ.get("BENCH_PLACEMENT_STORES", "memory").split(","))
IDLE_WINDOW_S = float(os.environ.get("BENCH_PLACEMENT_IDLE_S", "5"))
DEPOSIT = "/api/v1/balance/deposit"
ORDERS = "/api/v1/orders"
BEGIN, END = "<!-- bench:placement:begin -->", "<!-- bench:placement:end -->"
RUN = uuid.uuid4().hex[:8]
# no user is passivated (nor a dedicated actor stopped) while the run needs it
IDLE_TIMEOUT_S = 1800.0
RETRY_503_S = 60.0


# --- pure helpers (tests/unit/test_placement_bench.py) --------------------------------------


def parse_status(text: str) -> dict[str, int]:
    """The sizes of a ``/proc/<pid>/status`` (``VmRSS``, ``RssAnon``...), in kB."""
    sizes = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        words = value.split()
        if len(words) == 2 and words[1] == "kB" and words[0].isdigit():
            sizes[name] = int(words[0])
    return sizes


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p`` th percentile (the largest value for p99 of fewer than 100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """p50, p99, max and mean in milliseconds of timed requests."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "mean_ms": round(sum(ms) / len(ms), 1) if ms else float("nan"),
    }


def memory_figures(checkpoints: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per active user, from checkpoints ``{"activated", "active_users", "rss_kb", "anon_kb"}``
    (rising), keyed by ``activated``: the holding processes' memory over the users they hold at
    each, and the marginal cost between the first and the last (what one more user adds)."""
    per_user = {
        str(c.get("activated", c["active_users"])): {
            "rss_mb_per_user": round(c["rss_kb"] / 1024 / max(c["active_users"], 1), 2),
            "anon_mb_per_user": round(c["anon_kb"] / 1024 / max(c["active_users"], 1), 2),
        }
        for c in checkpoints
    }
    figures: dict[str, Any] = {"per_user": per_user}
    if len(checkpoints) >= 2:
        first, last = checkpoints[0], checkpoints[-1]
        added = last["active_users"] - first["active_users"]
        if added > 0:
            figures["marginal_rss_mb_per_user"] = round(
                (last["rss_kb"] - first["rss_kb"]) / 1024 / added, 2
            )
            figures["marginal_anon_mb_per_user"] = round(
                (last["anon_kb"] - first["anon_kb"]) / 1024 / added, 2
            )
    return figures


def ratio(numerator: Any, denominator: Any) -> float | None:
    """``numerator / denominator``, or None when either is missing or the denominator is 0."""
    if not isinstance(numerator, int | float) or not isinstance(denominator, int | float):
        return None
    if denominator == 0 or numerator != numerator or denominator != denominator:  # NaN
        return None
    return numerator / denominator


def compared(pool: dict[str, Any], dedicated: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of both placements on one store, each with dedicated / pool."""
    rows: list[tuple[str, Any, Any]] = []
    for users in CHECKPOINTS:
        key = str(users)
        p_mem = pool["memory"]["per_user"].get(key, {})
        d_mem = dedicated["memory"]["per_user"].get(key, {})
        rows.append(
            (
                f"RSS per active user at {users} users, MB",
                p_mem.get("rss_mb_per_user"),
                d_mem.get("rss_mb_per_user"),
            )
        )
        rows.append(
            (
                f"anonymous RSS per active user at {users} users, MB",
                p_mem.get("anon_mb_per_user"),
                d_mem.get("anon_mb_per_user"),
            )
        )
    rows.append(
        (
            "marginal RSS per added user, MB",
            pool["memory"].get("marginal_rss_mb_per_user"),
            dedicated["memory"].get("marginal_rss_mb_per_user"),
        )
    )
    for name, label in (("cold", "first deposit (activation)"), ("warm", "warm deposit")):
        for stat in ("p50_ms", "p99_ms"):
            rows.append(
                (
                    f"{label} {stat.split('_')[0]}, ms",
                    pool["latency"][name][stat],
                    dedicated["latency"][name][stat],
                )
            )
    rows += [
        ("market orders/s", pool["orders"]["rps"], dedicated["orders"]["rps"]),
        ("market orders / no-op", pool["orders_of_noop"], dedicated["orders_of_noop"]),
        ("market order p99 (wrk), ms", pool["orders"]["p99_ms"], dedicated["orders"]["p99_ms"]),
        (
            "CPU ms per order, holding processes",
            pool["orders"]["cpu_ms_per_order"]["shards"],
            dedicated["orders"]["cpu_ms_per_order"]["shards"],
        ),
        (
            "CPU ms per order, holding processes, less their idle CPU",
            pool["orders"]["cpu_ms_per_order"].get("shards_less_idle"),
            dedicated["orders"]["cpu_ms_per_order"].get("shards_less_idle"),
        ),
        (
            "CPU ms per order, all of the stack",
            pool["orders"]["cpu_ms_per_order"]["sum"],
            dedicated["orders"]["cpu_ms_per_order"]["sum"],
        ),
        (
            f"idle CPU of holding processes, ms/s ({max(CHECKPOINTS)} users)",
            pool["idle_cpu_ms_per_s"],
            dedicated["idle_cpu_ms_per_s"],
        ),
        (
            "idle CPU per holding process, ms/s",
            pool.get("idle_cpu_ms_per_s_per_process"),
            dedicated.get("idle_cpu_ms_per_s_per_process"),
        ),
    ]
    return [
        {"figure": what, "pool": p, "dedicated": d, "dedicated_over_pool": ratio(d, p)}
        for what, p, d in rows
    ]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def report(results: dict[str, Any]) -> str:
    """The markdown of a run: per store, each figure of both placements and their ratio."""
    lines = [
        f"Run of {results['date']} on {results['cpus']} CPUs, HAProxy ingress, 1 Gateway "
        f"replica, {results['settings']['shard_count']} shards for the pool; users activated "
        f"one at a time; wrk {results['connections']} connections, {results['seconds']} s, "
        f"market orders round {max(CHECKPOINTS)} users. At N users, N were activated plus the "
        "warm-up user (memory per user divides by the users the processes report holding); "
        f"the p99 of {max(CHECKPOINTS)} activations is their largest.",
    ]
    for store, rows in results["compared"].items():
        lines += [
            "",
            f"| {store} store | pool | dedicated | dedicated / pool |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in rows:
            lines.append(
                f"| {row['figure']} | {_cell(row['pool'])} | {_cell(row['dedicated'])} "
                f"| {_cell(row['dedicated_over_pool'])} |"
            )
    notes = [
        f"- {label}: {', '.join(f'{n} x {code}' for code, n in figures['failures'].items())}"
        for label, figures in results["stacks"].items()
        if figures["failures"]
    ]
    if notes:
        lines += ["", "Answers other than 2xx:", "", *notes]
    busy = ", ".join(
        f"{label} {figures['orders']['machine_busy']:.0%}"
        + (" (contended: others took CPU)" if figures["orders"]["contended"] else "")
        for label, figures in results["stacks"].items()
    )
    lines += ["", f"The host's busy share during the orders: {busy}."]
    return "\n".join(lines)


# --- the stack ----------------------------------------------------------------------------


def read_status(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            return parse_status(f.read())
    except OSError:
        return {}


class Placed:
    """The processes holding users on one stack, found as the placement puts them."""

    def __init__(self, stack: LocalStack, placement: str) -> None:
        from actors.settings import LedgerSettings

        self.stack, self.placement = stack, placement
        self.settings = LedgerSettings(**stack.settings)

    def actors(self) -> list[Any]:
        import ray

        from actors.routing import shard_name, user_actor_name

        namespace = self.settings.namespace
        if self.placement == "pool":
            names = [shard_name(i) for i in range(self.settings.shard_count)]
        else:
            prefix = user_actor_name("")
            named = ray.util.list_named_actors(all_namespaces=True)
            names = [
                a["name"]
                for a in named
                if a["namespace"] == namespace and a["name"].startswith(prefix)
            ]
        handles = []
        for name in names:
            try:
                handles.append(ray.get_actor(name, namespace=namespace))
            except ValueError:
                continue  # not created yet, or stopped meanwhile
        return handles

    def pings(self) -> list[dict[str, Any]]:
        import ray

        answers: list[dict[str, Any]] = ray.get(
            [h.ping.remote() for h in self.actors()], timeout=120
        )
        return answers

    def checkpoint(self) -> dict[str, Any]:
        """Active users and the memory of the processes holding them (and of the Gateway)."""
        pings = self.pings()
        sizes = [read_status(p["pid"]) for p in pings]
        gateway = [read_status(pid) for pid in find_processes(self.stack)["gateway"]]
        return {
            "active_users": sum(p["active_users"] for p in pings),
            "processes": len(pings),
            "rss_kb": sum(s.get("VmRSS", 0) for s in sizes),
            "anon_kb": sum(s.get("RssAnon", 0) for s in sizes),
            "largest_rss_kb": max((s.get("VmRSS", 0) for s in sizes), default=0),
            "gateway_rss_kb": sum(s.get("VmRSS", 0) for s in gateway),
        }

    def flush(self) -> None:
        """Until every holding process has written the read models of what it answered."""
        import ray

        ray.get([h.flush.remote() for h in self.actors()], timeout=120)


def timed_post(
    bench: Bench, path: str, token: str, body: dict[str, str], failures: dict[str, int]
) -> float:
    """One write with a fresh key, retried with the same key on a 503 (a shard or a user's
    actor slow to start on a busy host) for up to ``RETRY_503_S``: the seconds until its final
    answer. Every answer other than 2xx is counted in ``failures``, the 503s retried too."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"pl-{uuid.uuid4().hex}"}
    started = time.perf_counter()
    deadline = time.monotonic() + RETRY_503_S
    while True:
        status = bench.http.post(path, json=body, headers=headers).status_code
        count([status], failures)
        if status != 503 or time.monotonic() > deadline:
            return time.perf_counter() - started
        time.sleep(0.2)


def count(statuses: Iterable[int], into: dict[str, int]) -> None:
    for status in statuses:
        if status >= 300:
            into[str(status)] = into.get(str(status), 0) + 1


def run_stack(placement: str, store: str) -> dict[str, Any]:
    """Every figure of one placement on one store, on a stack of its own."""
    label = f"{placement}/{store}"
    settings = {
        **SETTINGS,
        "ledger_store": store,
        "placement": placement,
        "idle_timeout_s": IDLE_TIMEOUT_S,
        "dedicated_max_actors": max(CHECKPOINTS) + 8,
    }
    started = time.monotonic()
    with LocalStack(StackOptions.isolated("haproxy", settings)) as stack:
        bench, placed = Bench(stack, label), Placed(stack, placement)
        failures: dict[str, int] = {}
        say(f"{label}: stack up in {time.monotonic() - started:.0f} s; a warm-up user")
        warm_up = bench.user()
        bench.post(DEPOSIT, warm_up, {"amount": STARTING_CASH}, retry_s=RETRY_503_S)
        bench.wait_for_price(ORDER_ASSET)
        bench.post(ORDERS, warm_up, ORDER_BODY, retry_s=30)  # the order path warm
        placed.pings()  # every shard of the pool started, not only the warm-up user's
        users = max(CHECKPOINTS)
        say(f"{label}: registering {users} users (none active yet)")
        with ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(lambda _: bench.user(), range(users)))
        say(f"{label}: activating them one at a time (a first deposit of {STARTING_CASH})")
        cold: list[float] = []
        checkpoints = []
        for n, token in enumerate(tokens, 1):
            cold.append(timed_post(bench, DEPOSIT, token, {"amount": STARTING_CASH}, failures))
            if n in CHECKPOINTS:
                point = {"activated": n, **placed.checkpoint()}
                checkpoints.append(point)
                say(
                    f"  {n} activated: {point['active_users']} active users on "
                    f"{point['processes']} processes, {point['rss_kb'] / 1024:.0f} MB RSS "
                    f"({point['anon_kb'] / 1024:.0f} MB anonymous); first deposits so far "
                    f"p50 {percentile(cold, 50) * 1000:.0f} ms, max {max(cold) * 1000:.0f} ms"
                )
        say(f"{label}: a warm deposit for each")
        warm = []
        for token in tokens:
            warm.append(timed_post(bench, DEPOSIT, token, DEPOSIT_BODY, failures))
        latency = {"cold": latency_summary(cold), "warm": latency_summary(warm)}
        say(f"  first {latency['cold']}, warm {latency['warm']}")
        placed.flush()

        say(f"{label}: every user idle for {IDLE_WINDOW_S:g} s (CPU of the holding processes)")
        window = CpuWindow.open(find_processes(stack))
        time.sleep(IDLE_WINDOW_S)
        idle = window.close(1)
        idle_cpu = idle["ms_per_op"]["shards"] / idle["window_s"]
        say(f"  {idle_cpu:.1f} ms/s")

        say(f"{label}: no-op GET /health, wrk {CONNECTIONS} connections for {DURATION_S} s")
        noop = wrk(stack.url + "/health", [])
        say(f"  {noop['rps']:.0f} req/s")
        bench.wait_for_price(ORDER_ASSET)
        say(f"{label}: market orders round {users} users, same concurrency")
        window = CpuWindow.open(find_processes(stack))
        orders = wrk(stack.url + ORDERS, tokens, "POST", ORDER_BODY, f"pl-{RUN}-{placement}")
        drain_started = time.monotonic()
        placed.flush()
        drain_s = time.monotonic() - drain_started
        orders["cpu"] = window.close(orders["requests"])
        for code, n in orders["statuses"].items():
            if not code.startswith("2"):
                failures[f"order {code}"] = failures.get(f"order {code}", 0) + n
        per_order = {**orders["cpu"]["ms_per_op"], "sum": orders["cpu"]["sum_ms_per_op"]}
        # what the holding processes would have spent anyway in the window, idle
        idle_share = idle_cpu * orders["cpu"]["window_s"] / max(orders["requests"], 1)
        per_order["shards_less_idle"] = per_order["shards"] - idle_share
        say(
            f"  {orders['rps']:.0f} orders/s, p99 {orders['p99_ms']:.0f} ms, non-2xx "
            f"{orders['non_2xx']}, {per_order['shards']:.2f} ms CPU of the holding processes "
            f"per order, read models drained in {drain_s:.1f} s"
        )
        after = placed.checkpoint()
        figures = {
            "placement": placement,
            "store": store,
            "checkpoints": checkpoints,
            "after_orders": after,
            "memory": memory_figures(checkpoints),
            "latency": latency,
            "idle_cpu_ms_per_s": round(idle_cpu, 2),
            "idle_cpu_ms_per_s_per_process": round(idle_cpu / max(after["processes"], 1), 2),
            "latency_samples_ms": {
                "cold": [round(x * 1000, 1) for x in cold],
                "warm": [round(x * 1000, 1) for x in warm],
            },
            "noop": {k: noop[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "non_2xx")},
            "orders": {
                **{k: orders[k] for k in ("rps", "p50_ms", "p99_ms", "requests", "non_2xx")},
                "socket_errors": orders["socket_errors"],
                "samples": orders["samples"],
                "drain_s": round(drain_s, 2),
                "cpu_ms_per_order": {k: round(v, 3) for k, v in per_order.items()},
                "machine_busy": round(orders["cpu"]["machine_busy"], 2),
                "contended": contended(orders),
            },
            "orders_of_noop": ratio(orders["rps"], noop["rps"]),
            "failures": failures,
        }
    figures["stack_s"] = round(time.monotonic() - started, 1)
    say(f"{label}: done in {figures['stack_s']:.0f} s")
    return figures


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench does this).")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    started = time.monotonic()
    stacks: dict[str, dict[str, Any]] = {}
    for store in STORES:
        for placement in PLACEMENTS:
            stacks[f"{placement}/{store}"] = run_stack(placement, store)
    results: dict[str, Any] = {
        "date": when,
        "cpus": os.cpu_count(),
        "seconds": DURATION_S,
        "connections": CONNECTIONS,
        "checkpoints": list(CHECKPOINTS),
        "settings": {**SETTINGS, "idle_timeout_s": IDLE_TIMEOUT_S},
        "compared": {
            store: compared(stacks[f"pool/{store}"], stacks[f"dedicated/{store}"])
            for store in STORES
        },
        "stacks": stacks,
        "run_s": round(time.monotonic() - started, 1),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "placement.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report(results)
    print("\n" + table, flush=True)
    update_doc(table, BEGIN, END)
    say(f"the whole run took {results['run_s']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
