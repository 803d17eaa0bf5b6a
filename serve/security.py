"""Passwords (argon2id) and tokens (JWT: one allow-listed algorithm, keys by ``kid``, required
claims, access and refresh kinds that cannot stand in for each other)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Algorithm = Literal["HS256", "RS256"]
TokenKind = Literal["access", "refresh"]
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "iss", "aud", "typ", "sid", "ep"]
MAX_TOKEN_CHARS = 4096  # ours are about 400; a longer one is refused before any decoding
MAX_VERIFIED = 50_000  # tokens whose verification a replica remembers (about 25 MB at most)


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

    subject: str  # the canonical username
    token_id: str  # jti
    session_id: str  # sid: the login session (the refresh-token family) the token belongs to
    epoch: int  # ep: the user's token epoch when it was issued (a password change bumps it)
    kind: TokenKind
    expires_at: int


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, revoked, of the wrong kind, or not ours."""


@dataclass(frozen=True)
class KeyRing:
    """The signing key (named ``signing_kid``) and the retired keys still accepted during a
    rotation (``verification_keys``, by ``kid``).

    HS256: keys are shared secrets. RS256: the signing key is a private PEM, the others public
    PEMs (or private ones: their public half is what verifies).
    """

    algorithm: Algorithm
    signing_kid: str
    signing_key: str
    verification_keys: Mapping[str, str]
    _verifying: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = {**self.verification_keys, self.signing_kid: self.signing_key}
        verifying = {kid: _verifying_key(self.algorithm, key) for kid, key in keys.items()}
        object.__setattr__(self, "_verifying", verifying)

    def key_for(self, kid: object) -> Any:
        """The key that verifies tokens signed under ``kid``; ``InvalidTokenError`` if none."""
        if not isinstance(kid, str):
            raise InvalidTokenError("the token names no key")
        key = self._verifying.get(kid)
        if key is None:
            raise InvalidTokenError("the token names an unknown key")
        return key


def _verifying_key(algorithm: Algorithm, key: str) -> Any:
    if algorithm == "HS256":
        return key
    from cryptography.hazmat.primitives import serialization

    if "PRIVATE KEY" in key:
        return serialization.load_pem_private_key(key.encode(), password=None).public_key()
    return serialization.load_pem_public_key(key.encode())


class Tokens:
    """Issue and verify access and refresh tokens."""

    def __init__(
        self,
        keys: KeyRing,
        issuer: str,
        audience: str,
        access_ttl_s: int,
        refresh_ttl_s: int,
    ) -> None:
        self._keys, self._issuer, self._audience = keys, issuer, audience
        self._ttl_s: dict[TokenKind, int] = {"access": access_ttl_s, "refresh": refresh_ttl_s}
        # A client sends the same token with every request: its signature and claims are
        # checked once, then remembered (keyed by the whole token) until it expires
        self._verified: dict[tuple[str, TokenKind], TokenClaims] = {}

    def ttl_s(self, kind: TokenKind) -> int:
        """Lifetime of a token of ``kind`` in seconds."""
        return self._ttl_s[kind]

    def issue(
        self,
        subject: str,
        session_id: str,
        epoch: int,
        kind: TokenKind,
        token_id: str | None = None,
    ) -> str:
        """A signed token of ``kind`` for ``subject`` in session ``session_id`` (its ``jti`` is
        ``token_id``, or a fresh one)."""
        now = int(time.time())
        claims = {
            "sub": subject,
            "iat": now,
            "exp": now + self._ttl_s[kind],
            "jti": token_id or uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
            "typ": kind,
            "sid": session_id,
            "ep": epoch,
        }
        return jwt.encode(
            claims,
            self._keys.signing_key,
            algorithm=self._keys.algorithm,
            headers={"kid": self._keys.signing_kid},
        )

    def verify(self, token: str, kind: TokenKind) -> TokenClaims:
        """The claims of a valid token of ``kind``; raises ``InvalidTokenError`` otherwise.

        Only the configured algorithm is accepted (never ``none``, never HS256 keyed with an
        RS256 public key), the key is chosen by ``kid`` from the key ring, and every claim in
        ``REQUIRED_CLAIMS`` must be present and well typed.
        """
        remembered = self._verified.get((token, kind))
        if remembered is not None and remembered.expires_at > time.time():
            return remembered
        claims = self._verify(token, kind)
        if len(self._verified) >= MAX_VERIFIED:
            self._verified.clear()
        self._verified[(token, kind)] = claims
        return claims

    def _verify(self, token: str, kind: TokenKind) -> TokenClaims:
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidTokenError("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self._keys.algorithm:
                raise InvalidTokenError("the token's algorithm is not allowed")
            claims = jwt.decode(
                token,
                self._keys.key_for(header.get("kid")),
                algorithms=[self._keys.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(str(error)) from None
        return _claims_of(claims, kind)


def _claims_of(claims: dict[str, Any], kind: TokenKind) -> TokenClaims:
    if claims["typ"] != kind:
        raise InvalidTokenError(f"a {claims['typ']!s:.20} token is not a {kind} token")
    subject, token_id, session_id, epoch = (claims[k] for k in ("sub", "jti", "sid", "ep"))
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (subject, token_id, session_id)):
        raise InvalidTokenError("malformed sub, jti or sid")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise InvalidTokenError("malformed ep")
    return TokenClaims(subject, token_id, session_id, epoch, kind, int(claims["exp"]))
