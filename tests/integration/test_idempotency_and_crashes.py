"""Acceptance 4 and 5: idempotent retries, shard kills and a crash between commit and projection."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
import ray

from actors.routing import shard_index, shard_name
from cluster.local import LocalStack
from tests.integration.conftest import (
    TEST_SETTINGS,
    User,
    balance_of,
    deposit,
    key,
    new_user,
    transactions_of,
)

pytestmark = pytest.mark.integration
NAMESPACE = "order-processor"


def shard_of(user: User) -> Any:
    index = shard_index(user.username, TEST_SETTINGS["shard_count"])
    return ray.get_actor(shard_name(index), namespace=NAMESPACE)


def kill_and_wait_for_restart(shard: Any) -> None:
    pid_before = ray.get(shard.ping.remote())["pid"]
    ray.kill(shard, no_restart=False)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if ray.get(shard.ping.remote(), timeout=5)["pid"] != pid_before:
                return
        except Exception:  # noqa: BLE001 - restarting
            time.sleep(0.2)
    raise AssertionError("the shard did not restart within 60 s")


def test_the_same_deposit_five_times_is_applied_once_even_across_a_shard_restart(
    client: httpx.Client,
) -> None:
    user = new_user(client)
    headers = {**user.headers, "Idempotency-Key": "deposit-once-1"}

    first = [
        client.post("/api/v1/balance/deposit", json={"amount": "42.10"}, headers=headers)
        for _ in range(5)
    ]
    kill_and_wait_for_restart(shard_of(user))
    after_restart = client.post(
        "/api/v1/balance/deposit", json={"amount": "42.10"}, headers=headers
    )
    reused = client.post("/api/v1/balance/deposit", json={"amount": "42.11"}, headers=headers)

    assert {r.status_code for r in first} == {201}
    assert len({r.text for r in first}) == 1
    assert after_restart.status_code == 201 and after_restart.text == first[0].text
    assert [r.headers.get("idempotent-replayed") for r in first[1:]] == ["true"] * 4
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    assert balance_of(client, user) == "42.10"
    assert len(transactions_of(client, user)) == 1


async def _deposits_with_retries(url: str, users: list[User], per_user: int) -> dict[str, Decimal]:
    """Each deposit is retried with its own key until it gets a final answer."""
    totals = {u.username: Decimal(0) for u in users}

    async def one(http: httpx.AsyncClient, user: User, amount: str) -> None:
        headers = {**user.headers, "Idempotency-Key": key()}
        for _ in range(100):
            response = await http.post(
                "/api/v1/balance/deposit", json={"amount": amount}, headers=headers
            )
            if response.status_code == 201:
                totals[user.username] += Decimal(amount)
                return
            assert response.status_code in (409, 503), response.text  # in flight or restarting
            await asyncio.sleep(0.1)
        raise AssertionError("a deposit never completed")

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        await asyncio.gather(*(one(http, u, f"{i + 1}.01") for u in users for i in range(per_user)))
    return totals


def test_killing_a_shard_during_load_loses_and_duplicates_nothing(
    stack: LocalStack, client: httpx.Client
) -> None:
    users = [new_user(client) for _ in range(6)]
    shard = shard_of(users[0])

    async def load_and_kill() -> dict[str, Decimal]:
        load = asyncio.create_task(_deposits_with_retries(stack.url, users, per_user=15))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(kill_and_wait_for_restart, shard)
        return await load

    totals = asyncio.run(load_and_kill())

    for user in users:
        assert (
            Decimal(balance_of(client, user))
            == totals[user.username]
            == sum(Decimal(f"{i + 1}.01") for i in range(15))
        )
        history = transactions_of(client, user)
        assert len(history) == 15
        assert len({t["transaction_id"] for t in history}) == 15


def test_a_crash_between_commit_and_read_models_is_repaired_on_the_next_activation(
    client: httpx.Client,
) -> None:
    user = new_user(client)
    assert deposit(client, user, "10.00").status_code == 201
    shard = shard_of(user)
    pid_before = ray.get(shard.ping.remote())["pid"]
    ray.get(shard.crash_after_next_commit.remote())
    headers = {**user.headers, "Idempotency-Key": key()}

    # The shard dies after committing; the ingress retries with the same key on the restarted
    # shard, whose activation re-projects the event and replays the stored answer.
    crashed = client.post("/api/v1/balance/deposit", json={"amount": "5.55"}, headers=headers)
    again = client.post("/api/v1/balance/deposit", json={"amount": "5.55"}, headers=headers)
    follow_up = deposit(client, user, "1.00")

    assert ray.get(shard.ping.remote())["pid"] != pid_before
    assert crashed.status_code == 201, crashed.text
    assert again.status_code == 201 and again.json() == crashed.json()
    assert follow_up.status_code == 201
    assert balance_of(client, user) == "16.55"
    amounts = sorted(t["amount"] for t in transactions_of(client, user))
    assert amounts == ["1.00", "10.00", "5.55"]
