"""Security headers on every response, and the CORS allow-list (see ``docs/security.md``).

The headers are added when the response starts, so streamed bodies (the live events, gzip)
pass through untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TypedDict

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.bodies import HeaderSizeLimit
from serve.problems import Problem, problem_response
from serve.settings import Settings

# JSON never needs to load anything: no scripts, styles, frames or plugins
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc: FastAPI's pages load their script and style from jsdelivr, run one
# inline script, show FastAPI's favicon, and ReDoc starts a web worker from a blob
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
API_PREFIXES = ("/api/", "/health", "/openapi.json")
DOCS_PREFIXES = ("/docs", "/redoc")
HSTS = b"max-age=31536000; includeSubDomains"
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)

# What the API needs from a browser on another origin
CORS_METHODS = ("GET", "POST", "PUT", "DELETE")
CORS_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID", "X-Request-ID")
CORS_EXPOSE = (
    "RateLimit",
    "RateLimit-Policy",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "WWW-Authenticate",
)
CORS_MAX_AGE_S = 600


def content_security_policy(path: str, web_policy: str) -> str:
    """The policy of ``path``: nothing for the API, the CDN for the docs, the web app's own."""
    if path.startswith(API_PREFIXES):
        return API_CSP
    if path.startswith(DOCS_PREFIXES):
        return DOCS_CSP
    return web_policy


class SecurityHeaders:
    """Add the security headers to every HTTP response of ``app``.

    ``Cache-Control: no-store`` goes on the answers to authenticated requests and on errors
    (replacing whatever the route set); HSTS when the request came over TLS, or always when
    ``tls_upstream`` says TLS ends in front of the ingress.
    """

    def __init__(self, app: ASGIApp, web_policy: str, tls_upstream: bool) -> None:
        self.app = app
        self.web_policy = web_policy
        self.tls_upstream = tls_upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authenticated = any(name == b"authorization" for name, _ in scope.get("headers") or [])
        tls = self.tls_upstream or scope.get("scheme") == "https"
        policy = content_security_policy(scope.get("path", ""), self.web_policy).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                no_store = authenticated or message["status"] >= 400
                message["headers"] = _secured(message.get("headers", []), policy, no_store, tls)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secured(
    headers: Sequence[tuple[bytes, bytes]], policy: bytes, no_store: bool, tls: bool
) -> list[tuple[bytes, bytes]]:
    replaced = {b"cache-control"} if no_store else set()
    kept = [(name, value) for name, value in headers if name.lower() not in replaced]
    present = {name.lower() for name, _ in kept}
    added = [*ALWAYS, (b"content-security-policy", policy)]
    if no_store:
        added.append((b"cache-control", b"no-store"))
    if tls:
        added.append((b"strict-transport-security", HSTS))
    return kept + [(name, value) for name, value in added if name not in present]


class AllowListCORS(CORSMiddleware):
    """Starlette's CORS middleware on an allow-list; a refused preflight is a problem (400)
    that carries no CORS header at all."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        super().__init__(
            app,
            allow_origins=list(origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSE,
            allow_credentials=False,  # bearer tokens, never cookies
            max_age=CORS_MAX_AGE_S,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        preflight = (
            scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )
        if not preflight:
            refused = "origin" in headers and not self.is_allowed_origin(headers["origin"])
            # an origin not allowed is not told which headers it could have read
            await (self.app if refused else super().__call__)(scope, receive, send)
            return
        response = self.preflight_response(request_headers=headers)
        if response.status_code >= 400:
            response = problem_response(Request(scope), REFUSED)
        await response(scope, receive, send)


REFUSED = Problem(
    403,
    "access_denied",
    "Cross-origin request refused",
    "This origin, method or header may not call the API; ask for the origin to be allowed.",
)


def install_edge(api: FastAPI, settings: Settings) -> None:
    """Add, outermost, the header size limit, CORS (when any origin is allowed) and, around
    everything, the security headers, so that every answer of the app carries them."""
    api.add_middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes)
    if settings.cors_origins:
        api.add_middleware(AllowListCORS, origins=settings.cors_origins)
    api.add_middleware(
        SecurityHeaders,
        web_policy=settings.web_content_security_policy,
        tls_upstream=settings.tls_terminated_upstream,
    )
    _secure_the_500s(api)


def _secure_the_500s(api: FastAPI) -> None:
    """Starlette answers an unhandled error from outside every middleware: the handler of
    ``Exception`` (serve/problems.py) adds the security headers itself."""
    answer_bug = api.exception_handlers[Exception]

    async def secured(request: Request, exc: Exception) -> Response:
        answered = answer_bug(request, exc)
        response = await answered if inspect.isawaitable(answered) else answered
        for name, value in [*ALWAYS, (b"content-security-policy", API_CSP.encode())]:
            response.headers[name.decode()] = value.decode()
        response.headers["cache-control"] = "no-store"
        return response

    api.add_exception_handler(Exception, secured)


class DocsUrls(TypedDict):
    docs_url: str | None
    redoc_url: str | None
    openapi_url: str | None


def docs_urls(settings: Settings) -> DocsUrls:
    """FastAPI's docs and OpenAPI paths, or None for each when the docs are off."""
    on = settings.docs_enabled
    return DocsUrls(
        docs_url="/docs" if on else None,
        redoc_url="/redoc" if on else None,
        openapi_url="/openapi.json" if on else None,
    )
