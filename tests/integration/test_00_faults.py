"""Issue 17, acceptance 3 and 4: answers lost after the commit, and a bank-style workload under
shard kills, a paused and killed ``redis-server`` and a cut DynamoDB endpoint.

The module starts its own stack with a ``FaultProxy`` in front of moto (``fault_proxy=True``)
and stops it before the session ``stack`` starts its Ray head in this process (hence
``test_00_``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bench.faults import FAULT_WINDOW_S, Plan, run
from cluster.faultproxy import event_appends
from cluster.faults import StackFaults
from cluster.local import LocalStack, StackOptions
from tests.integration.conftest import TEST_SETTINGS, User, key, new_user, transactions_of

pytestmark = pytest.mark.integration
D = Decimal
ORDERS = "/api/v1/orders"
DEPOSITS = 100
ORDERS_PLACED = 20


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[LocalStack]:
    options = StackOptions.isolated("haproxy", TEST_SETTINGS, fault_proxy=True)
    with LocalStack(options) as running:
        yield running


@pytest.fixture(scope="module")
def http(fault_stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fault_stack.url, timeout=60) as client:
        yield client


def faults_of(stack: LocalStack) -> StackFaults:
    assert stack.faults is not None
    return stack.faults


def post_until_2xx(
    http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, list[int]]:
    """POST with the same Idempotency-Key until a 2xx; the answer and the statuses before it."""
    statuses: list[int] = []
    for _ in range(60):
        try:
            response = http.post(path, json=body, headers=headers)
        except httpx.TransportError:
            statuses.append(0)
            time.sleep(0.2)
            continue
        if response.is_success:
            return response, statuses
        statuses.append(response.status_code)
        assert response.status_code == 503, response.text  # only "unknown outcome, retry"
        assert response.headers["content-type"].startswith("application/problem+json")
        assert int(response.headers["retry-after"]) >= 1
        time.sleep(0.2)
    raise AssertionError(f"no 2xx after 60 tries: {statuses}")


def test_answers_lost_after_the_commit_are_applied_once_and_the_retry_gets_the_stored_answer(
    fault_stack: LocalStack, http: httpx.Client
) -> None:
    faults = faults_of(fault_stack)
    users = [new_user(http) for _ in range(4)]
    expected_cash = {u.username: D(0) for u in users}
    expected_btc = {u.username: D(0) for u in users}
    operations: list[tuple[User, str]] = []
    dropped_before = faults.proxy.stats.dropped

    for i in range(DEPOSITS + ORDERS_PLACED):
        user = users[i % len(users)]
        headers = {**user.headers, "Idempotency-Key": key()}
        if i < DEPOSITS:
            path, body = "/api/v1/balance/deposit", {"amount": f"{100 + i}.25"}
        else:
            path, body = (
                ORDERS,
                {"order_type": "market_buy", "asset_id": "BTC", "quantity": "0.001"},
            )
        faults.drop_after_commit(1, event_appends)

        answer, _ = post_until_2xx(http, path, body, headers)
        replay = http.post(path, json=body, headers=headers)

        assert faults.proxy.drops_pending == 0, "the commit's answer was not dropped"
        assert answer.status_code == replay.status_code == 201
        assert answer.json() == replay.json()
        assert replay.headers.get("idempotent-replayed") == "true"
        if i < DEPOSITS:
            expected_cash[user.username] += D(body["amount"])
        else:
            order = answer.json()["data"]
            assert order["status"] == "completed"
            expected_cash[user.username] -= D(order["total_amount"])
            expected_btc[user.username] += D(order["quantity"])
        operations.append((user, answer.text))

    assert faults.proxy.stats.dropped - dropped_before == DEPOSITS + ORDERS_PLACED
    for user in users:
        history = transactions_of(http, user)
        per_user = sum(1 for u, _ in operations if u is user)
        assert len(history) == per_user  # a deposit or a buy: one cash movement each
        assert len({t["transaction_id"] for t in history}) == per_user
        money = http.get("/api/v1/balance", headers=user.headers).json()
        assert D(money["current_balance"]) == expected_cash[user.username]
        portfolio = http.get("/api/v1/portfolio", headers=user.headers).json()
        held = {a["asset_id"]: D(a["quantity"]) for a in portfolio["assets"]}
        assert held.get("BTC", D(0)) == expected_btc[user.username]


def test_a_bank_workload_under_every_kind_of_fault_loses_nothing_and_answers_5xx_only_near_one(
    fault_stack: LocalStack,
) -> None:
    plan = Plan(users=6, clients=4, duration_s=30.0, fault_every_s=3.0)

    report = run(fault_stack.url, faults_of(fault_stack), plan)

    assert set(report.faults) >= {
        "shard_kill",
        "dynamodb_cut",
        "redis_pause",
        "redis_kill",
        "drop_after_commit",
    }, report.faults  # every kind of fault happened during the load
    assert sum(report.operations.values()) >= 50, report.summary()
    assert {"deposit", "withdraw", "market_buy", "market_sell"} <= set(report.operations)
    assert report.problems == [], report.summary()
    assert (report.lost, report.duplicated, report.negative) == (0, 0, 0)
    assert report.max_5xx_distance_s <= FAULT_WINDOW_S
