"""``make bench``: throughput and latency, each shown as a ratio against a baseline of the same run.

1. Ingress: HAProxy against Serve's Python proxy (baseline), on a no-op route, a cached read
   and the full write path (deposit: actor hop, conditional PutItem, projection, cache).
2. Write path against the store's own ceiling: deposits per second over raw conditional
   PutItems per second to the same moto server (baseline), from 16 threads.

Machines here are noisy: only the ratios inside one run mean anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from cluster.local import LocalStack, StackOptions

HERE = Path(__file__).parent
DURATION_S = int(os.environ.get("BENCH_DURATION_S", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
USERS = int(os.environ.get("BENCH_USERS", "32"))
PASSWORD = "Correct-Horse-42!"
DEPOSIT = "/api/v1/balance/deposit"
SETTINGS = {"environment": "test", "daily_deposit_limit": "1000000000.00"}


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def wrk(url: str, script: str, tokens: list[str]) -> dict[str, float]:
    """Run wrk against ``url``; requests per second, p99 latency and the count of errors."""
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency"]
    env = {**os.environ, "TOKEN": tokens[0], "TOKENS": ",".join(tokens)}
    command += ["-s", str(HERE / script), url]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    return {"rps": rps, "p99_ms": p99_ms, "requests": total, "non_2xx": errors}


def login(url: str) -> str:
    username = "b" + uuid.uuid4().hex[:15]
    with httpx.Client(base_url=url, timeout=30) as http:
        http.post(
            "/api/v1/auth/register",
            json={
                "username": username,
                "email": f"{username}@example.com",
                "password": PASSWORD,
                "first_name": "Bench",
                "last_name": "Mark",
            },
        ).raise_for_status()
        token = http.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        ).json()["access_token"]
        http.post(
            "/api/v1/balance/deposit",
            json={"amount": "1.00"},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
        return str(token)


def measure_proxy(proxy: str) -> dict[str, Any]:
    with LocalStack(StackOptions.isolated(proxy, SETTINGS)) as stack:
        tokens = [login(stack.url) for _ in range(USERS)]
        results = {}
        for name, path, script, users in [
            ("health (no-op)", "/health", "get.lua", tokens[:1]),
            ("balance read (Redis)", "/api/v1/balance", "get.lua", tokens[:1]),
            (
                "deposit, one user (serialized)",
                "/api/v1/balance/deposit",
                "deposit.lua",
                tokens[:1],
            ),
            (f"deposit, {USERS} users", "/api/v1/balance/deposit", "deposit.lua", tokens),
        ]:
            say(f"{proxy}: {name} for {DURATION_S} s at {CONNECTIONS} connections")
            results[name] = wrk(stack.url + path, script, users)
        results["raw PutItem (store ceiling)"] = raw_put_rate(
            stack.settings["dynamodb_endpoint_url"]
        )
        return results


def raw_put_rate(endpoint: str, threads: int = 16) -> dict[str, float]:
    """Conditional PutItems per second straight to the store: the ceiling of the write path."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=threads),
    )
    count = 0
    lock = threading.Lock()
    deadline = time.monotonic() + DURATION_S

    def writer(n: int) -> None:
        nonlocal count
        seq = 0
        while time.monotonic() < deadline:
            seq += 1
            client.put_item(
                TableName="order-processor",
                Item={"PK": {"S": f"BENCH#{n}"}, "SK": {"S": f"EVENT#{seq:012d}"}},
                ConditionExpression="attribute_not_exists(PK)",
            )
            with lock:
                count += 1

    say(f"raw conditional PutItem for {DURATION_S} s from {threads} threads")
    workers = [threading.Thread(target=writer, args=(uuid.uuid4().hex,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return {"rps": count / DURATION_S, "p99_ms": float("nan"), "requests": count, "non_2xx": 0}


def report(python: dict[str, Any], haproxy: dict[str, Any]) -> str:
    """A markdown table of both runs with HAProxy over the Python proxy as the ratio."""
    lines = [
        "| load | Python proxy req/s | HAProxy req/s | ratio | p99 ms Python / HAProxy | non-2xx |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, base in python.items():
        new = haproxy[name]
        lines.append(
            f"| {name} | {base['rps']:.0f} | {new['rps']:.0f} | {new['rps'] / base['rps']:.2f}x "
            f"| {base['p99_ms']:.0f} / {new['p99_ms']:.0f} | {base['non_2xx'] + new['non_2xx']} |"
        )
    deposits = haproxy[f"deposit, {USERS} users"]["rps"]
    ceiling = haproxy["raw PutItem (store ceiling)"]["rps"]
    lines.append(
        f"\nWrite path over the store's ceiling (HAProxy run): {deposits:.0f} deposits/s / "
        f"{ceiling:.0f} raw conditional PutItems/s = {deposits / ceiling:.2f}"
    )
    return "\n".join(lines)


def main() -> int:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench does this).")
    python = measure_proxy("python")
    haproxy = measure_proxy("haproxy")
    table = report(python, haproxy)
    print("\n" + table)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    results = {"python": python, "haproxy": haproxy, "seconds": DURATION_S, "conns": CONNECTIONS}
    (out / "latest.json").write_text(json.dumps(results, indent=2))
    (out / "latest.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
