"""The failed-login block: N failed logins within a window from one client address block that
address for a while (the original system's rule: 5 within 300 s block for 300 s).

Both are ``limits`` moving windows (exact) in Redis, so every replica sees them, with the
in-process fallback of ``RateWindows``: the failures are a window of ``failures`` hits per
``window_s``; the block is one hit of a ``1 per block_s`` window, so the address is blocked while
that hit is in its window, and the window's end is the ``Retry-After``.

A blocked address gets 403 ``access_denied`` on every login before any password is checked, right
or wrong. A success does not clear the failures: otherwise one account of the attacker's own would
reset the count between guesses at other accounts. Once the block ends, a failure still within the
failure window blocks again at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from limits import RateLimitItemPerSecond
from limits.aio.storage import Storage

from serve.limiter import RateWindows
from serve.problems import Problem

if TYPE_CHECKING:
    from serve.runtime import Runtime  # the runtime builds the block: no import at run time
    from serve.settings import Settings


class LoginBlock:
    """Counts failed logins per address and blocks an address that had too many."""

    def __init__(self, windows: RateWindows, *, failures: int, window_s: int, block_s: int) -> None:
        self._windows = windows
        self._failures = RateLimitItemPerSecond(failures, window_s)
        self._block = RateLimitItemPerSecond(1, block_s)

    async def blocked_for_s(self, address: str) -> int | None:
        """Seconds the address stays blocked, or None when it is not blocked."""
        verdict = await self._windows.peek(self._block, "login-block", address)
        return None if verdict.allowed else verdict.retry_after_s

    async def record_failure(self, address: str) -> None:
        """One failed login from ``address``; the one that fills the window starts the block."""
        verdict = await self._windows.hit(self._failures, "login-failures", address)
        if not verdict.allowed or verdict.remaining == 0:
            await self._windows.hit(self._block, "login-block", address)


def build_login_block(settings: Settings, redis: Storage | None) -> LoginBlock:
    """The failed-login block as configured, in ``redis`` with an in-process fallback."""
    return LoginBlock(
        RateWindows.moving(redis, settings.rate_limit_timeout_s),
        failures=settings.login_failure_limit,
        window_s=settings.login_failure_window_s,
        block_s=settings.login_block_s,
    )


@dataclass(frozen=True)
class LoginClient:
    """The client of a login attempt that is not blocked; report its failure with ``failed``."""

    address: str
    block: LoginBlock | None

    async def failed(self) -> None:
        """The attempt's credentials were wrong."""
        if self.block is not None:
            await self.block.record_failure(self.address)


async def login_client(request: Request) -> LoginClient:
    """The client of this login; 403 ``access_denied`` with ``Retry-After`` while it is blocked."""
    runtime: Runtime = request.app.state.runtime
    address = runtime.addresses.of_scope(request.scope)
    block = runtime.login_block
    if block is not None:
        blocked_for_s = await block.blocked_for_s(address)
        if blocked_for_s is not None:
            raise Problem(
                403,
                "access_denied",
                "Access denied",
                f"Too many failed logins from this address; retry after {blocked_for_s} s.",
                headers={"Retry-After": str(blocked_for_s)},
            )
    return LoginClient(address, block)


LoginAttempt = Annotated[LoginClient, Depends(login_client)]
