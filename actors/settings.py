"""The settings of the actors (store, cache, shards, money and order limits, prices): each default
stated once, read from the environment with the prefix ``OP_``.

``serve.settings.Settings`` extends this class with the HTTP side; the shards and the price feed
receive a plain ``LedgerSettings`` (``Settings.ledger_settings()``), never the ingress's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from actors.domain.limits import CashLimits, OrderLimits


class LedgerSettings(BaseSettings):
    """Every knob of the actors; see the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="OP_", extra="ignore")

    # DynamoDB ("memory": each shard keeps its ledger in its own memory, for benchmarks of the
    # engine's own cost only: nothing survives a restart and reads rely on the Redis cache)
    ledger_store: Literal["dynamodb", "memory"] = "dynamodb"
    table_name: str = "order-processor"
    dynamodb_endpoint_url: str | None = "http://127.0.0.1:5000"
    aws_region: str = "us-east-1"
    io_threads: int = Field(default=16, ge=1)

    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Reads: a Redis that is slow or gone falls back to the store within this. Not tighter: the
    # timer runs on the caller's event loop, so an overloaded replica's own lag (past 50 ms at
    # the knee) read as Redis failing, opened the breaker and sent every read to the far
    # dearer store, and the replica's throughput fell as the load rose (docs/operations.md)
    redis_timeout_s: float = 0.25
    # The shards' cache writes: a write Redis misses leaves it serving an older value until the
    # shard re-sends it, so they wait longer than reads before giving up
    cache_write_timeout_s: float = 0.25
    cache_ttl_s: int = 300

    # Shards and the user actors they host
    namespace: str = "order-processor"
    shard_count: int = Field(default=2, ge=1, le=1024)
    idle_timeout_s: float = 300.0
    snapshot_every: int = Field(default=50, ge=1)
    receipts_ttl_s: int = 24 * 3600
    allow_fault_injection: bool = False
    # Where users live (actors/placement.py): "pool" hosts them on the ``shard_count`` shards;
    # "dedicated" gives each active user its own Ray actor named ``user-<username>``, which
    # stops once its user is passivated (``idle_timeout_s``), at most ``dedicated_max_actors``
    # live at once per ingress replica (beyond that, 503 until one is idle)
    placement: Literal["pool", "dedicated"] = "pool"
    dedicated_max_actors: int = Field(default=200, ge=1)

    # Cash limits (the original system's defaults)
    min_amount: Decimal = Decimal("0.01")
    max_amount: Decimal = Decimal("1000000.00")
    daily_deposit_limit: Decimal = Decimal("10000.00")
    daily_withdrawal_limit: Decimal = Decimal("5000.00")

    # Order limits (API.md): quantity at least 0.001, value at most 10,000
    min_order_quantity: Decimal = Decimal("0.001")
    max_order_value: Decimal = Decimal("10000.00")
    min_order_notional: Decimal = Decimal("0.01")
    max_open_orders: int = Field(default=100, ge=1)  # limit orders open at once, per user
    # The matcher: how often it re-reads the store's open orders (to pick up any it missed)
    matcher_resync_interval_s: float = Field(default=30.0, gt=0)

    # Prices: the feed's source, its pace and how old a price may be when an order fills
    price_source: Literal["random_walk", "coingecko"] = "random_walk"
    price_seed: int = 42
    price_tick_interval_s: float = Field(default=1.0, gt=0)
    price_volatility: float = Field(default=0.002, ge=0, lt=0.5)
    price_max_age_s: float = Field(default=10.0, gt=0)
    price_history_interval_s: float = Field(default=60.0, gt=0)
    price_history_points: int = Field(default=1440, ge=2)

    @property
    def dynamodb_endpoint(self) -> str | None:
        """The endpoint to talk to (None, meaning AWS, when unset or empty)."""
        return self.dynamodb_endpoint_url or None

    @property
    def cash_limits(self) -> CashLimits:
        """The cash limits for the money rules."""
        return CashLimits(
            self.min_amount, self.max_amount, self.daily_deposit_limit, self.daily_withdrawal_limit
        )

    @property
    def order_limits(self) -> OrderLimits:
        """The order limits for the trading rules."""
        return OrderLimits(
            self.min_order_quantity,
            self.max_order_value,
            self.min_order_notional,
            self.max_open_orders,
        )

    def ledger_settings(self) -> LedgerSettings:
        """Only the actors' part, as a plain ``LedgerSettings`` (what is sent to the actors)."""
        values: dict[str, Any] = self.model_dump(include=set(LedgerSettings.model_fields))
        return LedgerSettings(**values)


def dynamodb_client(settings: LedgerSettings) -> Any:
    """A boto3 DynamoDB client with short timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint,
        region_name=settings.aws_region,
        config=Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=max(10, settings.io_threads),
        ),
    )
