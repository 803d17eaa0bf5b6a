"""Rate limits and the failed-login block on the unit-test app, in memory or a dead Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from limits import parse
from pydantic import ValidationError

from cluster.processes import free_port
from serve.client_address import ClientAddresses
from serve.limiter import RateWindows, Verdict, redis_storage
from serve.login_block import LoginBlock
from serve.rate_limits import RequestLimits, tightest
from serve.settings import Settings
from tests.unit.api import PASSWORD, Api, build_api, close_api, unique_username

PROBLEM_JSON = "application/problem+json"
WRONG = "Wrong-Password-42!"


def limited(api: Api, trusted: list[str] | None = None, redis: Any = None, **limits: str) -> Api:
    """Give ``api`` rate limits and the failed-login block (5 in 300 s, 300 s) as configured."""
    settings = {
        "per_address": "1000/minute",
        "per_user": "1000/minute",
        "login": "1000/minute",
        "register": "1000/minute",
        **limits,
    }
    addresses = ClientAddresses(trusted or [])
    api.runtime.addresses = addresses
    api.runtime.limits = RequestLimits(
        RateWindows(redis, 0.05), addresses, api.runtime.tokens, **settings
    )
    api.runtime.login_block = LoginBlock(
        RateWindows.moving(redis, 0.05), failures=5, window_s=300, block_s=300
    )
    return api


@pytest.fixture
def api() -> Iterator[Api]:
    app = build_api()
    try:
        yield app
    finally:
        close_api(app)


def login(api: Api, username: str, password: str, via: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": via} if via else {}
    body = {"username": username, "password": password}
    return api.post("/api/v1/auth/login", json=body, headers=headers)


def assert_rate_limit_headers(response: httpx.Response) -> None:
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        assert int(response.headers[name]) >= 0, name


def test_a_burst_past_the_user_limit_gets_429_and_another_user_is_unaffected(api: Api) -> None:
    alice, bob = api.new_user(), api.new_user()
    limited(api, per_user="3/minute")

    answers = [api.get("/api/v1/balance", headers=alice) for _ in range(5)]
    other = api.get("/api/v1/balance", headers=bob)

    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    # an allowed request reads no window statistics (one Redis call per window, not two)
    assert not any("RateLimit-Remaining" in r.headers for r in answers[:3])
    refused = answers[3]
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["type"].endswith("/rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert_rate_limit_headers(refused)
    assert other.status_code == 200


def test_an_invalid_token_counts_only_against_the_address(api: Api) -> None:
    limited(api, per_user="1/minute", per_address="4/minute")
    forged = {"Authorization": "Bearer not.a.token"}

    codes = [api.get("/api/v1/balance", headers=forged).status_code for _ in range(5)]

    assert codes == [401, 401, 401, 401, 429]


def test_the_address_limit_holds_for_every_route_and_spares_health(api: Api) -> None:
    limited(api, per_address="2/minute")

    codes = [api.get("/api/v1/inventory/assets").status_code for _ in range(3)]
    health = [api.get("/health").status_code for _ in range(5)]

    assert codes == [200, 200, 429]
    assert health == [200] * 5
    assert "RateLimit-Limit" not in api.get("/health").headers


def test_login_and_register_have_their_own_stricter_limits(api: Api) -> None:
    username = unique_username()
    assert api.register(username).status_code == 201
    limited(api, login="2/minute", register="1/minute")

    logins = [login(api, username, PASSWORD).status_code for _ in range(3)]
    registrations = [api.register().status_code for _ in range(2)]
    reads = api.get("/api/v1/inventory/assets")

    assert logins == [200, 200, 429]
    assert registrations == [201, 429]
    assert reads.status_code == 200


def test_every_request_counts_whatever_its_answer(api: Api) -> None:
    limited(api, per_address="3/minute")

    codes = [api.get("/api/v1/no-such-route").status_code for _ in range(4)]

    assert codes == [404, 404, 404, 429]


def test_after_five_failed_logins_the_address_is_refused_even_with_the_right_password(
    api: Api,
) -> None:
    username = unique_username()
    assert api.register(username).status_code == 201
    limited(api)

    failures = [login(api, username, WRONG, via=f"10.0.0.{n}").status_code for n in range(5)]
    right = login(api, username, PASSWORD, via="10.0.0.99")

    assert failures == [401] * 5
    assert right.status_code == 403
    assert right.headers["content-type"] == PROBLEM_JSON
    assert right.json()["code"] == "access_denied"
    assert 290 <= int(right.headers["Retry-After"]) <= 300
    assert "access_token" not in right.text


def test_the_block_falls_on_the_forwarded_address_behind_a_trusted_proxy(api: Api) -> None:
    username, other_account = unique_username(), unique_username()
    assert api.register(username).status_code == 201
    assert api.register(other_account).status_code == 201
    limited(api, trusted=["127.0.0.1"])

    for _ in range(5):
        assert login(api, username, WRONG, via="203.0.113.7").status_code == 401

    assert login(api, username, PASSWORD, via="203.0.113.7").status_code == 403
    assert login(api, other_account, PASSWORD, via="203.0.113.7").status_code == 403
    assert login(api, username, PASSWORD, via="203.0.113.8").status_code == 200
    assert login(api, other_account, PASSWORD, via="203.0.113.8").status_code == 200


def test_four_failures_do_not_block(api: Api) -> None:
    username = unique_username()
    assert api.register(username).status_code == 201
    limited(api)

    for _ in range(4):
        assert login(api, username, WRONG).status_code == 401

    assert login(api, username, PASSWORD).status_code == 200


def test_the_block_ends_after_its_time_and_one_more_failure_in_the_window_renews_it() -> None:
    async def scenario() -> tuple[int | None, int | None, int | None]:
        block = LoginBlock(RateWindows.moving(None, 0.05), failures=2, window_s=3, block_s=1)
        await block.record_failure("203.0.113.7")
        await block.record_failure("203.0.113.7")
        blocked = await block.blocked_for_s("203.0.113.7")
        await asyncio.sleep(1.1)
        ended = await block.blocked_for_s("203.0.113.7")
        await block.record_failure("203.0.113.7")
        return blocked, ended, await block.blocked_for_s("203.0.113.7")

    blocked, ended, renewed = asyncio.run(scenario())

    assert blocked == 1
    assert ended is None
    assert renewed == 1


def test_with_redis_unreachable_the_limits_hold_in_memory_without_stalling() -> None:
    dead = redis_storage(f"redis://127.0.0.1:{free_port()}/0", 0.05)  # nothing listens there
    windows = RateWindows(dead, 0.05)
    item = parse("3/minute")

    async def burst() -> list[Verdict]:
        return [await windows.hit(item, "address", "203.0.113.7") for _ in range(4)]

    started = time.monotonic()
    verdicts = asyncio.run(burst())
    elapsed_s = time.monotonic() - started

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after_s >= 1
    assert elapsed_s < 1.0


def test_with_redis_unreachable_the_api_still_limits(api: Api) -> None:
    dead = redis_storage(f"redis://127.0.0.1:{free_port()}/0", 0.05)
    user = api.new_user()
    limited(api, redis=dead, per_user="2/minute")

    codes = [api.get("/api/v1/balance", headers=user).status_code for _ in range(3)]

    assert codes == [200, 200, 429]


def test_the_tightest_verdict_is_a_refusal_if_any_else_the_least_remaining() -> None:
    roomy, tight = Verdict(True, 100, 90, 30.0), Verdict(True, 10, 2, 5.0)
    short, long = Verdict(False, 5, 0, 3.0), Verdict(False, 5, 0, 40.0)

    assert tightest([roomy, tight]) == tight
    assert tightest([roomy, short, long, tight]) == long
    assert long.retry_after_s == 40
    assert Verdict(False, 1, 0, 0.0).retry_after_s == 1


@pytest.mark.parametrize(
    "setting",
    [
        {"rate_limit_login": "ten a minute"},
        {"rate_limit_per_user": ""},
        {"trusted_proxies": ["10.0.0.0/33"]},
        {"trusted_proxies": ["localhost"]},
    ],
)
def test_a_limit_or_proxy_that_cannot_be_parsed_fails_at_start(setting: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**setting)


def test_the_defaults_are_the_original_systems_block_and_strict_login_limits() -> None:
    settings = Settings()

    assert (settings.login_failure_limit, settings.login_failure_window_s) == (5, 300)
    assert settings.login_block_s == 300
    assert settings.trusted_proxies == []
    assert settings.rate_limit_login == "10/minute"
