"""Sessions over the API: refresh rotation with reuse detection, logout, password change, the
profile update, and the forgery battery answered 401 problem+json on every protected route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.api import PASSWORD, Api, build_api, close_api, unique_username
from tests.unit.test_api_auth import assert_problem
from tests.unit.test_security import FORGERIES

NEW_PASSWORD = "Battery-Staple-77#"


@pytest.fixture
def api() -> Iterator[Api]:
    app = build_api()
    yield app
    close_api(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in(api: Api, username: str | None = None) -> tuple[str, dict[str, Any]]:
    name = username or unique_username()
    if username is None:
        assert api.register(name).status_code == 201
    response = api.login(name)
    assert response.status_code == 200, response.text
    return name, response.json()


def works(api: Api, access_token: str) -> bool:
    response = api.get("/api/v1/auth/profile", headers=bearer(access_token))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def refresh(api: Api, refresh_token: str) -> Any:
    return api.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def test_a_refresh_rotates_the_pair_and_both_access_tokens_of_the_session_work(api: Api) -> None:
    _, first = logged_in(api)

    response = refresh(api, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert works(api, second["access_token"]) and works(api, first["access_token"])
    assert refresh(api, second["refresh_token"]).status_code == 200


def test_a_reused_refresh_token_ends_its_whole_family_and_no_other_session(api: Api) -> None:
    username, stolen = logged_in(api)
    _, other_session = logged_in(api, username)
    rotated = refresh(api, stolen["refresh_token"]).json()

    replay = refresh(api, stolen["refresh_token"])

    assert_problem(replay, 401, "authentication_failed")
    assert_problem(refresh(api, rotated["refresh_token"]), 401, "authentication_failed")
    assert not works(api, rotated["access_token"])
    assert not works(api, stolen["access_token"])
    assert works(api, other_session["access_token"])


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_a_token_of_the_other_kind_is_refused(api: Api, kind: str) -> None:
    _, tokens = logged_in(api)

    if kind == "access":  # an access token where a refresh token is expected
        response = refresh(api, tokens["access_token"])
    else:  # a refresh token used as a bearer access token
        response = api.get("/api/v1/balance", headers=bearer(tokens["refresh_token"]))

    assert_problem(response, 401, "authentication_failed")


def test_logout_ends_the_session_at_once_and_leaves_the_others(api: Api) -> None:
    username, session = logged_in(api)
    _, other = logged_in(api, username)

    response = api.post("/api/v1/auth/logout", headers=bearer(session["access_token"]))

    assert response.status_code == 204 and response.content == b""
    assert not works(api, session["access_token"])
    assert_problem(refresh(api, session["refresh_token"]), 401, "authentication_failed")
    assert works(api, other["access_token"])
    assert_problem(api.post("/api/v1/auth/logout"), 401, "authentication_failed")


def change_password(api: Api, token: str, current: str, new: str = NEW_PASSWORD) -> Any:
    body = {"current_password": current, "new_password": new}
    return api.post("/api/v1/auth/password", json=body, headers=bearer(token))


def test_a_password_change_ends_every_earlier_token_and_hands_out_a_new_session(
    api: Api,
) -> None:
    username, first = logged_in(api)
    _, second = logged_in(api, username)

    response = change_password(api, first["access_token"], PASSWORD)

    assert response.status_code == 200, response.text
    fresh = response.json()
    for earlier in (first, second):
        assert not works(api, earlier["access_token"])
        assert_problem(refresh(api, earlier["refresh_token"]), 401, "authentication_failed")
    assert works(api, fresh["access_token"])
    assert refresh(api, fresh["refresh_token"]).status_code == 200
    assert_problem(api.login(username), 401, "authentication_failed")
    assert api.login(username, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing_and_keeps_the_session(api: Api) -> None:
    username, session = logged_in(api)

    response = change_password(api, session["access_token"], "Wrong-Horse-42!")

    problem = assert_problem(response, 422, "validation_error")
    assert problem["errors"][0]["field"] == "current_password"
    assert works(api, session["access_token"])
    assert api.login(username).status_code == 200


def test_a_new_password_must_follow_the_registration_rules(api: Api) -> None:
    _, session = logged_in(api)

    response = change_password(api, session["access_token"], PASSWORD, new="short")

    assert_problem(response, 422, "validation_error")
    assert works(api, session["access_token"])


def put_profile(api: Api, token: str, body: Any) -> Any:
    return api.request("PUT", "/api/v1/auth/profile", json=body, headers=bearer(token))


def test_the_profile_update_changes_only_the_fields_sent(api: Api) -> None:
    username, session = logged_in(api)
    before = api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json()

    response = put_profile(
        api,
        session["access_token"],
        {
            "first_name": "Mary-Jane",
            "email": f"New.{username}@Example.com",
            "phone": "+14155550123",
        },
    )

    assert response.status_code == 200, response.text
    after = api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json()
    assert after == response.json()
    assert (after["first_name"], after["email"], after["phone"]) == (
        "Mary-Jane",
        f"new.{username}@example.com",
        "+14155550123",
    )
    assert (after["last_name"], after["username"], after["role"]) == (
        before["last_name"],
        before["username"],
        "customer",
    )
    assert after["updated_at"] > before["updated_at"]
    cleared = put_profile(api, session["access_token"], {"phone": None}).json()
    assert cleared["phone"] is None and cleared["first_name"] == "Mary-Jane"


def test_an_email_taken_by_another_user_is_a_409_and_changes_nothing(api: Api) -> None:
    other, _ = logged_in(api)
    _, session = logged_in(api)
    before = api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json()

    response = put_profile(api, session["access_token"], {"email": f"{other}@EXAMPLE.com"})

    assert_problem(response, 409, "resource_already_exists")
    assert api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"balance": "1000000.00"},
        {"role": "admin"},
        {"user_id": "someone_else"},
        {"status": "verified"},
        {"username": "someone_else"},
        {"password_hash": "x"},
        {"first_name": "Eve", "role": "admin"},
        {"email": None},
        {"first_name": None},
        {"first_name": "R2-D2"},
    ],
    ids=lambda body: "+".join(f"{k}={v}" for k, v in body.items()),
)
def test_a_profile_update_with_a_forbidden_or_invalid_field_is_a_422_and_changes_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    _, session = logged_in(api)
    before = api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json()

    response = put_profile(api, session["access_token"], body)

    assert_problem(response, 422, "validation_error")
    assert api.get("/api/v1/auth/profile", headers=bearer(session["access_token"])).json() == before


PROTECTED = [
    ("GET", "/api/v1/auth/profile"),
    ("PUT", "/api/v1/auth/profile"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),
    ("GET", "/api/v1/balance"),
    ("POST", "/api/v1/balance/deposit"),
    ("GET", "/api/v1/orders"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/portfolio"),
    ("GET", "/api/v1/events"),
]


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_every_forged_token_is_a_401_problem_on_every_protected_route(api: Api, name: str) -> None:
    api.register("alice_01")  # the subject of the forged tokens exists
    for method, path in PROTECTED:
        response = api.request(method, path, headers=bearer(FORGERIES[name]), json={})

        if name == "oversized-100kb":  # refused with the headers, before any token is read
            assert_problem(response, 431, "payload_too_large")
            continue
        assert_problem(response, 401, "authentication_failed")
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_in_the_query_string_is_not_accepted(api: Api) -> None:
    _, session = logged_in(api)

    for parameter in ("access_token", "token", "jwt"):
        response = api.get(f"/api/v1/balance?{parameter}={session['access_token']}")

        assert_problem(response, 401, "authentication_failed")
