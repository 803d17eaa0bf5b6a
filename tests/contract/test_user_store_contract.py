"""One contract for every ``UserStore``: the in-memory double and DynamoDB (moto over HTTP)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from actors.ledger.errors import UserExistsError
from actors.users.store import ProfileChangedError, UserRecord, UserStore
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


def test_a_profile_update_is_read_back_and_keeps_the_token_epoch(user_store: UserStore) -> None:
    user = a_user()
    run(user_store.create(user))
    stored = run(user_store.get(user.username))
    assert stored is not None
    after = replace(stored, first_name="Mary-Jane", phone=None, updated_at="2024-04-01T00:00:00")

    run(user_store.update(stored, after))

    assert run(user_store.get(user.username)) == after


def test_an_email_change_moves_the_claim(user_store: UserStore) -> None:
    user, other = a_user(), a_user()
    run(user_store.create(user))
    new_email = "moved." + user.email

    run(user_store.update(user, replace(user, email=new_email)))

    # the old address is free for someone else, the new one is taken
    run(user_store.create(replace(other, email=user.email)))
    with pytest.raises(UserExistsError) as exists:
        run(user_store.create(replace(a_user(), email=new_email.upper())))
    assert exists.value.field == "email"


def test_an_email_change_to_a_taken_address_is_refused_and_changes_nothing(
    user_store: UserStore,
) -> None:
    user, other = a_user(), a_user()
    run(user_store.create(user))
    run(user_store.create(other))

    with pytest.raises(UserExistsError):
        run(user_store.update(user, replace(user, email=other.email, first_name="Eve")))

    assert run(user_store.get(user.username)) == user


def test_an_update_from_a_stale_read_is_refused(user_store: UserStore) -> None:
    user = a_user()
    run(user_store.create(user))
    run(user_store.update(user, replace(user, first_name="First")))

    with pytest.raises(ProfileChangedError):
        run(user_store.update(user, replace(user, first_name="Second")))
    with pytest.raises(ProfileChangedError):
        run(user_store.update(user, replace(user, email="second." + user.email)))
    with pytest.raises(ProfileChangedError):
        run(user_store.change_password(user, "$argon2id$new", "2024-05-01T00:00:00"))

    stored = run(user_store.get(user.username))
    assert stored is not None and stored.first_name == "First"


def test_a_password_change_bumps_the_epoch_once_per_change(user_store: UserStore) -> None:
    user = a_user()
    run(user_store.create(user))

    first = run(user_store.change_password(user, "$argon2id$one", "2024-05-01T00:00:00"))
    stored = run(user_store.get(user.username))
    assert stored is not None
    second = run(user_store.change_password(stored, "$argon2id$two", "2024-05-02T00:00:00"))

    final = run(user_store.get(user.username))
    assert (first, second) == (1, 2)
    assert final is not None
    assert (final.password_hash, final.token_epoch, final.updated_at) == (
        "$argon2id$two",
        2,
        "2024-05-02T00:00:00",
    )
