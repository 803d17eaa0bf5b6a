"""One contract for every ``UserStore``: the in-memory double and DynamoDB (moto over HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from actors.ledger.errors import UserExistsError
from actors.users.store import UserRecord, UserStore
from tests.contract.conftest import run


def a_user(username: str | None = None, **overrides: Any) -> UserRecord:
    name = username or "user_" + uuid.uuid4().hex[:12]
    fields: dict[str, Any] = {
        "username": name,
        "display_username": name.title(),
        "email": f"{name}@example.com",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "first_name": "Alice",
        "last_name": "O'Brien",
        "phone": "+14155550123",
        "date_of_birth": "1990-05-17",
        "marketing_emails_consent": True,
        "role": "customer",
        "created_at": "2024-03-01T12:00:00+00:00",
        "updated_at": "2024-03-01T12:00:00+00:00",
    }
    fields.update(overrides)
    return UserRecord(**fields)


def test_a_created_user_reads_back_identically(user_store: UserStore) -> None:
    user = a_user(phone=None, date_of_birth=None, marketing_emails_consent=False)

    run(user_store.create(user))

    assert run(user_store.get(user.username)) == user


def test_an_unknown_user_is_none(user_store: UserStore) -> None:
    assert run(user_store.get("nobody_" + uuid.uuid4().hex[:8])) is None


def test_a_taken_username_is_refused_and_the_first_user_kept(user_store: UserStore) -> None:
    first = a_user()
    run(user_store.create(first))
    second = replace(first, email="someone.else." + first.email, first_name="Mallory")

    with pytest.raises(UserExistsError) as exists:
        run(user_store.create(second))

    assert exists.value.field == "username"
    assert run(user_store.get(first.username)) == first


def test_a_taken_email_is_refused_whatever_its_case(user_store: UserStore) -> None:
    first = a_user()
    run(user_store.create(first))
    second = a_user(email=first.email.upper())

    with pytest.raises(UserExistsError) as exists:
        run(user_store.create(second))

    assert exists.value.field == "email"
    assert run(user_store.get(second.username)) is None


def test_a_failed_username_claim_releases_the_email(user_store: UserStore) -> None:
    first = a_user()
    run(user_store.create(first))
    loser = a_user(first.username, email="loser." + first.email)
    with pytest.raises(UserExistsError):
        run(user_store.create(loser))

    newcomer = a_user(email=loser.email)
    run(user_store.create(newcomer))

    assert run(user_store.get(newcomer.username)) == newcomer
