"""Settings of the HTTP side (prefix ``OP_``), on top of the actors' ``LedgerSettings``: each
default is stated once, here or there. Built in app builders and constructors only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from actors.settings import LedgerSettings

DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"


class Settings(LedgerSettings):
    """Every knob of the service; see the README's settings table."""

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "order-processor"
    version: str = "0.1.0"

    ingress_replicas: int = Field(default=1, ge=1)
    actor_call_timeout_s: float = 10.0
    # calls a replica keeps outstanding per shard; commands arriving meanwhile go in the next
    # call together (serve/shard_calls.py)
    shard_calls_in_flight: int = Field(default=2, ge=1, le=64)

    # Tokens: HS256 signs with jwt_secret; RS256 with jwt_private_key (PEM). Either way the
    # signing key is named jwt_key_id in each token's ``kid``, and jwt_verification_keys
    # (kid -> secret or public PEM) are the retired keys still accepted during a rotation
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_private_key: str | None = None
    jwt_key_id: str = Field(default="k1", min_length=1, max_length=64)
    jwt_verification_keys: dict[str, str] = Field(default_factory=dict)
    jwt_issuer: str = "order-processor"
    jwt_audience: str = "order-processor-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 7 * 24 * 3600
    # Revocation checks: a replica trusts a session it checked this recently (logout and a
    # password change reach every replica within it); Redis keeps the checked state this long
    session_check_cache_s: float = Field(default=0.5, ge=0)
    session_state_ttl_s: int = Field(default=30, ge=1)

    max_body_bytes: int = 64 * 1024
    # The edge (serve/headers.py, serve/bodies.py): a body nested deeper than this is a 400
    # before it is parsed; request headers larger than this in total are a 431
    max_json_depth: int = Field(default=400, ge=1)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    # Origins allowed to call the API from a browser (exact, e.g. "https://app.example.com");
    # empty: no cross-origin access (the web app is served by the same ingress)
    cors_origins: list[str] = Field(default_factory=list)
    # HSTS on every response, not only on those that came over TLS: TLS ends in front of the
    # ingress (an ALB), which forwards plain HTTP
    tls_terminated_upstream: bool = False
    # The Content-Security-Policy of what is neither the API nor its docs (the web app at /)
    web_content_security_policy: str = (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    )
    # The built web app served at / (serve/webapp.py); unset: this checkout's frontend/dist
    web_app_dir: str | None = None
    # /docs, /redoc and /openapi.json; unset: on, except in production
    api_docs_enabled: bool | None = None

    # Live events (GET /api/v1/events): a comment line after this long without a frame keeps an
    # idle stream open through proxies and reveals a client that vanished without closing
    events_keepalive_s: float = Field(default=15.0, gt=0)
    # Events one stream may have waiting (about 16 s of price ticks of 31 assets at 1 tick/s);
    # a client further behind is disconnected and resumes from the log with Last-Event-ID
    events_queue_size: int = Field(default=512, ge=1)
    # Open streams one ingress replica serves: each is an ongoing request of the replica, so
    # the cap keeps half of its max_ongoing_requests (256) for everything else; one more
    # stream is answered 503 with Retry-After (the client retries, likely on another replica)
    events_max_streams: int = Field(default=128, ge=1)

    # The client address (serve/client_address.py): proxies (IPs or CIDRs) whose X-Forwarded-For
    # entry is believed. None by default: the client is the TCP peer (behind the local HAProxy,
    # which forwards no address of its own, every client is 127.0.0.1)
    trusted_proxies: list[str] = Field(default_factory=list)
    # Rate limits in `limits` notation ("10/minute"; several joined by ";"), counted in Redis
    # (serve/rate_limits.py): per client address and per user on every route but /health*, and
    # on top of those per address on login and register
    rate_limit_per_address: str = "100/second"
    rate_limit_per_user: str = "50/second"
    rate_limit_login: str = "10/minute"
    rate_limit_register: str = "5/minute"
    # Each Redis call of the limits: past it (or with Redis down) the replica counts in its own
    # memory for a while (a limit is then per replica, never absent, and never stalls a request)
    rate_limit_timeout_s: float = Field(default=0.25, gt=0)  # as redis_timeout_s: not tighter
    # Failed logins (serve/login_block.py): this many within the window block the address
    login_failure_limit: int = Field(default=5, ge=1)
    login_failure_window_s: int = Field(default=300, ge=1)
    login_block_s: int = Field(default=300, ge=1)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        from serve.client_address import trusted_networks

        trusted_networks(value)  # a typo fails at start, not silently trusting nothing
        return value

    @field_validator(
        "rate_limit_per_address", "rate_limit_per_user", "rate_limit_login", "rate_limit_register"
    )
    @classmethod
    def _limits(cls, value: str) -> str:
        from serve.limiter import parse_limits

        parse_limits(value)
        return value

    @property
    def docs_enabled(self) -> bool:
        """Whether the API docs and the OpenAPI document are served."""
        if self.api_docs_enabled is None:
            return self.environment != "production"
        return self.api_docs_enabled

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        # the secret also keys the pagination cursors, so it is required with RS256 too
        if self.environment == "production" and (
            self.jwt_secret == DEVELOPMENT_SECRET or len(self.jwt_secret) < 32
        ):
            raise ValueError(
                "OP_JWT_SECRET must be set to a random secret of 32+ characters in production."
            )
        if self.jwt_algorithm == "RS256" and not self.jwt_private_key:
            raise ValueError("OP_JWT_ALGORITHM=RS256 needs OP_JWT_PRIVATE_KEY (a PEM).")
        return self
