"""``python -m bench.openloop_run``: the open-loop scenarios, each searched for the highest
arrival rate it sustains, beside baselines measured in the same run (issue 17).

The generator is ``bench.loadgen`` (``BENCH_OL_PROCESSES`` client processes, raw HTTP/1.1,
latency from each request's intended send time). For each load it offers a rising rate (from
``BENCH_OL_START_RATE``, doubled each step, ``BENCH_OL_DURATION_S`` a step) until one is not
sustained, then halves the gap twice between the last sustained rate and the first not. A rate
is *sustained* when 95% of it was answered, with no 5xx, no failure and a p99 at most
``BENCH_OL_P99_LIMIT_MS``.

Baselines: the no-op on plain uvicorn (``bench/noop.py``, no Ray), the no-op ``GET /health`` on
the same Serve deployment, and on the moto server the raw rate of single-item conditional
``PutItem`` s (``bench.run.raw_put_rate``): the store's limit for an operation that makes one
write before its answer. Scenarios, on the in-memory store and on the moto server: cached
balance reads, portfolio reads (4 holdings), deposits, market orders, and a 70/30 read/write
mix; then the no-op and market orders at half the orders' highest rate, for their p99s side by
side. Writes ``bench/results/openloop.json``, the plots ``docs/img/openloop-<stack>.png`` and
the summary between the ``bench:openloop`` markers of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.host import say
from bench.loadgen import LoadGenerator
from bench.openloop import OpenLoopResult
from bench.plots import latency_plot
from bench.rawhttp import Call, Mix
from bench.run import (
    DEPOSIT_BODY,
    HERE,
    HOLDINGS,
    ORDER_ASSET,
    ORDER_BODY,
    SETTINGS,
    USERS,
    Bench,
    raw_put_rate,
    update_doc,
)
from cluster.local import LocalStack, StackOptions
from cluster.processes import free_port, wait_for_port

PROCESSES = int(os.environ.get("BENCH_OL_PROCESSES", "2"))
DURATION_S = float(os.environ.get("BENCH_OL_DURATION_S", "5"))
START_RATE = float(os.environ.get("BENCH_OL_START_RATE", "50"))
P99_LIMIT_MS = float(os.environ.get("BENCH_OL_P99_LIMIT_MS", "1000"))
STEP = 2.0
BISECTIONS = 2
MAX_STEPS = 14
LOWEST_RATE = 5.0
QUIET = ("--no-access-log", "--log-level", "warning")
BEGIN, END = "<!-- bench:openloop:begin -->", "<!-- bench:openloop:end -->"
RUN = uuid.uuid4().hex[:8]
NOOP, UVICORN = "no-op, Serve (GET /health)", "no-op, plain uvicorn"
BALANCE, PORTFOLIO = "cached balance reads", "portfolio reads (4 holdings)"
DEPOSITS, ORDERS, MIX = "deposits", "market orders", "70/30 read/write mix"
HALF = " at half the orders' highest rate"
DOC_IMAGES = HERE.parent / "docs" / "img"


def sustained(result: OpenLoopResult) -> bool:
    """The server kept up with this rate (see the module's docstring)."""
    server_errors = sum(n for status, n in result.statuses.items() if status >= 500)
    return (
        result.achieved_rate >= 0.95 * result.offered_rate
        and server_errors == 0
        and not result.failures
        and result.percentile_ms(99) <= P99_LIMIT_MS
    )


@dataclass
class Runner:
    """Offers loads to one URL and keeps every measurement."""

    generator: LoadGenerator
    url: str
    stack: str
    bench: Bench | None = None  # to wait for the read models after a write load
    rows: list[dict[str, Any]] | None = None

    def once(self, load: str, mix: Mix, rate: float) -> dict[str, Any]:
        """One rate of one load: its figures, kept."""
        say(f"{self.stack}: {load} at {rate:.0f}/s for {DURATION_S:g} s")
        result = self.generator.run(self.url, mix, rate, DURATION_S)
        row = {
            "stack": self.stack,
            "load": load,
            **result.summary(),
            "sustained": sustained(result),
            "client_cpu_ms_per_request": round(
                1000 * self.generator.last_cpu_s / max(result.sent, 1), 3
            ),
            "connections": self.generator.last_connections,
        }
        say(
            f"  {row['achieved_rate']}/s answered, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms,"
            f" {row['statuses'] or row['failures']}, client lag {row['worst_send_lag_ms']} ms"
            f" -> {'sustained' if row['sustained'] else 'NOT sustained'}"
        )
        if self.bench is not None and any(call.keyed for call, _ in mix.calls):
            self.bench.flush()  # the next rate starts with the read models written
        if self.rows is not None:
            self.rows.append(row)
        time.sleep(0.5)
        return row

    def search(self, load: str, mix: Mix) -> float:
        """The highest rate ``load`` sustains (see the module's docstring); 0 if none."""
        good, bad, rate, bisected = 0.0, 0.0, START_RATE, 0
        for _ in range(MAX_STEPS):
            if self.once(load, mix, rate)["sustained"]:
                good = rate
            else:
                bad = rate
            if bad and good:
                if bisected == BISECTIONS:
                    break
                bisected += 1
                rate = (good + bad) / 2
            elif bad:
                if rate / 2 < LOWEST_RATE:
                    break
                rate /= 2
            else:
                rate *= STEP
        return good


def mixes(tokens: list[str], host: str) -> dict[str, Mix]:
    """The loads of a stack, as users ``tokens`` (each with cash and 4 holdings)."""
    users = tuple(tokens)
    balance = Call("GET", "/api/v1/balance")
    portfolio = Call("GET", "/api/v1/portfolio")
    deposit = Call("POST", "/api/v1/balance/deposit", json.dumps(DEPOSIT_BODY).encode(), True)
    order = Call("POST", "/api/v1/orders", json.dumps(ORDER_BODY).encode(), True)

    def mix(*calls: tuple[Call, int], name: str) -> Mix:
        return Mix(calls, users, host, f"ol-{RUN}-{name}")

    return {
        NOOP: Mix(((Call("GET", "/health", anonymous=True), 1),), host=host),
        BALANCE: mix((balance, 1), name="balance"),
        PORTFOLIO: mix((portfolio, 1), name="portfolio"),
        DEPOSITS: mix((deposit, 1), name="deposit"),
        ORDERS: mix((order, 1), name="order"),
        MIX: mix((balance, 4), (portfolio, 3), (deposit, 1), (order, 2), name="mix"),
    }


def plain_uvicorn(generator: LoadGenerator, rows: list[dict[str, Any]]) -> float:
    """The no-op on plain uvicorn, in a process of its own."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.noop:app", "--port", str(port), *QUIET],
    )
    try:
        wait_for_port(port, 30, "uvicorn (the plain no-op)", server)
        noop = Mix(((Call("GET", "/", anonymous=True), 1),))
        return Runner(generator, f"http://127.0.0.1:{port}", "uvicorn", rows=rows).search(
            UVICORN, noop
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def prepare(stack: LocalStack, label: str) -> tuple[Bench, list[str]]:
    """``USERS`` users with cash and the portfolio's 4 holdings, every path warm."""
    bench = Bench(stack, label)
    say(f"{label}: registering {USERS} users, each with cash and 4 holdings")
    tokens = bench.users_with_cash(USERS)
    bench.wait_for_price(ORDER_ASSET)
    orders = [
        {"order_type": "market_buy", "asset_id": asset_id, "quantity": quantity}
        for asset_id, quantity in HOLDINGS.items()
    ]

    def holdings(token: str) -> None:
        for order in orders:
            bench.post("/api/v1/orders", token, order, retry_s=30)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(holdings, tokens))
    bench.flush()
    return bench, tokens


def run_stack(generator: LoadGenerator, label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Every load on one stack (``memory`` or ``dynamodb``): its highest rates and baselines."""
    settings = {**SETTINGS, "ledger_store": "memory"} if label == "memory" else SETTINGS
    with LocalStack(StackOptions.isolated("haproxy", settings)) as stack:
        bench, tokens = prepare(stack, label)
        runner = Runner(generator, stack.url, label, bench, rows)
        loads = mixes(tokens, "127.0.0.1")
        best = {name: runner.search(name, mix) for name, mix in loads.items()}
        half = max(best[ORDERS] / 2, LOWEST_RATE)
        at_half = {
            name: runner.once(name + HALF, loads[name], half)["p99_ms"] for name in (NOOP, ORDERS)
        }
        figures: dict[str, Any] = {"best": best, "half_rate": half, "p99_at_half": at_half}
        if label == "dynamodb":
            say("dynamodb: raw conditional PutItem rate of the same moto server (32 threads)")
            raw = raw_put_rate(stack.settings["dynamodb_endpoint_url"], 32)
            say(f"  {raw['rps']:.0f} writes/s")
            figures["raw_put_rate"] = raw["rps"]
        return figures


def goals(stacks: dict[str, dict[str, Any]]) -> list[tuple[str, float, float, str]]:
    """Issue 17's acceptance item 1: (what, measured, goal, how) for each figure."""
    rows: list[tuple[str, float, float, str]] = []
    memory, moto = stacks.get("memory"), stacks.get("dynamodb")
    if memory and memory["best"][NOOP]:
        noop = memory["best"][NOOP]
        rows.append(
            ("memory: market orders / Serve no-op", memory["best"][ORDERS] / noop, 0.5, ">=")
        )
        rows.append(
            (
                "memory: cached balance reads / Serve no-op",
                memory["best"][BALANCE] / noop,
                0.8,
                ">=",
            )
        )
        p99 = memory["p99_at_half"]
        if p99[NOOP]:
            rows.append(
                (
                    "memory: order p99 / no-op p99, at half the orders' rate",
                    p99[ORDERS] / p99[NOOP],
                    3.0,
                    "<=",
                )
            )
    if moto and moto.get("raw_put_rate"):
        rows.append(
            (
                "moto: market orders / (raw writes/s / 1 write per order)",
                moto["best"][ORDERS] / moto["raw_put_rate"],
                0.7,
                ">=",
            )
        )
    return rows


def report(stacks: dict[str, dict[str, Any]], uvicorn: float, when: str) -> str:
    """The markdown of a run: highest sustained rates, ratios, goals, plots."""
    lines = [
        f"Run of {when} on {os.cpu_count()} CPUs, HAProxy ingress, {USERS} users; "
        f"{PROCESSES} client processes; {DURATION_S:g} s per rate; sustained = 95% answered, "
        f"no 5xx, p99 <= {P99_LIMIT_MS:g} ms. Plain-uvicorn no-op: {uvicorn:.0f}/s.",
        "",
        "| stack | load | highest sustained rate/s | of the Serve no-op's | of the store's limit |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for label, figures in stacks.items():
        noop, raw = figures["best"][NOOP], figures.get("raw_put_rate")
        if raw:
            lines.append(
                f"| {label} | raw conditional PutItem (store's limit) | {raw:.0f} | - | - |"
            )
        for load, rate in figures["best"].items():
            of_noop = f"{rate / noop:.2f}" if noop else "-"
            of_store = f"{rate / raw:.2f}" if raw and load in (DEPOSITS, ORDERS) else "-"
            lines.append(f"| {label} | {load} | {rate:.0f} | {of_noop} | {of_store} |")
        p99 = figures["p99_at_half"]
        lines.append(
            f"| {label} | p99 at {figures['half_rate']:.0f}/s: no-op {p99[NOOP]} ms, "
            f"market orders {p99[ORDERS]} ms | | | |"
        )
    lines += [
        "",
        "| goal (issue 17, item 1) | measured | goal | met |",
        "| --- | ---: | ---: | --- |",
    ]
    for what, value, goal, how in goals(stacks):
        met = value >= goal if how == ">=" else value <= goal
        lines.append(f"| {what} | {value:.2f} | {how} {goal:g} | {'yes' if met else 'no'} |")
    lines += ["", *(f"![{label}](img/openloop-{label}.png)" for label in stacks)]
    return "\n".join(lines)


def main() -> int:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[dict[str, Any]] = []
    stacks: dict[str, dict[str, Any]] = {}
    with LoadGenerator(PROCESSES) as generator:
        uvicorn = plain_uvicorn(generator, rows)
        for label in ("memory", "dynamodb"):
            stacks[label] = run_stack(generator, label, rows)
    for label in stacks:
        plotted = [r for r in rows if r["stack"] in (label, "uvicorn") and HALF not in r["load"]]
        latency_plot(
            plotted, f"Open loop, {label} store ({when})", DOC_IMAGES / f"openloop-{label}.png"
        )
    (HERE / "results").mkdir(exist_ok=True)
    out = {"date": when, "uvicorn_noop": uvicorn, "stacks": stacks, "rows": rows}
    (HERE / "results" / "openloop.json").write_text(json.dumps(out, indent=2) + "\n")
    table = report(stacks, uvicorn, when)
    print(table, flush=True)
    update_doc(table, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
