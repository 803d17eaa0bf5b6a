"""Settings from the environment (prefix ``OP_``), built in app builders and constructors only."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from actors.config import LedgerConfig
from actors.domain.accounts import CashLimits

DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"


class Settings(BaseSettings):
    """Every knob of the service; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="OP_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    service_name: str = "order-processor"
    version: str = "0.1.0"

    table_name: str = "order-processor"
    dynamodb_endpoint_url: str | None = "http://127.0.0.1:5000"
    aws_region: str = "us-east-1"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = 0.05
    cache_ttl_s: int = 300

    shard_count: int = Field(default=2, ge=1, le=1024)
    ingress_replicas: int = Field(default=1, ge=1)
    actor_call_timeout_s: float = 10.0
    io_threads: int = 16
    idle_timeout_s: float = 300.0
    snapshot_every: int = 50
    allow_fault_injection: bool = False

    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_issuer: str = "order-processor"
    jwt_audience: str = "order-processor-api"
    access_token_ttl_s: int = 900

    max_body_bytes: int = 64 * 1024
    min_amount: Decimal = Decimal("0.01")
    max_amount: Decimal = Decimal("1000000.00")
    daily_deposit_limit: Decimal = Decimal("10000.00")
    daily_withdrawal_limit: Decimal = Decimal("5000.00")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and (
            self.jwt_secret == DEVELOPMENT_SECRET or len(self.jwt_secret) < 32
        ):
            raise ValueError(
                "OP_JWT_SECRET must be set to a random secret of 32+ characters in production."
            )
        return self

    @property
    def limits(self) -> CashLimits:
        """The cash limits for the money rules."""
        return CashLimits(
            self.min_amount, self.max_amount, self.daily_deposit_limit, self.daily_withdrawal_limit
        )

    def ledger_config(self) -> LedgerConfig:
        """The shard actors' configuration."""
        return LedgerConfig(
            table_name=self.table_name,
            dynamodb_endpoint_url=self.dynamodb_endpoint_url or None,
            aws_region=self.aws_region,
            redis_url=self.redis_url,
            shard_count=self.shard_count,
            limits=self.limits,
            snapshot_every=self.snapshot_every,
            idle_timeout_s=self.idle_timeout_s,
            io_threads=self.io_threads,
            cache_ttl_s=self.cache_ttl_s,
            redis_timeout_s=self.redis_timeout_s,
            allow_fault_injection=self.allow_fault_injection,
        )
