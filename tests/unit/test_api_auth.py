"""Registration, login, the profile and authentication, over HTTP on in-memory doubles."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import ray

from tests.unit.api import PASSWORD, SECRET, Api, registration, unique_username

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "code"}


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"].endswith("/" + code)
    assert body["instance"] == response.request.url.path
    assert "Traceback" not in response.text
    return body


def test_ray_cannot_be_started_from_a_unit_test() -> None:
    with pytest.raises(RuntimeError, match="must not start Ray"):
        ray.init(address="ray://127.0.0.1:1")


def test_registration_creates_the_user_and_returns_the_public_profile(api: Api) -> None:
    response = api.register("Alice_Smith", email="Alice.Smith@Example.com", phone="+14155550123")

    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "Alice_Smith"
    assert body["email"] == "alice.smith@example.com"
    assert body["role"] == "customer"
    assert not {"password", "password_hash", "balance"} & set(body)
    assert PASSWORD not in response.text
    stored = api.users.users["alice_smith"]
    assert stored.password_hash.startswith("$argon2id$")
    assert stored.display_username == "Alice_Smith"


def test_a_username_differing_only_in_case_is_already_registered(api: Api) -> None:
    api.register("alice_smith")

    response = api.register("ALICE_smith", email="other@example.com")

    assert_problem(response, 409, "resource_already_exists")
    assert list(api.users.users) == ["alice_smith"]


def test_an_email_differing_only_in_case_is_already_registered(api: Api) -> None:
    api.register(email="alice@example.com")

    response = api.register(email="ALICE@example.COM")

    assert_problem(response, 409, "resource_already_exists")
    assert len(api.users.users) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "abc"}, "username"),
        ({"username": "9lives_cat"}, "username"),
        ({"password": "short-Aa1!"}, "password"),
        ({"password": "no-digits-Here!"}, "password"),
        ({"first_name": "R2-D2"}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"phone": "12-34"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"date_of_birth": "2099-01-01"}, "date_of_birth"),
        ({"balance": "1000000.00"}, "balance"),
        ({"role": "admin"}, "role"),
    ],
)
def test_a_registration_breaking_a_rule_is_a_422_naming_the_field_and_stores_nothing(
    api: Api, overrides: dict[str, Any], field: str
) -> None:
    response = api.register(**overrides)

    body = assert_problem(response, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == [field]
    assert api.users.users == {}
    for value in overrides.values():
        assert len(value) < 3 or value not in response.text


def test_a_login_returns_a_bearer_token_for_the_canonical_user(api: Api) -> None:
    api.register("Alice_Smith")

    response = api.login("alice_SMITH")

    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["refresh_expires_in"]) == (
        "bearer",
        900,
        7 * 24 * 3600,
    )
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "alice_smith"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(api: Api) -> None:
    username = unique_username()
    api.register(username)

    wrong_password = api.login(username, "Wrong-Horse-42!")
    unknown_user = api.login("nobody_here", PASSWORD)

    first = assert_problem(wrong_password, 401, "authentication_failed")
    second = assert_problem(unknown_user, 401, "authentication_failed")
    assert first.pop("trace_id") != second.pop("trace_id")  # each request's own id
    assert first == second
    assert wrong_password.headers["www-authenticate"] == "Bearer"
    assert "Wrong-Horse-42!" not in wrong_password.text


def test_the_profile_is_the_callers_own(api: Api) -> None:
    username = unique_username()
    api.register(username, first_name="Mary-Jane")
    token = api.login(username).json()["access_token"]

    response = api.get("/api/v1/auth/profile", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert (response.json()["username"], response.json()["first_name"]) == (username, "Mary-Jane")


def forged(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "alice_smith",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "iss": "order-processor",
        "aud": "order-processor-api",
        "typ": "access",
        "sid": "a-session-never-opened",
        "ep": 0,
    } | overrides
    return jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": "k1"})


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer not-a-token",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Bearer " + forged(exp=int(time.time()) - 1),
        "Bearer " + forged(aud="another-api"),
        "Bearer " + jwt.encode({"sub": "alice_smith"}, key=None, algorithm="none"),
    ],
    ids=["missing", "empty", "no-token", "garbage", "basic", "expired", "audience", "alg-none"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/profile"),
        ("GET", "/api/v1/balance"),
        ("GET", "/api/v1/balance/transactions"),
        ("POST", "/api/v1/balance/deposit"),
        ("POST", "/api/v1/balance/withdraw"),
    ],
)
def test_a_missing_or_invalid_token_is_a_401_asking_for_a_bearer_token(
    api: Api, authorization: str | None, method: str, path: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = {"json": {"amount": "1.00"}} if method == "POST" else {}

    response = api.request(method, path, headers=headers, **body)

    assert_problem(response, 401, "authentication_failed")
    assert response.headers["www-authenticate"] == "Bearer"
    assert api.event_count() == 0


def test_a_well_signed_token_of_a_session_never_opened_is_refused(api: Api) -> None:
    """Signed with our key (as by a leaked key or a bug) but no login ever opened its session."""
    api.register("alice_smith")

    response = api.get("/api/v1/auth/profile", headers={"Authorization": f"Bearer {forged()}"})

    assert_problem(response, 401, "authentication_failed")


def test_registration_refuses_a_non_json_body(api: Api) -> None:
    response = api.post(
        "/api/v1/auth/register",
        content="username=alice_smith",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_problem(response, 415, "unsupported_media_type")
    assert api.users.users == {}


def test_a_json_subtype_content_type_is_accepted(api: Api) -> None:
    response = api.post(
        "/api/v1/auth/register",
        json=registration(),
        headers={"Content-Type": "application/vnd.api+json; charset=utf-8"},
    )

    assert response.status_code == 201
