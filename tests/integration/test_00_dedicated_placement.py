"""The ``dedicated`` placement (``OP_PLACEMENT=dedicated``) passes the key money tests of the pool:
conservation under concurrent deposits and withdrawals, one of 50 whole-balance buys, an
idempotent replay, a crash after commit repaired on the next activation; and each user runs as
its own named actor, which stops once its user is idle, at most ``dedicated_max_actors`` at once.

Its own stack (``ray.init`` runs once per process): the module runs before the session
``stack`` starts (hence ``test_00_``), overrides that fixture for its tests, and leaves Ray shut
down for the session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import ray

from actors.routing import user_actor_name
from cluster.local import LocalStack, StackOptions
from tests.integration.conftest import (
    TEST_SETTINGS,
    User,
    balance_of,
    deposit,
    key,
    new_user,
    transactions_of,
)
from tests.integration.test_cash_concurrency import _random_load
from tests.integration.test_trading import ORDERS, feed, freeze_price, order_body

pytestmark = pytest.mark.integration
NAMESPACE = "order-processor"
IDLE_S = 4.0  # a user idle this long is passivated, and its actor stops
CAP = 10
IN_PROGRESS = "Request in progress"  # the 409 of a key whose first request still runs


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    settings = {
        **TEST_SETTINGS,
        "placement": "dedicated",
        "idle_timeout_s": IDLE_S,
        "dedicated_max_actors": CAP,
    }
    with LocalStack(StackOptions.isolated("haproxy", settings)) as running:
        yield running


def actor_of(user: User) -> Any:
    return ray.get_actor(user_actor_name(user.username), namespace=NAMESPACE)


def eventually(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def is_gone(user: User) -> bool:
    try:
        actor_of(user)
    except ValueError:
        return True
    return False


def test_concurrent_deposits_and_withdrawals_keep_every_balance_exact(
    stack: LocalStack, client: httpx.Client
) -> None:
    users = [new_user(client) for _ in range(5)]

    result = asyncio.run(_random_load(stack.url, users, operations=240, clients=12))

    statuses = result["statuses"]
    assert not [s for s in statuses if s >= 500], statuses
    assert result["negative_reads"] == []
    for user in users:
        assert Decimal(balance_of(client, user)) == result["accepted"][user.username]
        assert actor_of(user)  # each user ran on an actor of its own, named after it


def test_each_user_is_its_own_named_actor_on_the_cluster(client: httpx.Client) -> None:
    users = [new_user(client) for _ in range(2)]
    for user in users:
        assert deposit(client, user, "1.00").status_code == 201

    named = ray.util.list_named_actors(all_namespaces=True)  # what the dashboard lists
    alive = {a["name"] for a in named if a["namespace"] == NAMESPACE}
    assert {user_actor_name(u.username) for u in users} <= alive
    pids = {ray.get(actor_of(u).ping.remote())["pid"] for u in users}
    assert len(pids) == 2  # one process each
    assert all(ray.get(actor_of(u).ping.remote())["active_users"] == 1 for u in users)


def test_of_50_whole_balance_buys_one_fills(client: httpx.Client) -> None:
    user = new_user(client)
    assert deposit(client, user, "100.00").status_code == 201
    freeze_price("ETH", "1000.00")

    async def race(count: int) -> list[int]:
        body = order_body("market_buy", "0.1", "ETH")
        async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as http:
            calls = [
                http.post(ORDERS, json=body, headers={**user.headers, "Idempotency-Key": key()})
                for _ in range(count)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        assert sorted(asyncio.run(race(50))) == [201] + [409] * 49
    finally:
        ray.get(feed().resume.remote())
    assert balance_of(client, user) == "0.00"


def test_a_replayed_key_gets_the_first_answer_and_is_applied_once(client: httpx.Client) -> None:
    user = new_user(client)
    headers = {**user.headers, "Idempotency-Key": key()}

    answers = [
        client.post("/api/v1/balance/deposit", json={"amount": "42.10"}, headers=headers)
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [201] * 3
    assert answers[1].json() == answers[0].json() == answers[2].json()
    assert balance_of(client, user) == "42.10"


def test_a_crash_after_commit_is_repaired_on_the_next_activation(client: httpx.Client) -> None:
    user = new_user(client)
    assert deposit(client, user, "10.00").status_code == 201
    actor = actor_of(user)
    pid_before = ray.get(actor.ping.remote())["pid"]
    ray.get(actor.crash_after_next_commit.remote())
    headers = {**user.headers, "Idempotency-Key": key()}

    crashed = client.post("/api/v1/balance/deposit", json={"amount": "5.55"}, headers=headers)
    again = client.post("/api/v1/balance/deposit", json={"amount": "5.55"}, headers=headers)

    assert crashed.status_code == 201, crashed.text
    assert again.json() == crashed.json()
    assert ray.get(actor_of(user).ping.remote())["pid"] != pid_before  # restarted
    assert balance_of(client, user) == "15.55"
    assert sorted(t["amount"] for t in transactions_of(client, user)) == ["10.00", "5.55"]


def test_an_idle_users_actor_stops_and_comes_back_with_its_balance(client: httpx.Client) -> None:
    user = new_user(client)
    assert deposit(client, user, "3.00").status_code == 201
    assert not is_gone(user)

    eventually(lambda: is_gone(user), IDLE_S * 4, "the idle user's actor stops")

    assert deposit(client, user, "2.00").status_code == 201  # a fresh actor, from the log
    assert balance_of(client, user) == "5.00"


def test_at_the_cap_a_new_user_gets_503_until_an_actor_is_idle(client: httpx.Client) -> None:
    users = [new_user(client) for _ in range(CAP + 1)]
    time.sleep(IDLE_S * 2)  # every earlier user idle: their actors free their places
    # CAP processes cold-starting at once on 2 busy cores may outlast the call timeout: a 503
    # then (and a 409 while the first try still runs), retried with the same key, as a client does
    assert deposits_at_once(client, users[:CAP]) == [201] * CAP  # starts CAP actors
    assert deposits_at_once(client, users[:CAP]) == [201] * CAP  # all used just now

    refused = deposit(client, users[CAP], "1.00")

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"]
    assert "Too many users are active" in refused.json()["detail"]  # the cap, not a slow start
    time.sleep(IDLE_S * 1.5)
    assert deposit(client, users[CAP], "1.00").status_code == 201
    assert balance_of(client, users[CAP]) == "1.00"  # the refused deposit changed nothing


def deposits_at_once(client: httpx.Client, users: list[User], within_s: float = 90.0) -> list[int]:
    """One deposit per user, all at once; a 503, or a 409 while the first try still runs, is
    retried with the same key until ``within_s``."""

    async def one(http: httpx.AsyncClient, user: User, deadline: float) -> int:
        headers = {**user.headers, "Idempotency-Key": key()}
        while True:
            answer = await http.post(
                "/api/v1/balance/deposit", json={"amount": "1.00"}, headers=headers
            )
            in_progress = answer.status_code == 409 and answer.json()["title"] == IN_PROGRESS
            if not (answer.status_code == 503 or in_progress) or time.monotonic() > deadline:
                return answer.status_code
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))

    async def all_at_once() -> list[int]:
        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as http:
            return list(await asyncio.gather(*(one(http, u, deadline) for u in users)))

    return asyncio.run(all_at_once())
