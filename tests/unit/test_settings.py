"""Settings: environment driven, and never a placeholder secret in production."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import ValidationError

from actors.domain.accounts import CashLimits
from serve.settings import DEVELOPMENT_SECRET, Settings

STRONG_SECRET = "x7P2q9L0w4E8r1T6y3U5i0O9p8A7s6D5"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("OP_")]:
        monkeypatch.delenv(name)
    yield


def test_development_accepts_the_placeholder_secret() -> None:
    assert Settings().jwt_secret == DEVELOPMENT_SECRET


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="OP_JWT_SECRET"):
        Settings(environment="production")


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="32"):
        Settings(environment="production", jwt_secret="s" * 31)


def test_production_accepts_a_long_random_secret() -> None:
    assert Settings(environment="production", jwt_secret=STRONG_SECRET).environment == "production"


def test_production_from_the_environment_refuses_the_placeholder_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OP_ENVIRONMENT", "production")

    with pytest.raises(ValidationError):
        Settings()

    monkeypatch.setenv("OP_JWT_SECRET", STRONG_SECRET)
    assert Settings().jwt_secret == STRONG_SECRET


def test_an_unknown_environment_name_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(environment="staging")  # type: ignore[arg-type]


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(daily_deposit_limit="50.00", max_amount="500.00")

    assert settings.limits == CashLimits(
        Decimal("0.01"), Decimal("500.00"), Decimal("50.00"), Decimal("5000.00")
    )


def test_the_ledger_configuration_carries_the_settings_to_the_shards() -> None:
    settings = Settings(table_name="t1", shard_count=8, snapshot_every=10, dynamodb_endpoint_url="")

    config = settings.ledger_config()

    assert (config.table_name, config.shard_count, config.snapshot_every) == ("t1", 8, 10)
    assert config.dynamodb_endpoint_url is None  # empty means real AWS
    assert config.limits == settings.limits


def test_the_shard_count_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Settings(shard_count=0)
