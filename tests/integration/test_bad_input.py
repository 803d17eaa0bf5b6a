"""Acceptance 8: bad input changes nothing and gets the right problem+json, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.conftest import balance_of, deposit, key, new_user, transactions_of

pytestmark = pytest.mark.integration
PROBLEM = "application/problem+json"

BAD_AMOUNTS = [
    (b'{"amount": NaN}', 400),
    (b'{"amount": Infinity}', 400),
    (b'{"amount": "NaN"}', 422),
    (b'{"amount": "Infinity"}', 422),
    (b'{"amount": "1e400"}', 422),
    (b'{"amount": 1e400}', 422),
    (b'{"amount": -1}', 422),
    (b'{"amount": 0}', 422),
    (b'{"amount": "0.001"}', 422),
    (b'{"amount": 10.000000000000001}', 422),
    (b'{"amount": "abc"}', 422),
    (b'{"amount": true}', 422),
    (b'{"amount": null}', 422),
    (b"{}", 422),
    (b'{"amount": "5", "balance": "1000000"}', 422),
    (b"[1, 2]", 422),
    (b'{"amount": "1.00", "amount": "2.00"}', 400),
    (b'{"amount": ', 400),
]


@pytest.mark.parametrize("path", ["/api/v1/balance/deposit", "/api/v1/balance/withdraw"])
def test_bad_amounts_are_refused_with_problem_details_and_change_nothing(
    client: httpx.Client, path: str
) -> None:
    user = new_user(client)
    assert deposit(client, user, "50.00").status_code == 201

    for body, status in BAD_AMOUNTS:
        headers = {**user.headers, "Idempotency-Key": key(), "Content-Type": "application/json"}
        response = client.post(path, content=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert problem["status"] == status and problem["code"] == "validation_error"
        assert {"type", "title", "detail", "instance"} <= problem.keys()
        told = problem["detail"] + json.dumps(problem.get("errors", []))
        assert "1e400" not in told and "abc" not in told  # never echo what was sent

    assert balance_of(client, user) == "50.00"
    assert len(transactions_of(client, user)) == 1


def test_unknown_fields_in_a_registration_are_refused(client: httpx.Client) -> None:
    body = {
        "username": "mallory_01",
        "email": "mallory@example.com",
        "password": "Correct-Horse-42!",
        "first_name": "Mal",
        "last_name": "Lory",
        "balance": "1000000",
    }

    response = client.post("/api/v1/auth/register", json=body)

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"][0]["field"] == "balance"
    login = client.post(
        "/api/v1/auth/login", json={"username": "mallory_01", "password": body["password"]}
    )
    assert login.status_code == 401


def test_an_oversized_body_is_413_and_a_text_body_is_415(client: httpx.Client) -> None:
    user = new_user(client)
    headers = {**user.headers, "Idempotency-Key": key()}

    too_large = client.post(
        "/api/v1/balance/deposit",
        content=b'{"amount": "1.00", "pad": "' + b"x" * 70_000 + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    as_text = client.post(
        "/api/v1/balance/deposit",
        content=b'{"amount": "1.00"}',
        headers={**headers, "Content-Type": "text/plain"},
    )

    assert too_large.status_code == 413 and too_large.json()["code"] == "payload_too_large"
    assert as_text.status_code == 415 and as_text.json()["code"] == "unsupported_media_type"
    assert balance_of(client, user) == "0.00"


def test_requests_without_a_valid_token_are_401_with_a_bearer_challenge(
    client: httpx.Client,
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/balance", headers=headers)

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "authentication_failed"
