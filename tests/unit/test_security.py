"""Tokens (one allow-listed algorithm, keys by ``kid``, every claim required, access and refresh
kinds apart, ours only: the forgery battery) and argon2id passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from serve.security import REQUIRED_CLAIMS, InvalidTokenError, KeyRing, Passwords, Tokens

SECRET = "a-test-secret-long-enough-for-hs512-keys-0123456789-abcdefghijklm"
ISSUER, AUDIENCE = "order-processor", "order-processor-api"
tokens = Tokens(KeyRing("HS256", "k1", SECRET, {}), ISSUER, AUDIENCE, 900, 3600)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    data: dict[str, Any] = {
        "sub": "alice_01",
        "iat": now,
        "exp": now + 60,
        "jti": "jti-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": "access",
        "sid": "session-1",
        "ep": 0,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def signed(
    data: dict[str, Any], secret: Any = SECRET, algorithm: str = "HS256", kid: Any = "k1"
) -> str:
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(data, secret, algorithm=algorithm, headers=headers)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], data: dict[str, Any], secret: bytes) -> str:
    """HS256 over any header, including ones PyJWT refuses to write."""
    signing_input = f"{b64(header)}.{b64(data)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def unsigned(alg: str) -> str:
    """A token declaring ``alg`` with an empty signature (the classic ``none`` attack)."""
    return f"{b64({'alg': alg, 'typ': 'JWT', 'kid': 'k1'})}.{b64(claims())}."


def tampered_subject() -> str:
    header, _, signature = signed(claims()).split(".")
    return f"{header}.{b64(claims(sub='mallory_01'))}.{signature}"


def rsa_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def forgeries() -> dict[str, str]:
    """At least twenty ways a token can be forged, stale or misused: each must be refused."""
    now = int(time.time())
    battery = {
        "alg-none": unsigned("none"),
        "alg-None": unsigned("None"),
        "alg-NONE": unsigned("NONE"),
        "alg-nOnE": unsigned("nOnE"),
        "alg-none-with-signature": unsigned("none") + "c2lnbmF0dXJl",
        "hs512-when-hs256": signed(claims(), algorithm="HS512"),
        "hs384-when-hs256": signed(claims(), algorithm="HS384"),
        "wrong-key": signed(claims(), secret="another-secret-of-at-least-32-characters!!"),
        "tampered-sub": tampered_subject(),
        "expired": signed(claims(exp=now - 10, iat=now - 100)),
        "nbf-in-the-future": signed(claims(nbf=now + 3600)),
        "wrong-aud": signed(claims(aud="someone-else")),
        "aud-list-with-ours": signed(claims(aud=[AUDIENCE, "someone-else"])),
        "wrong-iss": signed(claims(iss="someone-else")),
        "refresh-as-access": signed(claims(typ="refresh")),
        "unknown-typ": signed(claims(typ="id")),
        "kid-unknown": signed(claims(), kid="k2"),
        "kid-missing": signed(claims(), kid=None),
        "kid-path-traversal": signed(claims(), kid="../../../../dev/null"),
        "kid-sql": signed(claims(), kid="' OR '1'='1"),
        "kid-number": hand_signed({"alg": "HS256", "kid": 1}, claims(), SECRET.encode()),
        "kid-empty": signed(claims(), kid=""),
        "sub-not-a-string": signed(claims(sub=12345)),
        "ep-not-an-int": signed(claims(ep="0")),
        "ep-negative": signed(claims(ep=-1)),
        "oversized-100kb": signed(claims(pad="x" * 100_000)),
        "empty": "",
        "garbage": "not-a-token",
        "three-garbage-parts": "a.b.c",
        "two-parts": signed(claims()).rsplit(".", 1)[0],
    }
    for missing in REQUIRED_CLAIMS:
        battery[f"missing-{missing}"] = signed(claims(**{missing: None}))
    return battery


FORGERIES = forgeries()


def test_the_battery_has_at_least_twenty_variants() -> None:
    assert len(FORGERIES) >= 20


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forged_stale_or_misused_token_is_refused(name: str) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(FORGERIES[name], "access")


def test_the_same_claims_signed_properly_are_accepted_so_the_battery_tests_the_flaws() -> None:
    assert tokens.verify(signed(claims()), "access").subject == "alice_01"


def test_an_issued_token_verifies_to_its_subject_session_and_epoch() -> None:
    before = int(time.time())

    first = tokens.verify(tokens.issue("alice_01", "s1", 3, "access"), "access")
    second = tokens.verify(tokens.issue("alice_01", "s1", 3, "access"), "access")

    assert (first.subject, first.session_id, first.epoch, first.kind) == (
        "alice_01",
        "s1",
        3,
        "access",
    )
    assert before + 900 <= first.expires_at <= int(time.time()) + 900
    assert first.token_id != second.token_id
    assert (tokens.ttl_s("access"), tokens.ttl_s("refresh")) == (900, 3600)


def test_an_issued_token_carries_every_required_claim_and_names_its_key() -> None:
    token = tokens.issue("alice_01", "s1", 0, "refresh", token_id="r-1")

    assert set(jwt.decode(token, options={"verify_signature": False})) == set(REQUIRED_CLAIMS)
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == ("HS256", "k1")
    assert tokens.verify(token, "refresh").token_id == "r-1"


def test_a_refresh_token_is_refused_where_an_access_token_is_expected_and_back() -> None:
    access, refresh = (tokens.issue("alice_01", "s1", 0, kind) for kind in ("access", "refresh"))

    with pytest.raises(InvalidTokenError, match="not a access"):
        tokens.verify(refresh, "access")
    with pytest.raises(InvalidTokenError, match="not a refresh"):
        tokens.verify(access, "refresh")


def test_a_retired_hs256_key_still_verifies_during_a_rotation_and_a_dropped_one_not() -> None:
    old = Tokens(KeyRing("HS256", "k1", SECRET, {}), ISSUER, AUDIENCE, 900, 3600)
    token = old.issue("alice_01", "s1", 0, "access")
    rotated = Tokens(
        KeyRing("HS256", "k2", "a-new-secret-0123456789-0123456789-xyz", {"k1": SECRET}),
        ISSUER,
        AUDIENCE,
        900,
        3600,
    )
    dropped = Tokens(
        KeyRing("HS256", "k2", "a-new-secret-0123456789-0123456789-xyz", {}),
        ISSUER,
        AUDIENCE,
        900,
        3600,
    )

    assert rotated.verify(token, "access").subject == "alice_01"
    assert jwt.get_unverified_header(rotated.issue("a", "s", 0, "access"))["kid"] == "k2"
    with pytest.raises(InvalidTokenError, match="unknown key"):
        dropped.verify(token, "access")


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return rsa_private_pem(), rsa_private_pem()


def test_rs256_tokens_verify_by_kid_across_a_key_rotation(rsa_keys: tuple[str, str]) -> None:
    first, second = rsa_keys
    before = Tokens(KeyRing("RS256", "2026-01", first, {}), ISSUER, AUDIENCE, 900, 3600)
    after = Tokens(
        KeyRing("RS256", "2026-02", second, {"2026-01": public_pem_of(first)}),
        ISSUER,
        AUDIENCE,
        900,
        3600,
    )
    old_token, new_token = (t.issue("alice_01", "s1", 0, "access") for t in (before, after))

    assert after.verify(old_token, "access").subject == "alice_01"
    assert after.verify(new_token, "access").subject == "alice_01"
    assert jwt.get_unverified_header(new_token)["alg"] == "RS256"
    with pytest.raises(InvalidTokenError, match="unknown key"):
        before.verify(new_token, "access")


def test_rs256_refuses_hs256_signed_with_its_public_key(rsa_keys: tuple[str, str]) -> None:
    """The key-confusion attack: the public key used as an HMAC secret."""
    private, _ = rsa_keys
    rs = Tokens(KeyRing("RS256", "k1", private, {}), ISSUER, AUDIENCE, 900, 3600)
    public = public_pem_of(private).encode()
    forged = hand_signed({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(), public)

    with pytest.raises(InvalidTokenError, match="algorithm"):
        rs.verify(forged, "access")


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


def test_an_unknown_user_costs_a_full_password_check_like_a_known_one(
    passwords: Passwords,
) -> None:
    """Login must not reveal whether a user exists by answering faster for unknown ones: both
    paths run one argon2id verification (a ratio of medians, generous for a noisy host)."""
    stored = passwords.hash("Correct-Horse-42!")

    def median_s(password_hash: str | None) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            passwords.verify(password_hash, "Wrong-Horse-42!")
            times.append(time.perf_counter() - started)
        return sorted(times)[2]

    assert 0.5 < median_s(None) / median_s(stored) < 2.0


def test_a_verified_token_is_remembered_until_it_expires_and_never_for_another_kind() -> None:
    short = Tokens(KeyRing("HS256", "k1", SECRET, {}), ISSUER, AUDIENCE, 1, 3600)
    token = short.issue("alice_01", "s1", 0, "access")
    first = short.verify(token, "access")

    assert short.verify(token, "access") is first  # remembered: not decoded again
    with pytest.raises(InvalidTokenError):
        short.verify(token, "refresh")
    time.sleep(1.1)
    with pytest.raises(InvalidTokenError, match="expired"):
        short.verify(token, "access")  # remembered no longer than its lifetime
