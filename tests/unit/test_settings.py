"""Settings: environment driven, and never a placeholder secret in production."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import ValidationError

from actors.domain.limits import CashLimits, OrderLimits
from actors.settings import LedgerSettings
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
    settings = Settings(
        daily_deposit_limit="50.00",
        max_amount="500.00",
        min_order_quantity="0.1",
        max_open_orders=7,
    )

    assert settings.cash_limits == CashLimits(
        Decimal("0.01"), Decimal("500.00"), Decimal("50.00"), Decimal("5000.00")
    )
    assert settings.order_limits == OrderLimits(
        Decimal("0.1"), Decimal("10000.00"), Decimal("0.01"), 7
    )


def test_the_limits_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OP_DAILY_WITHDRAWAL_LIMIT", "12.34")
    monkeypatch.setenv("OP_MAX_ORDER_VALUE", "99")

    assert LedgerSettings().cash_limits.daily_withdrawal == Decimal("12.34")
    assert LedgerSettings().order_limits.max_value == Decimal("99")


def test_the_ledger_settings_carry_the_actors_part_to_the_shards() -> None:
    settings = Settings(
        table_name="t1",
        shard_count=8,
        snapshot_every=10,
        dynamodb_endpoint_url="",
        daily_deposit_limit=Decimal("50.00"),
        jwt_secret=STRONG_SECRET,
    )

    shipped = settings.ledger_settings()

    assert type(shipped) is LedgerSettings  # never the ingress's settings, secrets and all
    assert not hasattr(shipped, "jwt_secret")
    assert (shipped.table_name, shipped.shard_count, shipped.snapshot_every) == ("t1", 8, 10)
    assert shipped.dynamodb_endpoint is None  # empty means real AWS
    assert shipped.cash_limits == settings.cash_limits
    assert shipped.order_limits == settings.order_limits
    assert shipped.model_dump() == settings.model_dump(include=set(LedgerSettings.model_fields))


def test_the_ledger_settings_do_not_read_the_environment_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(snapshot_every=7)
    monkeypatch.setenv("OP_SNAPSHOT_EVERY", "99")

    assert settings.ledger_settings().snapshot_every == 7


def test_a_configured_endpoint_is_used() -> None:
    assert LedgerSettings(dynamodb_endpoint_url="http://ddb:8000").dynamodb_endpoint == (
        "http://ddb:8000"
    )


def test_the_shard_count_is_bounded() -> None:
    with pytest.raises(ValidationError):
        Settings(shard_count=0)


@pytest.mark.parametrize(
    "bad",
    [{"snapshot_every": 0}, {"io_threads": 0}, {"price_tick_interval_s": 0}, {"ledger_store": "x"}],
)
def test_out_of_range_actor_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LedgerSettings(**bad)  # type: ignore[arg-type]


def test_the_edge_defaults_allow_no_origin_and_serve_the_docs_outside_production() -> None:
    development = Settings()
    production = Settings(environment="production", jwt_secret=STRONG_SECRET)

    assert development.cors_origins == [] and development.max_json_depth == 400
    assert development.docs_enabled and not production.docs_enabled
    assert Settings(
        environment="production", jwt_secret=STRONG_SECRET, api_docs_enabled=True
    ).docs_enabled


def test_the_cors_origins_come_from_the_environment_as_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OP_CORS_ORIGINS", '["https://app.example.com", "https://admin.example.com"]'
    )
    monkeypatch.setenv("OP_API_DOCS_ENABLED", "false")

    settings = Settings()

    assert settings.cors_origins == ["https://app.example.com", "https://admin.example.com"]
    assert not settings.docs_enabled
