"""FastAPI dependencies: the replica's runtime, the current user, the idempotency key."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from actors.logs import bind_user
from serve.problems import Problem
from serve.runtime import Runtime
from serve.security import InvalidTokenError, TokenClaims

PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]{1,255}$")
bearer = HTTPBearer(auto_error=False)


# Every dependency is ``async def``, though these never wait: FastAPI runs a plain ``def``
# dependency in a worker thread, and that hop (a thread handoff, and anyio scanning every task
# of the loop) cost the replica 1 ms per request, twice the rest of the no-op route.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def unauthenticated(detail: str) -> Problem:
    """A 401 asking for a bearer token (API.md: with ``WWW-Authenticate: Bearer``)."""
    return Problem(
        401,
        "authentication_failed",
        "Authentication failed",
        detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def unauthenticated_token() -> Problem:
    """The one answer to any token that does not work, whatever the reason (never which)."""
    return unauthenticated("The token is invalid, expired or revoked; log in again.")


async def current_claims(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TokenClaims:
    """The claims of a valid access token whose session still holds; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthenticated("Send a bearer access token in the Authorization header.")
    try:
        claims = await runtime.sessions.authenticate(credentials.credentials)
    except InvalidTokenError:
        raise unauthenticated_token() from None
    bind_user(claims.subject)  # on the request's lines from here on, and sent to the shard
    return claims


CurrentClaims = Annotated[TokenClaims, Depends(current_claims)]


async def current_username(claims: CurrentClaims) -> str:
    """The canonical username of the caller."""
    return claims.subject


CurrentUser = Annotated[str, Depends(current_username)]


async def idempotency_key(
    key: Annotated[
        str | None,
        # documented (the check below gives the problem its field and message)
        Header(alias="Idempotency-Key", json_schema_extra={"pattern": PRINTABLE_ASCII.pattern}),
    ] = None,
) -> str:
    """The client's Idempotency-Key, or a fresh one that still makes internal retries safe."""
    if key is None:
        return f"auto-{uuid.uuid4()}"
    if not PRINTABLE_ASCII.fullmatch(key):
        raise Problem(
            422,
            "validation_error",
            "Validation failed",
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            [{"field": "Idempotency-Key", "message": "1 to 255 printable ASCII characters"}],
        )
    return "client-" + key


IdempotencyKey = Annotated[str, Depends(idempotency_key)]
