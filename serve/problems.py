"""RFC 9457 problem details: one table from every error to its status, and the handlers.

Anything not in the table is a bug and answers 500 ``internal_error`` without details.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from actors.domain.errors import (
    DailyLimitExceededError,
    DomainError,
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidAmountError,
    InvalidOrderError,
    OrderNotCancellableError,
    OrderNotFillableError,
    OrderRejectedError,
)
from actors.ledger.errors import IdempotencyKeyReusedError, RequestInFlightError, UserExistsError
from actors.ledger.results import Failed, Refused
from actors.market.errors import CatalogueUnavailableError, PriceUnavailableError
from actors.store.errors import StoreUnavailableError
from actors.users.store import ProfileChangedError
from serve.request_ids import request_id_of

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://order-processor.dev/problems/"


class Problem(Exception):
    """An error answered as problem details."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, title, detail, errors, headers)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.errors = errors
        self.headers = headers or {}


@dataclass(frozen=True)
class Mapping:
    status: int
    code: str
    title: str
    headers: tuple[tuple[str, str], ...] = ()
    field: str | None = None  # a field problem: listed in ``errors`` (422)
    generic_detail: bool = False  # the title is the detail (never an internal reason)


PROBLEMS: dict[type[Exception], Mapping] = {
    InsufficientFundsError: Mapping(409, "insufficient_funds", "Insufficient funds"),
    InsufficientHoldingsError: Mapping(409, "insufficient_holdings", "Insufficient holdings"),
    DailyLimitExceededError: Mapping(409, "conflict", "Daily limit exceeded"),
    OrderNotCancellableError: Mapping(409, "conflict", "Order not cancellable"),
    OrderNotFillableError: Mapping(409, "conflict", "Order not fillable"),
    OrderRejectedError: Mapping(
        422, "validation_error", "Order outside the limits", field="quantity"
    ),
    InvalidOrderError: Mapping(422, "validation_error", "Validation failed", field="order"),
    InvalidAmountError: Mapping(422, "validation_error", "Validation failed", field="amount"),
    UserExistsError: Mapping(409, "resource_already_exists", "Already registered"),
    ProfileChangedError: Mapping(409, "conflict", "Profile changed"),
    RequestInFlightError: Mapping(409, "conflict", "Request in progress"),
    IdempotencyKeyReusedError: Mapping(422, "idempotency_key_reused", "Idempotency key reused"),
    PriceUnavailableError: Mapping(503, "service_unavailable", "Price unavailable"),
    CatalogueUnavailableError: Mapping(
        503,
        "service_unavailable",
        "Service unavailable",
        (("Retry-After", "1"),),
        generic_detail=True,
    ),
    StoreUnavailableError: Mapping(
        503,
        "service_unavailable",
        "Service unavailable",
        (("Retry-After", "1"),),
        generic_detail=True,
    ),
}


def problem_for(error: Exception) -> Problem:
    """The problem a refusal, a bad input or a ledger failure is answered with (one table)."""
    for error_type, mapping in PROBLEMS.items():
        if isinstance(error, error_type):
            detail = mapping.title if mapping.generic_detail else str(error)
            headers = dict(mapping.headers)
            retry_after = getattr(error, "retry_after_s", None)
            if retry_after is not None:
                headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
            errors = None
            if mapping.field is not None:
                errors = [{"field": getattr(error, "field", mapping.field), "message": detail}]
            return Problem(mapping.status, mapping.code, mapping.title, detail, errors, headers)
    raise error


def problem_for_outcome(outcome: Refused | Failed) -> Problem:
    """The problem a refused or failed operation is answered with."""
    return problem_for(outcome.error)


def unavailable(detail: str) -> Problem:
    """A 503 for a dependency or actor that did not answer."""
    return Problem(
        503, "service_unavailable", "Service unavailable", detail, None, {"Retry-After": "1"}
    )


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """Render ``problem`` as ``application/problem+json``."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        "code": problem.code,
    }
    if problem.errors:
        body["errors"] = problem.errors
    trace_id = request_id_of(request)  # the id of the request's log lines (serve/request_ids.py)
    if trace_id:
        body["trace_id"] = trace_id
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


HTTP_CODES = {
    400: ("validation_error", "Bad request"),
    401: ("authentication_failed", "Authentication failed"),
    403: ("access_denied", "Access denied"),
    404: ("resource_not_found", "Not found"),
    405: ("validation_error", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Field problems without the offending input (never echo what the client sent)."""
    return [
        {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body", "message": e["msg"]}
        for e in exc.errors()
    ]


CODES = [
    "validation_error",
    "authentication_failed",
    "access_denied",
    "resource_not_found",
    "resource_already_exists",
    "insufficient_funds",
    "insufficient_holdings",
    "conflict",
    "idempotency_key_reused",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "service_unavailable",
    "internal_error",
]
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "instance", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "enum": CODES},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "trace_id": {"type": "string"},
    },
}
# What any operation may be answered besides its success: the edge (size limits, media type,
# rate limits), authentication, the problem table and the validation handler. Documented on
# every operation of the OpenAPI document, whoever adds the route (``document_problems``).
DOCUMENTED: dict[int, str] = {
    400: "Malformed request: bad JSON, JSON nested too deep, a bad cursor",
    401: "Missing, invalid or revoked token",
    403: "Blocked, or a cross-origin request refused",
    404: "Absent, or not yours",
    405: "Method not allowed",
    409: "Business refusal or a request still in flight",
    413: "Body too large",
    415: "Body not JSON",
    422: "Field validation failed, or an idempotency key reused with another body",
    429: "Rate limited",
    431: "Request headers too large",
    503: "A dependency or actor is unavailable",
}
METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def document_problems(app: FastAPI) -> None:
    """Declare the problem answers (``DOCUMENTED``) on every operation of ``app``'s OpenAPI
    document, as ``application/problem+json``, replacing FastAPI's own 422 schema.

    New routes need nothing: the document is completed when it is first built. A route may
    still declare a status of its own with ``responses=``; its declaration is kept.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path in document.get("paths", {}).values():
            for operation in path.values():
                _declare_problems(operation["responses"])
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_problems(responses: dict[str, Any]) -> None:
    for status, description in DOCUMENTED.items():
        declared = responses.get(str(status))
        if declared is None or "HTTPValidationError" in str(declared):
            content = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            responses[str(status)] = {"description": description, "content": content}


def _allowed_methods(request: Request) -> str:
    """Every method of the path: Starlette's 405 lists only those of the first route that
    matched it (``GET /api/v1/orders`` and ``POST /api/v1/orders`` are two routes)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem details, and document them."""
    document_problems(app)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    async def _mapped(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, problem_for(exc))

    # Refusals, and the failures a read path raises (store or catalogue unreachable): each by
    # the one table, never a 500.
    handled: set[type[Exception]] = {DomainError, *PROBLEMS}
    for error_type in handled:
        app.add_exception_handler(error_type, _mapped)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            bad = Problem(400, "validation_error", "Malformed JSON", "The body is not valid JSON.")
            return problem_response(request, bad)
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            request, Problem(422, "validation_error", "Validation failed", detail, errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = HTTP_CODES.get(exc.status_code, ("internal_error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        problem = Problem(exc.status_code, code, title, detail, headers=headers)
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        bug = Problem(500, "internal_error", "Internal error", "An unexpected error occurred.")
        return problem_response(request, bug)
