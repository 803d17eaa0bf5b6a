"""What a shard actor needs to know, as one picklable value (built by the app, never at import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actors.domain.accounts import CashLimits


@dataclass(frozen=True)
class LedgerConfig:
    """Connection settings and tunables of the ledger shards."""

    table_name: str = "order-processor"
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    redis_url: str = "redis://127.0.0.1:6379/0"
    shard_count: int = 2
    namespace: str = "order-processor"
    limits: CashLimits = field(default_factory=CashLimits)
    snapshot_every: int = 50
    idle_timeout_s: float = 300.0
    io_threads: int = 16
    cache_ttl_s: int = 300
    redis_timeout_s: float = 0.05
    allow_fault_injection: bool = False


def dynamodb_client(config: LedgerConfig) -> Any:
    """A boto3 DynamoDB client with short timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        endpoint_url=config.dynamodb_endpoint_url,
        region_name=config.aws_region,
        config=Config(
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=max(10, config.io_threads),
        ),
    )
