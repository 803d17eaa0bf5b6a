"""Registration, login, sessions (refresh, logout), the password and the profile."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime

from fastapi import APIRouter, Response

from actors.users.store import UserRecord
from serve.bodies import ExactJSONRoute
from serve.deps import (
    CurrentClaims,
    CurrentUser,
    RuntimeDep,
    unauthenticated,
    unauthenticated_token,
)
from serve.login_block import LoginAttempt
from serve.problems import Problem
from serve.runtime import Runtime
from serve.schemas import (
    LoginRequest,
    PasswordChange,
    ProfileUpdate,
    RefreshRequest,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from serve.security import InvalidTokenError
from serve.sessions import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=ExactJSONRoute)


def canonical(username: str) -> str:
    """Usernames compare case-insensitively (ASCII only, so no look-alikes)."""
    return username.lower()


def _tokens_public(pair: TokenPair) -> TokenPublic:
    return TokenPublic(
        access_token=pair.access_token,
        expires_in=pair.access_ttl_s,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_ttl_s,
    )


def _wrong_credentials() -> Problem:
    return unauthenticated("The username or password is incorrect.")


def _public(user: UserRecord) -> UserPublic:
    data = asdict(user)
    data["username"] = data.pop("display_username")
    return UserPublic.model_validate(data)


@router.post("/register", status_code=201)
async def register(body: UserCreate, runtime: RuntimeDep) -> UserPublic:
    """Create an account; 409 when the username or email is taken."""
    now = _now()
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
        raise _wrong_credentials()
    return _tokens_public(await runtime.sessions.open(user.username, user.token_epoch))


@router.post("/refresh")
async def refresh(body: RefreshRequest, runtime: RuntimeDep) -> TokenPublic:
    """Spend a refresh token for a new pair; a refresh token used twice ends its session."""
    try:
        return _tokens_public(await runtime.sessions.refresh(body.refresh_token))
    except InvalidTokenError:
        raise unauthenticated_token() from None


@router.post("/logout", status_code=204)
async def logout(claims: CurrentClaims, runtime: RuntimeDep) -> Response:
    """End the caller's session: its access and refresh tokens stop working."""
    await runtime.sessions.end(claims)
    return Response(status_code=204)


@router.post("/password")
async def change_password(
    body: PasswordChange, username: CurrentUser, runtime: RuntimeDep
) -> TokenPublic:
    """Change the password: every earlier token of the user stops working; a new session is
    opened for the caller."""
    user = await _own(runtime, username)
    if not await runtime.cpu.run(
        runtime.passwords.verify, user.password_hash, body.current_password
    ):
        # not a 401: the caller's token is fine, and a 401 sends web clients to the login page
        raise Problem(
            422,
            "validation_error",
            "Validation failed",
            "The current password is incorrect.",
            [{"field": "current_password", "message": "incorrect"}],
        )
    password_hash = await runtime.cpu.run(runtime.passwords.hash, body.new_password)
    epoch = await runtime.users.change_password(user, password_hash, _now())
    await runtime.sessions.epoch_changed(user.username, epoch)
    return _tokens_public(await runtime.sessions.open(user.username, epoch))


@router.get("/profile")
async def profile(username: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    """The caller's own profile."""
    return _public(await _own(runtime, username))


@router.put("/profile")
async def update_profile(
    body: ProfileUpdate, username: CurrentUser, runtime: RuntimeDep
) -> UserPublic:
    """Change the caller's names, email, phone, date of birth or consent (the fields sent);
    409 when the new email is taken or the profile changed meanwhile."""
    user = await _own(runtime, username)
    changes = body.model_dump(exclude_unset=True)
    for required in ("email", "first_name", "last_name", "marketing_emails_consent"):
        if required in changes and changes[required] is None:
            raise Problem(
                422,
                "validation_error",
                "Validation failed",
                f"{required} cannot be removed.",
                [{"field": required, "message": "cannot be null"}],
            )
    if "email" in changes:
        changes["email"] = str(changes["email"]).lower()
    if changes.get("date_of_birth") is not None:
        changes["date_of_birth"] = changes["date_of_birth"].isoformat()
    updated = replace(user, **changes, updated_at=_now())
    await runtime.users.update(user, updated)
    return _public(updated)


async def _own(runtime: Runtime, username: str) -> UserRecord:
    user = await runtime.users.get(username)
    if user is None:
        raise Problem(404, "resource_not_found", "Not found", "The user does not exist.")
    return user


def _now() -> str:
    return datetime.now(UTC).isoformat()
