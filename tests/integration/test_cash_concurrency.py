"""Acceptance 2, 3 and 6: concurrent money operations through HTTP, real Ray and DynamoDB."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import ray
from ray import serve

from cluster.local import APP_NAME, LocalStack
from tests.integration.conftest import User, balance_of, deposit, key, new_user, transactions_of

pytestmark = pytest.mark.integration
WITHDRAW_LINE = "POST /api/v1/balance/withdraw "


async def _withdraw_all_at_once(url: str, user: User, amount: str, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        calls = [
            http.post(
                "/api/v1/balance/withdraw",
                json={"amount": amount},
                headers={**user.headers, "Idempotency-Key": key()},
            )
            for _ in range(n)
        ]
        return list(await asyncio.gather(*calls))


def _assert_exactly_one_withdrawal_wins(stack: LocalStack, client: httpx.Client) -> None:
    user = new_user(client)
    assert deposit(client, user, "250.00").status_code == 201

    responses = asyncio.run(_withdraw_all_at_once(stack.url, user, "250.00", 50))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {r["code"] for r in refusals} == {"insufficient_funds"}
    assert balance_of(client, user) == "0.00"
    withdrawals = [t for t in transactions_of(client, user) if t["transaction_type"] == "WITHDRAW"]
    assert len(withdrawals) == 1


def test_fifty_concurrent_full_withdrawals_let_exactly_one_through(
    stack: LocalStack, client: httpx.Client
) -> None:
    _assert_exactly_one_withdrawal_wins(stack, client)


def served_per_replica(request_line: str) -> dict[str, int]:
    """How many such requests each Gateway replica has logged (Serve's per-replica access log)."""
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs" / "serve"
    return {
        path.name: path.read_text().count(request_line)
        for path in logs.glob("replica_*Gateway*.log")
    }


def wait_until_replicas_serve(url: str, replicas: int, timeout_s: float = 30) -> None:
    """HAProxy learns of a new replica shortly after the deploy returns: wait until it routes."""
    before = served_per_replica("GET /health ")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        asyncio.run(_health_burst(url))
        after = served_per_replica("GET /health ")
        if sum(after[n] > before.get(n, 0) for n in after) >= replicas:
            return
        time.sleep(0.5)
    raise AssertionError(f"fewer than {replicas} replicas served within {timeout_s} s")


async def _health_burst(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        await asyncio.gather(*(http.get("/health") for _ in range(16)))


def test_with_two_ingress_replicas_exactly_one_full_withdrawal_still_wins(
    stack: LocalStack, client: httpx.Client
) -> None:
    stack.deploy(ingress_replicas=2)
    try:
        status = serve.status().applications[APP_NAME].deployments["Gateway"]
        assert status.replica_states.get("RUNNING") == 2, status.replica_states
        wait_until_replicas_serve(stack.url, 2)
        before = served_per_replica(WITHDRAW_LINE)

        _assert_exactly_one_withdrawal_wins(stack, client)

        time.sleep(1)  # let the access logs flush
        after = served_per_replica(WITHDRAW_LINE)
        served = {name: n - before.get(name, 0) for name, n in after.items()}
        assert sum(served.values()) == 50, served
        assert len([n for n in served.values() if n > 0]) == 2, served  # both replicas took part
    finally:
        stack.deploy(ingress_replicas=1)


async def _random_load(url: str, users: list[User], operations: int, clients: int) -> dict:
    """Random deposits, withdrawals and reads; returns what was accepted and what was seen."""
    accepted = {u.username: Decimal("0.00") for u in users}
    statuses: Counter[int] = Counter()
    negative_reads: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(operations):
        queue.put_nowait(i)
    rng = random.Random(20261129)
    plan = [
        (rng.choice(users), rng.random() < 0.55, f"{rng.randint(1, 40000) / 100:.2f}")
        for _ in range(operations)
    ]

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            user, is_deposit, amount = plan[queue.get_nowait()]
            path = "/api/v1/balance/deposit" if is_deposit else "/api/v1/balance/withdraw"
            headers = {**user.headers, "Idempotency-Key": key()}
            response = await http.post(path, json={"amount": amount}, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code == 201:
                accepted[user.username] += Decimal(amount) if is_deposit else -Decimal(amount)
            read = await http.get("/api/v1/balance", headers=user.headers)
            statuses[read.status_code] += 1
            if read.status_code == 200 and Decimal(read.json()["current_balance"]) < 0:
                negative_reads.append(read.text)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(clients)))
    return {"accepted": accepted, "statuses": statuses, "negative_reads": negative_reads}


def test_random_concurrent_deposits_and_withdrawals_keep_every_balance_exact(
    stack: LocalStack, client: httpx.Client
) -> None:
    users = [new_user(client) for _ in range(20)]

    started = time.monotonic()
    result = asyncio.run(_random_load(stack.url, users, operations=1000, clients=32))
    elapsed = time.monotonic() - started

    statuses = result["statuses"]
    assert not [s for s in statuses if s >= 500], statuses
    assert result["negative_reads"] == []
    assert statuses[201] > 0 and statuses[409] > 0, statuses  # both outcomes were exercised
    for user in users:
        expected = result["accepted"][user.username]
        assert Decimal(balance_of(client, user)) == expected, user.username
        history = transactions_of(client, user)
        signed = sum(
            Decimal(t["amount"]) * (1 if t["transaction_type"] == "DEPOSIT" else -1)
            for t in history
        )
        assert signed == expected
    print(
        f"1000 operations + 1000 reads from 32 clients in {elapsed:.1f} s; "
        f"statuses {dict(statuses)}"
    )
