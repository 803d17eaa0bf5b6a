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

    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_issuer: str = "order-processor"
    jwt_audience: str = "order-processor-api"
    access_token_ttl_s: int = 900

    max_body_bytes: int = 64 * 1024

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
    rate_limit_timeout_s: float = Field(default=0.05, gt=0)
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

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and (
            self.jwt_secret == DEVELOPMENT_SECRET or len(self.jwt_secret) < 32
        ):
            raise ValueError(
                "OP_JWT_SECRET must be set to a random secret of 32+ characters in production."
            )
        return self
