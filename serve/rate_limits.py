"""Request rate limits per client address, per user, and stricter ones on login and register.

Every request but ``/health*`` counts against its client address's window and, with a valid
bearer token, its user's; ``POST`` login and register also against a stricter window of their
own per address. Past any of them: 429 ``rate_limited`` with ``Retry-After``, ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds) of the window that refused (IETF draft
``RateLimit`` header fields). An allowed request costs one Redis call per window and carries no
``RateLimit-*`` fields: reading each window's statistics would double the calls.

A pure ASGI middleware, so streamed answers (the live events) stream as before.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from limits.aio.storage import Storage
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.client_address import ClientAddresses
from serve.limiter import RateWindows, Verdict, parse_limits
from serve.problems import Problem, problem_response
from serve.security import InvalidTokenError, Tokens

if TYPE_CHECKING:
    from serve.runtime import Runtime
    from serve.settings import Settings

EXEMPT_PREFIX = "/health"  # liveness and readiness probes are never limited
LOGIN_PATH = "/api/v1/auth/login"
REGISTER_PATH = "/api/v1/auth/register"


class RequestLimits:
    """Which windows a request counts against, and the verdict of the tightest."""

    def __init__(
        self,
        windows: RateWindows,
        addresses: ClientAddresses,
        tokens: Tokens,
        *,
        per_address: str,
        per_user: str,
        login: str,
        register: str,
    ) -> None:
        self._windows, self._addresses, self._tokens = windows, addresses, tokens
        self._per_address = parse_limits(per_address)
        self._per_user = parse_limits(per_user)
        self._per_route = {LOGIN_PATH: parse_limits(login), REGISTER_PATH: parse_limits(register)}

    async def check(self, scope: Scope) -> Verdict:
        """Count the request in each of its windows; the refusal, or the tightest allowance."""
        address = self._addresses.of_scope(scope)
        hits = [self._windows.hit(i, "address", address, counts=False) for i in self._per_address]
        path = scope["path"]
        if scope["method"] == "POST" and path in self._per_route:
            hits += [
                self._windows.hit(i, path, address, counts=False) for i in self._per_route[path]
            ]
        user = self._user(scope)
        if user is not None:
            hits += [self._windows.hit(i, "user", user, counts=False) for i in self._per_user]
        return tightest(await asyncio.gather(*hits))

    def _user(self, scope: Scope) -> str | None:
        """The verified ``sub`` of the bearer token, if any (an invalid token is no user)."""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not token:
                    return None
                try:
                    return self._tokens.verify(token.strip(), "access").subject
                except InvalidTokenError:
                    return None
        return None


def build_request_limits(
    settings: Settings, redis: Storage | None, addresses: ClientAddresses, tokens: Tokens
) -> RequestLimits:
    """The request limits as configured, in ``redis`` with an in-process fallback."""
    return RequestLimits(
        RateWindows(redis, settings.rate_limit_timeout_s),
        addresses,
        tokens,
        per_address=settings.rate_limit_per_address,
        per_user=settings.rate_limit_per_user,
        login=settings.rate_limit_login,
        register=settings.rate_limit_register,
    )


def tightest(verdicts: list[Verdict]) -> Verdict:
    """A refusal (the one lasting longest) if any, else the allowance with the least left."""
    refused = [v for v in verdicts if not v.allowed]
    if refused:
        return max(refused, key=lambda v: v.reset_after_s)
    return min(verdicts, key=lambda v: (v.remaining is None, v.remaining or 0, -v.reset_after_s))


def rate_limit_headers(verdict: Verdict) -> dict[str, str]:
    """``RateLimit-*`` of a verdict that read its window, and ``Retry-After`` on a refusal."""
    if verdict.remaining is None:
        return {}
    headers = {
        "RateLimit-Limit": str(verdict.limit),
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(verdict.retry_after_s),
    }
    if not verdict.allowed:
        headers["Retry-After"] = str(verdict.retry_after_s)
    return headers


def too_many_requests(verdict: Verdict) -> Problem:
    """The 429 of a refused verdict."""
    return Problem(
        429,
        "rate_limited",
        "Too many requests",
        f"Rate limit exceeded; retry after {verdict.retry_after_s} s.",
        headers=rate_limit_headers(verdict),
    )


class RateLimitMiddleware:
    """Applies ``runtime.limits`` (None: no limits) to every request but ``/health*``."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self._app, self._runtime = app, runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits = self._runtime.limits
        if scope["type"] != "http" or limits is None or scope["path"].startswith(EXEMPT_PREFIX):
            await self._app(scope, receive, send)
            return
        verdict = await limits.check(scope)
        if not verdict.allowed:
            response = problem_response(Request(scope), too_many_requests(verdict))
            await response(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in rate_limit_headers(verdict).items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self._app(scope, receive, send_with_headers)
