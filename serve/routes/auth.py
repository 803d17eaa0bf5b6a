"""Registration, login and the profile."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter

from actors.users.store import UserRecord
from serve.bodies import ExactJSONRoute
from serve.deps import CurrentUser, RuntimeDep
from serve.login_block import LoginAttempt
from serve.problems import Problem
from serve.schemas import LoginRequest, TokenPublic, UserCreate, UserPublic

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=ExactJSONRoute)


def canonical(username: str) -> str:
    """Usernames compare case-insensitively (ASCII only, so no look-alikes)."""
    return username.lower()


def _public(user: UserRecord) -> UserPublic:
    data = asdict(user)
    data["username"] = data.pop("display_username")
    return UserPublic.model_validate(data)


@router.post("/register", status_code=201)
async def register(body: UserCreate, runtime: RuntimeDep) -> UserPublic:
    """Create an account; 409 when the username or email is taken."""
    now = datetime.now(UTC).isoformat()
    password_hash = await runtime.cpu.run(runtime.passwords.hash, body.password)
    user = UserRecord(
        username=canonical(body.username),
        display_username=body.username,
        email=str(body.email).lower(),
        password_hash=password_hash,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        date_of_birth=body.date_of_birth.isoformat() if body.date_of_birth else None,
        marketing_emails_consent=body.marketing_emails_consent,
        role="customer",
        created_at=now,
        updated_at=now,
    )
    await runtime.users.create(user)
    return _public(user)


@router.post("/login")
async def login(body: LoginRequest, runtime: RuntimeDep, client: LoginAttempt) -> TokenPublic:
    """Exchange credentials for an access token; one answer for unknown user and wrong password;
    403 before any password check while the client is blocked after failed logins."""
    user = await runtime.users.get(canonical(body.username))
    stored_hash = user.password_hash if user else None
    valid = await runtime.cpu.run(runtime.passwords.verify, stored_hash, body.password)
    if user is None or not valid:
        await client.failed()  # the failed-login block (serve/login_block.py)
        raise Problem(
            401,
            "authentication_failed",
            "Authentication failed",
            "The username or password is incorrect.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = runtime.tokens.issue(user.username)
    return TokenPublic(access_token=token, expires_in=runtime.tokens.ttl_s)


@router.get("/profile")
async def profile(username: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    """The caller's own profile."""
    user = await runtime.users.get(username)
    if user is None:
        raise Problem(404, "resource_not_found", "Not found", "The user does not exist.")
    return _public(user)
