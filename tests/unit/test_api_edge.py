"""The edge of the app: security headers, CORS, the header size limit, the JSON depth limit and
the docs of the production profile, over HTTP on in-memory doubles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from serve.headers import API_CSP, DOCS_CSP, content_security_policy
from serve.settings import Settings
from tests.unit.api import Api, build_api, close_api
from tests.unit.test_api_auth import assert_problem

ORIGIN = "https://app.example.com"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture
def edge(request: pytest.FixtureRequest) -> Iterator[Api]:
    """The app with the settings given as the test's (indirect) parameter."""
    subject = build_api(**getattr(request, "param", {}))
    yield subject
    close_api(subject)


def assert_secured(response: httpx.Response, csp: str = API_CSP) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"] == csp


def test_a_public_answer_carries_the_security_headers_but_may_be_cached(api: Api) -> None:
    response = api.get("/health")

    assert response.status_code == 200
    assert_secured(response)
    assert "no-store" not in response.headers.get("cache-control", "")
    assert "strict-transport-security" not in response.headers


def test_an_authenticated_answer_is_never_stored(api: Api) -> None:
    user = api.new_user()

    response = api.get("/api/v1/balance", headers=user)

    assert response.status_code == 200
    assert_secured(response)
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/nowhere"), ("POST", "/health"), ("GET", "/api/v1/balance")],
)
def test_an_error_carries_the_security_headers_and_is_never_stored(
    api: Api, method: str, path: str
) -> None:
    response = api.request(method, path)

    assert response.status_code >= 400
    assert_secured(response)
    assert response.headers["cache-control"] == "no-store"


def test_an_answer_made_outside_the_routes_is_secured_too(api: Api) -> None:
    response = api.post("/api/v1/balance/deposit", content=b"x" * (65 * 1024))

    assert_problem(response, 413, "payload_too_large")
    assert_secured(response)


def test_hsts_only_over_tls(api: Api) -> None:
    over_tls = api.get("https://testserver/health")
    over_http = api.get("http://testserver/health")

    assert over_tls.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "strict-transport-security" not in over_http.headers


@pytest.mark.parametrize("edge", [{"tls_terminated_upstream": True}], indirect=True)
def test_hsts_on_plain_http_when_tls_ends_in_front(edge: Api) -> None:
    response = edge.get("http://testserver/health")

    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_each_part_of_the_site_has_its_own_content_security_policy() -> None:
    web = Settings().web_content_security_policy

    assert content_security_policy("/api/v1/balance", web) == API_CSP
    assert content_security_policy("/openapi.json", web) == API_CSP
    assert content_security_policy("/docs", web) == DOCS_CSP
    assert content_security_policy("/redoc", web) == DOCS_CSP
    assert content_security_policy("/", web) == web
    assert "frame-ancestors 'none'" in web and "frame-ancestors 'none'" in DOCS_CSP


def test_the_docs_page_may_load_its_assets_from_the_cdn(api: Api) -> None:
    response = api.get("/docs")

    assert response.status_code == 200
    assert_secured(response, DOCS_CSP)
    assert "https://cdn.jsdelivr.net" in response.text


def test_a_gzipped_answer_keeps_its_security_headers(api: Api) -> None:
    response = api.get("/openapi.json", headers={"Accept-Encoding": "gzip"})

    assert response.headers.get("content-encoding") == "gzip"
    assert_secured(response)


def preflight(api: Api, origin: str, method: str = "POST", headers: str = "") -> httpx.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        asked["Access-Control-Request-Headers"] = headers
    return api.request("OPTIONS", "/api/v1/balance/deposit", headers=asked)


CORS = {"cors_origins": [ORIGIN]}


@pytest.mark.parametrize("edge", [CORS], indirect=True)
def test_an_allowed_origin_may_send_what_the_api_needs(edge: Api) -> None:
    asked = "authorization, content-type, idempotency-key, last-event-id"

    response = preflight(edge, ORIGIN, headers=asked)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    for header in ("authorization", "content-type", "idempotency-key", "last-event-id"):
        assert header in allowed
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("edge", [CORS], indirect=True)
def test_an_allowed_origin_sees_the_rate_limit_headers(edge: Api) -> None:
    response = edge.get("/health", headers={"Origin": ORIGIN})

    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = response.headers["access-control-expose-headers"]
    assert "RateLimit-Remaining" in exposed and "Retry-After" in exposed


@pytest.mark.parametrize("edge", [CORS], indirect=True)
@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example.com", "POST", ""),
        ("https://app.example.com.evil.example.com", "POST", ""),
        (ORIGIN, "PATCH", ""),
        (ORIGIN, "POST", "x-forwarded-for"),
    ],
)
def test_a_disallowed_preflight_gets_no_cors_header_and_a_problem(
    edge: Api, origin: str, method: str, headers: str
) -> None:
    response = preflight(edge, origin, method, headers)

    assert_problem(response, 403, "access_denied")
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert_secured(response)


@pytest.mark.parametrize("edge", [CORS], indirect=True)
def test_a_disallowed_origin_gets_no_cors_header_on_a_simple_request(edge: Api) -> None:
    response = edge.get("/health", headers={"Origin": "https://evil.example.com"})

    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_by_default_no_origin_is_allowed(api: Api) -> None:
    response = preflight(api, ORIGIN)

    assert response.status_code >= 400
    assert response.headers["content-type"] == "application/problem+json"
    assert not [name for name in response.headers if name.startswith("access-control-")]


def test_a_100_kb_token_is_a_431_problem(api: Api) -> None:
    response = api.get("/api/v1/balance", headers={"Authorization": "Bearer " + "a" * 100_000})

    body = assert_problem(response, 431, "payload_too_large")
    assert "a" * 100 not in response.text
    assert body["detail"].startswith("The request headers are larger than")
    assert_secured(response)


def test_headers_under_the_limit_pass(api: Api) -> None:
    response = api.get("/health", headers={"X-Padding": "p" * 20_000})

    assert response.status_code == 200


def nested(depth: int) -> bytes:
    return b'{"amount": ' + b"[" * depth + b"]" * depth + b"}"


JSON = {"Content-Type": "application/json"}


def test_a_body_nested_deeper_than_the_limit_is_malformed_json(api: Api) -> None:
    user = api.new_user()

    response = api.post("/api/v1/balance/deposit", content=nested(401), headers={**user, **JSON})

    body = assert_problem(response, 400, "validation_error")
    assert body["title"] == "Malformed JSON"


def test_a_body_nested_to_the_limit_is_parsed(api: Api) -> None:
    user = api.new_user()

    response = api.post("/api/v1/balance/deposit", content=nested(399), headers={**user, **JSON})

    assert_problem(response, 422, "validation_error")  # parsed, then not an amount


@pytest.mark.parametrize("edge", [{"max_body_bytes": 256 * 1024}], indirect=True)
def test_a_100k_deep_body_is_refused_fast_without_parsing(
    edge: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("json.loads was called")

    monkeypatch.setattr("serve.bodies.json.loads", no_parsing)
    started = time.perf_counter()

    response = edge.post("/api/v1/auth/register", content=b"[" * 100_000, headers=JSON)

    elapsed = time.perf_counter() - started
    monkeypatch.undo()
    assert elapsed < 0.5
    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize("edge", [{"max_json_depth": 3}], indirect=True)
def test_the_depth_limit_is_a_setting(edge: Api) -> None:
    response = edge.post("/api/v1/auth/login", content=b'{"username": [[[["x"]]]]}', headers=JSON)

    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize(
    ("settings", "served"),
    [
        ({}, True),
        ({"environment": "production", "jwt_secret": "p" * 40}, False),
        ({"environment": "production", "jwt_secret": "p" * 40, "api_docs_enabled": True}, True),
        ({"api_docs_enabled": False}, False),
    ],
)
def test_the_docs_are_off_in_production_unless_asked_for(
    settings: dict[str, Any], served: bool
) -> None:
    subject = build_api(**settings)
    try:
        statuses = [subject.get(path).status_code for path in ("/docs", "/redoc", "/openapi.json")]
    finally:
        close_api(subject)

    assert statuses == ([200] * 3 if served else [404] * 3)


def test_an_unexpected_error_is_secured_too() -> None:
    subject = build_api(raise_app_exceptions=False)
    try:
        user = subject.new_user()

        async def broken(*args: Any) -> Any:
            raise RuntimeError("boom")

        subject.ledger.execute = broken  # type: ignore[method-assign]
        response = subject.deposit(user, "1.00")
    finally:
        close_api(subject)

    assert_problem(response, 500, "internal_error")
    assert_secured(response)
    assert response.headers["cache-control"] == "no-store"
