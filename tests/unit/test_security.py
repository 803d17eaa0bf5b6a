"""Access tokens (HS256 only, every claim required, ours only) and argon2id passwords."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from serve.security import InvalidTokenError, Passwords, Tokens

SECRET = "a-test-secret-long-enough-for-hs512-keys-0123456789-abcdefghijklm"
tokens = Tokens(SECRET, "order-processor", "order-processor-api", ttl_s=900)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    data: dict[str, Any] = {
        "sub": "alice_01",
        "iat": now,
        "exp": now + 60,
        "jti": "jti-1",
        "iss": "order-processor",
        "aud": "order-processor-api",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def signed(data: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(data, secret, algorithm=algorithm)


def test_an_issued_token_verifies_to_its_subject_with_a_unique_id() -> None:
    before = int(time.time())

    first, second = tokens.verify(tokens.issue("alice_01")), tokens.verify(tokens.issue("alice_01"))

    assert first.subject == "alice_01"
    assert before + 900 <= first.expires_at <= int(time.time()) + 900
    assert first.token_id != second.token_id
    assert tokens.ttl_s == 900


def test_an_issued_token_carries_every_required_claim() -> None:
    data = jwt.decode(tokens.issue("alice_01"), options={"verify_signature": False})

    assert set(data) == {"sub", "iat", "exp", "jti", "iss", "aud"}
    assert jwt.get_unverified_header(tokens.issue("x"))["alg"] == "HS256"


@pytest.mark.parametrize(
    "token",
    [
        signed(claims(aud="someone-else")),
        signed(claims(iss="someone-else")),
        signed(claims(exp=int(time.time()) - 10)),
        signed(claims(), secret="another-secret-of-at-least-32-characters"),
        signed(claims(), algorithm="HS512"),
        jwt.encode(claims(), key=None, algorithm="none"),
        "",
        "not-a-token",
        "a.b.c",
    ],
    ids=[
        "wrong-audience",
        "wrong-issuer",
        "expired",
        "wrong-secret",
        "other-algorithm",
        "alg-none",
        "empty",
        "garbage",
        "three-garbage-parts",
    ],
)
def test_a_token_that_is_not_ours_or_not_valid_now_is_refused(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "jti", "iss", "aud"])
def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    token = signed(claims(**{missing: None}))

    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


def test_a_token_issued_with_a_negative_lifetime_is_already_expired() -> None:
    expired = Tokens(SECRET, "order-processor", "order-processor-api", ttl_s=-5)

    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(expired.issue("alice_01"))


@pytest.fixture(scope="module")
def passwords() -> Passwords:
    return Passwords()


def test_a_password_hash_is_argon2id_and_verifies_only_the_same_password(
    passwords: Passwords,
) -> None:
    hashed = passwords.hash("Correct-Horse-42!")

    assert hashed.startswith("$argon2id$")
    assert "Correct-Horse-42!" not in hashed
    assert passwords.verify(hashed, "Correct-Horse-42!")
    assert not passwords.verify(hashed, "correct-horse-42!")


def test_the_same_password_hashes_differently_each_time(passwords: Passwords) -> None:
    assert passwords.hash("Correct-Horse-42!") != passwords.hash("Correct-Horse-42!")


def test_an_unknown_user_never_verifies_even_with_the_dummy_password(
    passwords: Passwords,
) -> None:
    assert not passwords.verify(None, "dummy-password-for-timing-1A!")
    assert not passwords.verify("", "anything")


def test_a_stored_value_that_is_not_a_hash_never_verifies(passwords: Passwords) -> None:
    assert not passwords.verify("plain-text-password", "plain-text-password")
