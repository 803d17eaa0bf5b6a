"""One real stack per session: Ray, Serve (HAProxy ingress), redis-server and moto's server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from cluster.local import LocalStack, StackOptions

PASSWORD = "Correct-Horse-42!"
TEST_SETTINGS: dict[str, Any] = {
    "environment": "test",
    "shard_count": 2,
    "ingress_replicas": 1,  # pinned (the Serve config file's autoscaling is for make run)
    "allow_fault_injection": True,
    "daily_deposit_limit": "1000000000.00",
    "daily_withdrawal_limit": "1000000000.00",
    "price_tick_interval_s": 0.25,
    "price_max_age_s": 4.0,
    # every test's traffic comes from 127.0.0.1, hundreds of registrations and logins: the rate
    # limits and the failed-login block stay out of the way (test_rate_limits sets strict ones)
    "rate_limit_per_address": "100000/second",
    "rate_limit_per_user": "100000/second",
    "rate_limit_login": "100000/second",
    "rate_limit_register": "100000/second",
    "login_failure_limit": 100000,
}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackOptions.isolated("haproxy", TEST_SETTINGS)) as running:
        yield running


@pytest.fixture
def client(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=60) as http:
        yield http


@dataclass
class User:
    username: str
    headers: dict[str, str]


def registration() -> dict[str, str]:
    """The registration body of a fresh user."""
    username = "u" + uuid.uuid4().hex[:15]
    return {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        "first_name": "Test",
        "last_name": "User",
    }


def new_user(http: httpx.Client) -> User:
    """Register and log in a fresh user."""
    body = registration()
    username = body["username"]
    assert http.post("/api/v1/auth/register", json=body).status_code == 201
    login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return User(username, {"Authorization": f"Bearer {login.json()['access_token']}"})


def key() -> str:
    return str(uuid.uuid4())


def deposit(http: httpx.Client, user: User, amount: str) -> httpx.Response:
    headers = {**user.headers, "Idempotency-Key": key()}
    return http.post("/api/v1/balance/deposit", json={"amount": amount}, headers=headers)


def balance_of(http: httpx.Client, user: User) -> str:
    response = http.get("/api/v1/balance", headers=user.headers)
    assert response.status_code == 200, response.text
    current: str = response.json()["current_balance"]
    return current


def transactions_of(http: httpx.Client, user: User) -> list[dict[str, Any]]:
    """Every transaction of the user, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v1/balance/transactions", params=params, headers=user.headers)
        assert page.status_code == 200, page.text
        items.extend(page.json()["transactions"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items
