"""``python -m bench.openloop_run``: the open-loop scenarios at a ladder of arrival rates, each
beside its baselines measured in the same run (issue 17, first part).

On the in-memory store (the engine's own cost): the no-op on plain uvicorn (``bench/noop.py``),
the no-op on the same Serve deployment (``GET /health``), cached balance reads, deposits and
market orders, each offered at every rate of ``BENCH_OL_RATES`` for ``BENCH_OL_DURATION_S``.
A rate is *sustained* when at least 95% of it was answered in time, with no 5xx and no failed
request, and a p99 under ``BENCH_OL_P99_LIMIT_MS``. Writes ``bench/results/openloop.json`` and
the table between the ``bench:openloop`` markers of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.openloop import OpenLoopResult, Send, run_open_loop
from bench.run import (
    DEPOSIT_BODY,
    HERE,
    ORDER_ASSET,
    ORDER_BODY,
    SETTINGS,
    USERS,
    Bench,
    say,
    update_doc,
)
from cluster.local import LocalStack, StackOptions
from cluster.processes import free_port, wait_for_port

RATES = [float(r) for r in os.environ.get("BENCH_OL_RATES", "100,200,400,800").split(",")]
DURATION_S = float(os.environ.get("BENCH_OL_DURATION_S", "5"))
P99_LIMIT_MS = float(os.environ.get("BENCH_OL_P99_LIMIT_MS", "1000"))
CONNECTIONS = 256
QUIET = ("--no-access-log", "--log-level", "warning")
COLUMNS = "load | offered/s | achieved/s | p50 ms | p99 ms | max ms | statuses | lag ms | sustained"
BEGIN, END = "<!-- bench:openloop:begin -->", "<!-- bench:openloop:end -->"
RUN = uuid.uuid4().hex[:8]


def sustained(result: OpenLoopResult) -> bool:
    """The server kept up with this rate (see the module's docstring)."""
    server_errors = sum(n for status, n in result.statuses.items() if status >= 500)
    return (
        result.achieved_rate >= 0.95 * result.offered_rate
        and server_errors == 0
        and not result.failures
        and result.percentile_ms(99) <= P99_LIMIT_MS
    )


def ladder(url: str, send: Send, name: str) -> list[dict[str, Any]]:
    """``send`` at each rate of the ladder, the summary of each (stops after the first rate the
    server did not sustain: higher ones only pile up its queue)."""
    rows: list[dict[str, Any]] = []
    for rate in RATES:
        say(f"open loop: {name} at {rate:g}/s for {DURATION_S:g} s")

        async def go(rate: float = rate) -> OpenLoopResult:
            limits = httpx.Limits(max_connections=CONNECTIONS)
            async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
                return await run_open_loop(client, send, rate, DURATION_S, say)

        result = asyncio.run(go())
        rows.append({"load": name, **result.summary(), "sustained": sustained(result)})
        if not rows[-1]["sustained"]:
            break
    return rows


def get(path: str, tokens: list[str] | None = None) -> Send:
    """A GET of ``path``, as user ``i mod len(tokens)`` when given tokens."""

    def send(client: httpx.AsyncClient, index: int) -> Any:
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"} if tokens else {}
        return client.get(path, headers=headers)

    return send


def post(path: str, tokens: list[str], body: dict[str, str]) -> Send:
    """A POST of ``body`` to ``path`` as user ``i mod len(tokens)``, with a key of its own."""

    def send(client: httpx.AsyncClient, index: int) -> Any:
        headers = {
            "Authorization": f"Bearer {tokens[index % len(tokens)]}",
            "Idempotency-Key": f"ol-{RUN}-{path.rsplit('/', 1)[-1]}-{index}",
        }
        return client.post(path, json=body, headers=headers)

    return send


def plain_uvicorn_noop() -> list[dict[str, Any]]:
    """The no-op on plain uvicorn, in a process of its own."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.noop:app", "--port", str(port), *QUIET],
    )
    try:
        wait_for_port(port, 30, "uvicorn (the plain no-op)", server)
        return ladder(f"http://127.0.0.1:{port}", get("/"), "no-op, plain uvicorn")
    finally:
        server.terminate()
        server.wait(timeout=10)


def memory_stack() -> list[dict[str, Any]]:
    """The Serve no-op and the scenarios, on the shards' in-memory ledger."""
    rows = plain_uvicorn_noop()
    with LocalStack(StackOptions.isolated("haproxy", {**SETTINGS, "ledger_store": "memory"})) as st:
        bench = Bench(st, "memory")
        say(f"memory: registering {USERS} users")
        tokens = bench.users_with_cash(USERS)
        bench.wait_for_price(ORDER_ASSET)
        for token in tokens:  # warm: every user active, its balance cached
            bench.post("/api/v1/orders", token, ORDER_BODY, retry_s=30)
        bench.flush()
        scenarios: list[tuple[str, Send]] = [
            ("no-op, Serve (GET /health)", get("/health")),
            ("cached balance reads", get("/api/v1/balance", tokens)),
            ("deposits", post("/api/v1/balance/deposit", tokens, DEPOSIT_BODY)),
            ("market orders", post("/api/v1/orders", tokens, ORDER_BODY)),
        ]
        for name, send in scenarios:
            rows += ladder(st.url, send, name)
    return rows


def best(rows: list[dict[str, Any]], load: str) -> float:
    """The highest rate ``load`` sustained (0 if none)."""
    return max((r["offered_rate"] for r in rows if r["load"] == load and r["sustained"]), default=0)


def report(rows: list[dict[str, Any]], when: str) -> str:
    """The markdown of a run: every rate of every load, then the ratios to the Serve no-op."""
    lines = [
        f"Run of {when} on {os.cpu_count()} CPUs, in-memory store, HAProxy ingress; "
        f"{DURATION_S:g} s per rate, sustained = 95% answered, no 5xx, p99 <= {P99_LIMIT_MS:g} ms.",
        "",
        f"| {COLUMNS} |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['load']} | {r['offered_rate']:g} | {r['achieved_rate']:g} | {r['p50_ms']} | "
            f"{r['p99_ms']} | {r['max_ms']} | {r['statuses'] or r['failures']} | "
            f"{r['worst_send_lag_ms']} | {'yes' if r['sustained'] else 'no'} |"
        )
    noop = best(rows, "no-op, Serve (GET /health)")
    lines += [
        "",
        "| load | highest sustained rate/s | of the Serve no-op's |",
        "| --- | ---: | ---: |",
    ]
    loads = dict.fromkeys(r["load"] for r in rows)
    for load in loads:
        rate = best(rows, load)
        ratio = f"{rate / noop:.2f}" if noop else "-"
        lines.append(f"| {load} | {rate:g} | {ratio} |")
    return "\n".join(lines)


def main(run: Callable[[], list[dict[str, Any]]] = memory_stack) -> int:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = run()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "openloop.json").write_text(json.dumps(rows, indent=2) + "\n")
    table = report(rows, when)
    print(table, flush=True)
    update_doc(table, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
