"""Rate limits and the failed-login block through the real stack (HAProxy ingress, two Gateway
replicas, redis-server), with strict limits deployed for this module and the suite's restored after.

All test traffic comes from 127.0.0.1, which is the local HAProxy's address too: "another client"
is a different address forwarded by a trusted proxy (``trusted_proxies`` with the local hop, as an
ALB in front of HAProxy would be configured).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from cluster.local import LocalStack
from tests.integration.conftest import PASSWORD, User, new_user, registration
from tests.integration.test_cash_concurrency import served_per_replica, wait_until_replicas_serve

OPEN = "100000/second"
STRICT_LIMITS = {
    "ingress_replicas": 2,
    "rate_limit_per_address": OPEN,
    "rate_limit_per_user": "12/minute",
    "rate_limit_login": OPEN,
    "rate_limit_register": OPEN,
    "login_failure_limit": 5,
    "login_failure_window_s": 20,
    "login_block_s": 3,
    # the burst below checks that one window in Redis serves both replicas: a 50 ms timeout on a
    # loaded 2-core host would let a replica count a few requests in its own memory instead
    "rate_limit_timeout_s": 0.5,
}
BEHIND_A_PROXY = {
    **STRICT_LIMITS,
    "trusted_proxies": ["127.0.0.1"],
    "rate_limit_login": "8/minute",
    "rate_limit_register": "2/minute",
}
WRONG = "Wrong-Password-42!"
BALANCE_LINE = "GET /api/v1/balance "
PROBLEM_JSON = "application/problem+json"

Configure = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def configure(stack: LocalStack) -> Iterator[Configure]:
    """Deploy these settings (only when they change); the suite's settings again at the end."""
    before = dict(stack.settings)
    touched: set[str] = set()
    current: list[dict[str, Any]] = []

    def use(settings: dict[str, Any]) -> None:
        if current and current[-1] == settings:
            return
        touched.update(settings)
        stack.deploy(**settings)
        wait_until_replicas_serve(stack.url, settings.get("ingress_replicas", 1))
        current.append(settings)

    yield use
    for name in touched:
        if name in before:
            stack.settings[name] = before[name]
        else:
            stack.settings.pop(name, None)
    stack.deploy()


def login(http: httpx.Client, username: str, password: str, via: str | None = None) -> Any:
    headers = {"X-Forwarded-For": via} if via else {}
    body = {"username": username, "password": password}
    return http.post("/api/v1/auth/login", json=body, headers=headers)


def registered(http: httpx.Client, via: str | None = None) -> httpx.Response:
    body = registration()
    headers = {"X-Forwarded-For": via} if via else {}
    return http.post("/api/v1/auth/register", json=body, headers=headers)


def user_via(http: httpx.Client, via: str) -> User:
    """Register and log in a fresh user from ``via`` (a forwarded address), as ``new_user`` does."""
    response = registered(http, via)
    assert response.status_code == 201, response.text
    username = response.json()["username"]
    token = login(http, username, PASSWORD, via=via)
    assert token.status_code == 200, token.text
    return User(username, {"Authorization": f"Bearer {token.json()['access_token']}"})


def assert_denied(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "access_denied"
    assert int(response.headers["Retry-After"]) >= 1


def test_a_client_rotating_x_forwarded_for_is_blocked_after_five_failed_logins(
    configure: Configure, client: httpx.Client
) -> None:
    configure(STRICT_LIMITS)
    user = new_user(client)

    failures = [
        login(client, user.username, WRONG, via=f"10.{n}.{n}.{n}, 198.51.100.{n}").status_code
        for n in range(1, 6)
    ]
    right = login(client, user.username, PASSWORD, via="203.0.113.250")

    assert failures == [401] * 5
    assert_denied(right)
    assert "access_token" not in right.text
    # the block ends after its configured time (3 s), and the right password works again
    deadline = time.monotonic() + 15
    while login(client, user.username, PASSWORD).status_code == 403:
        assert time.monotonic() < deadline, "the block did not end"
        time.sleep(0.5)
    assert login(client, user.username, PASSWORD).status_code == 200


async def _burst(url: str, user: User, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        calls = [http.get("/api/v1/balance", headers=user.headers) for _ in range(count)]
        return list(await asyncio.gather(*calls))


def test_a_burst_past_the_user_limit_gets_429_across_two_replicas_and_another_user_is_not(
    configure: Configure, stack: LocalStack, client: httpx.Client
) -> None:
    configure(STRICT_LIMITS)
    alice, bob = new_user(client), new_user(client)
    before = served_per_replica(BALANCE_LINE)

    answers = asyncio.run(_burst(stack.url, alice, 30))
    other = client.get("/api/v1/balance", headers=bob.headers)

    after = served_per_replica(BALANCE_LINE)
    served = {name: after[name] - before.get(name, 0) for name in after}
    assert len([n for n in served.values() if n > 0]) == 2, served  # both replicas answered
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 12 + [429] * 18  # one window in Redis, not one per replica
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "12"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["RateLimit-Reset"]) <= 60
    assert other.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_one_blocked(
    configure: Configure, client: httpx.Client
) -> None:
    configure(BEHIND_A_PROXY)
    user, other_account = user_via(client, "192.0.2.1"), user_via(client, "192.0.2.2")
    attacker, bystander = "203.0.113.7", "203.0.113.8"

    failures = [login(client, user.username, WRONG, via=attacker).status_code for _ in range(5)]
    right = login(client, user.username, PASSWORD, via=attacker)
    other_account_from_attacker = login(client, other_account.username, PASSWORD, via=attacker)
    from_bystander = login(client, user.username, PASSWORD, via=bystander)
    other_account_from_bystander = login(client, other_account.username, PASSWORD, via=bystander)

    assert failures == [401] * 5
    assert_denied(right)
    assert_denied(other_account_from_attacker)  # the address is blocked, whatever the account
    assert from_bystander.status_code == 200
    assert other_account_from_bystander.status_code == 200


def test_behind_a_trusted_proxy_login_and_register_have_strict_limits_per_address(
    configure: Configure, client: httpx.Client
) -> None:
    configure(BEHIND_A_PROXY)
    user = user_via(client, "192.0.2.3")
    crowded, quiet = "198.51.100.20", "198.51.100.21"

    logins = [login(client, user.username, PASSWORD, via=crowded) for _ in range(9)]
    registrations = [registered(client, via=crowded).status_code for _ in range(3)]
    elsewhere = login(client, user.username, PASSWORD, via=quiet)

    assert [r.status_code for r in logins] == [200] * 8 + [429]
    assert logins[-1].json()["code"] == "rate_limited"
    assert int(logins[-1].headers["Retry-After"]) >= 1
    assert registrations == [201, 201, 429]
    assert elsewhere.status_code == 200
