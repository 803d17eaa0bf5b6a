"""Sessions on the real stack: logout, password change and refresh-token reuse end tokens for
good, on every ingress replica, and with ``redis-server`` stopped (DynamoDB is the truth)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cluster.local import LocalStack
from tests.integration.conftest import PASSWORD, new_user
from tests.integration.test_cash_concurrency import served_per_replica, wait_until_replicas_serve

PROFILE = "/api/v1/auth/profile"
REVOKED_WITHIN_S = 1.0
NEW_PASSWORD = "Battery-Staple-77#"


def login(http: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def status_of(http: httpx.Client, token: str) -> int:
    response = http.get(PROFILE, headers=bearer(token))
    assert response.status_code in (200, 401), response.text
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


def fresh_connections(stack: LocalStack) -> httpx.Client:
    """A client opening a connection per request, so that HAProxy spreads them over replicas."""
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=stack.url, timeout=30, limits=limits)


def test_after_logout_the_token_is_refused_on_both_replicas_within_a_second(
    stack: LocalStack, client: httpx.Client
) -> None:
    stack.deploy(ingress_replicas=2)
    try:
        wait_until_replicas_serve(stack.url, 2)
        user = new_user(client)
        session = login(client, user.username)
        with fresh_connections(stack) as spread:
            before = served_per_replica(f"GET {PROFILE} ")
            # both replicas check the session and remember it
            assert [status_of(spread, session["access_token"]) for _ in range(20)] == [200] * 20
            out = client.post("/api/v1/auth/logout", headers=bearer(session["access_token"]))
            logged_out = time.monotonic()
            assert out.status_code == 204, out.text
            statuses: list[tuple[float, int]] = []
            while time.monotonic() - logged_out < 2 * REVOKED_WITHIN_S:
                statuses.append((time.monotonic(), status_of(spread, session["access_token"])))
        time.sleep(1.0)  # let the access logs flush
        after = served_per_replica(f"GET {PROFILE} ")
    finally:
        stack.deploy(ingress_replicas=1)

    served = {name: n - before.get(name, 0) for name, n in after.items()}
    assert len([n for n in served.values() if n > 0]) == 2, served  # both replicas answered
    accepted_after = [at - logged_out for at, status in statuses if status == 200]
    assert max(accepted_after, default=0.0) < REVOKED_WITHIN_S, accepted_after
    assert statuses[-1][1] == 401 and len(statuses) > 10


def test_with_redis_stopped_a_logged_out_token_stays_refused_and_other_sessions_work(
    stack: LocalStack, client: httpx.Client
) -> None:
    user = new_user(client)
    leaving, staying = login(client, user.username), login(client, user.username)
    assert status_of(client, leaving["access_token"]) == 200  # checked and cached in Redis

    stack.stop_redis()
    try:
        out = client.post("/api/v1/auth/logout", headers=bearer(leaving["access_token"]))
        time.sleep(REVOKED_WITHIN_S)
        refused = [status_of(client, leaving["access_token"]) for _ in range(5)]
        refresh = client.post(
            "/api/v1/auth/refresh", json={"refresh_token": leaving["refresh_token"]}
        )
        kept = status_of(client, staying["access_token"])
    finally:
        stack.start_redis()

    assert out.status_code == 204, out.text
    assert refused == [401] * 5
    assert refresh.status_code == 401
    assert kept == 200
    time.sleep(REVOKED_WITHIN_S)  # Redis came back empty: the store's revocation holds
    assert status_of(client, leaving["access_token"]) == 401


def test_a_logout_during_a_redis_stall_still_holds_after_redis_resumes(
    stack: LocalStack, client: httpx.Client
) -> None:
    user = new_user(client)
    leaving = login(client, user.username)
    assert status_of(client, leaving["access_token"]) == 200  # Redis holds "active" for it

    stack.pause_redis()
    try:
        out = client.post("/api/v1/auth/logout", headers=bearer(leaving["access_token"]))
        during = status_of(client, leaving["access_token"])
    finally:
        stack.resume_redis()

    assert out.status_code == 204, out.text
    assert during == 401
    time.sleep(3.0)  # past the Redis circuit breaker's pause: Redis is asked again
    assert [status_of(client, leaving["access_token"]) for _ in range(5)] == [401] * 5


def test_a_password_change_ends_every_earlier_session(client: httpx.Client) -> None:
    user = new_user(client)
    first, second = login(client, user.username), login(client, user.username)

    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(first["access_token"]),
    )

    assert changed.status_code == 200, changed.text
    time.sleep(REVOKED_WITHIN_S)
    for earlier in (first, second, {"access_token": user.headers["Authorization"][7:]}):
        assert status_of(client, earlier["access_token"]) == 401
    assert status_of(client, changed.json()["access_token"]) == 200
    assert login(client, user.username, NEW_PASSWORD)["token_type"] == "bearer"


def test_a_reused_refresh_token_ends_its_family(client: httpx.Client) -> None:
    user = new_user(client)
    stolen = login(client, user.username)

    def refresh(token: str) -> httpx.Response:
        return client.post("/api/v1/auth/refresh", json={"refresh_token": token})

    rotated = refresh(stolen["refresh_token"])
    replayed = refresh(stolen["refresh_token"])

    assert rotated.status_code == 200, rotated.text
    assert replayed.status_code == 401
    assert replayed.headers["content-type"] == "application/problem+json"
    time.sleep(REVOKED_WITHIN_S)
    assert refresh(rotated.json()["refresh_token"]).status_code == 401
    assert status_of(client, rotated.json()["access_token"]) == 401
    assert status_of(client, user.headers["Authorization"][7:]) == 200  # another session
