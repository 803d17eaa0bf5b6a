"""Passwords (argon2id) and access tokens (JWT with an algorithm allow-list and required claims)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ALGORITHMS = ["HS256"]
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "iss", "aud"]


class Passwords:
    """argon2id hashing; verifying against a dummy hash for unknown users keeps timing uniform."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash("dummy-password-for-timing-1A!")

    def hash(self, password: str) -> str:
        """The argon2id hash of ``password``."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; always does the same work, known user or not."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims the app uses."""

    subject: str
    token_id: str
    expires_at: int


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, or not ours."""


class Tokens:
    """Issue and verify HS256 access tokens."""

    def __init__(self, secret: str, issuer: str, audience: str, ttl_s: int) -> None:
        self._secret, self._issuer, self._audience, self._ttl_s = secret, issuer, audience, ttl_s

    @property
    def ttl_s(self) -> int:
        """Lifetime of an access token in seconds."""
        return self._ttl_s

    def issue(self, subject: str) -> str:
        """A signed access token for ``subject``."""
        now = int(time.time())
        claims = {
            "sub": subject,
            "iat": now,
            "exp": now + self._ttl_s,
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHMS[0])

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; raises ``InvalidTokenError`` otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(str(error)) from None
        return TokenClaims(str(claims["sub"]), str(claims["jti"]), int(claims["exp"]))
