"""The trading rules: rounding, order limits, buys and sells, holdings and their cost."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors.domain.accounts import Account
from actors.domain.commands import PlaceMarketOrder
from actors.domain.context import Context
from actors.domain.errors import (
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidOrderError,
    OrderRejectedError,
)
from actors.domain.events import OrderFilled
from actors.domain.holdings import Holding
from actors.domain.limits import CashLimits, OrderLimits
from actors.domain.trading import (
    apply_order_filled,
    buy_cost,
    decide_market_order,
    sale_proceeds,
    validate_order,
)

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
LIMITS = OrderLimits(Decimal("0.001"), Decimal("10000.00"), Decimal("0.01"), 100)
CASH = CashLimits(Decimal("0.01"), Decimal("1000000"), Decimal("10000"), Decimal("5000"))
D = Decimal


def ctx(price: str = "100.00", limits: OrderLimits = LIMITS) -> Context:
    return Context(NOW, lambda: "order-1", CASH, limits, lambda asset_id: Decimal(price))


def buy(quantity: str, asset: str = "BTC") -> PlaceMarketOrder:
    return PlaceMarketOrder("buy", asset, Decimal(quantity))


def sell(quantity: str, asset: str = "BTC") -> PlaceMarketOrder:
    return PlaceMarketOrder("sell", asset, Decimal(quantity))


def filled(account: Account, command: PlaceMarketOrder, price: str = "100.00") -> Account:
    event = decide_market_order(account, command, ctx(price))
    return apply_order_filled(account, event)


def test_a_buy_costs_the_product_rounded_up_to_the_cent() -> None:
    assert buy_cost(D("0.001"), D("33.333")) == D("0.04")  # 0.033333 -> 0.04
    assert buy_cost(D("2"), D("1.50")) == D("3.00")  # exact stays exact


def test_a_sale_brings_the_product_rounded_down_to_the_cent() -> None:
    assert sale_proceeds(D("0.001"), D("33.333")) == D("0.03")
    assert sale_proceeds(D("2"), D("1.50")) == D("3.00")


def test_a_buy_moves_cash_into_the_holding_at_its_cost() -> None:
    account = Account("alice", balance=D("1000.00"))
    event = decide_market_order(account, buy("1.5"), ctx("100.004"))
    assert isinstance(event, OrderFilled)
    assert (event.amount, event.balance_after, event.holding_after) == (
        D("150.01"),
        D("849.99"),
        D("1.5"),
    )
    after = apply_order_filled(account, event)
    assert after.balance == D("849.99")
    assert after.holding("BTC") == Holding(D("1.5"), D("0E-8"), D("150.01"), NOW, NOW)
    assert after.transaction_count == 1


def test_a_sale_moves_the_holding_into_cash_and_takes_its_share_of_the_cost() -> None:
    account = filled(Account("alice", balance=D("1000.00")), buy("2"))
    after = filled(account, sell("0.5"), "120.00")
    assert after.balance == D("860.00")
    assert after.holding("BTC").quantity == D("1.5")
    assert after.holding("BTC").cost == D("150.00")


def test_selling_everything_drops_the_holding_and_its_cost() -> None:
    account = filled(Account("alice", balance=D("1000.00")), buy("2"))
    after = filled(account, sell("2"), "90.00")
    assert "BTC" not in after.holdings
    assert after.balance == D("980.00")


def test_a_buy_beyond_the_available_cash_is_refused() -> None:
    account = Account("alice", balance=D("100.00"))
    with pytest.raises(InsufficientFundsError):
        decide_market_order(account, buy("1.0001"), ctx())
    assert decide_market_order(account, buy("1"), ctx()).balance_after == D("0.00")


def test_cash_held_by_open_orders_cannot_pay_for_a_buy() -> None:
    account = Account("alice", balance=D("100.00"), held=D("50.00"))
    with pytest.raises(InsufficientFundsError):
        decide_market_order(account, buy("0.6"), ctx())


def test_a_sale_beyond_the_available_holding_is_refused() -> None:
    account = filled(Account("alice", balance=D("1000.00")), buy("1"))
    with pytest.raises(InsufficientHoldingsError) as raised:
        decide_market_order(account, sell("1.00000001"), ctx())
    assert raised.value.available == D("1")
    with pytest.raises(InsufficientHoldingsError):
        decide_market_order(account, sell("1", "ETH"), ctx())


def test_a_held_part_of_a_holding_cannot_be_sold() -> None:
    account = Account("alice").with_holding("BTC", Holding(D("2"), held=D("1.5")))
    with pytest.raises(InsufficientHoldingsError):
        decide_market_order(account, sell("0.6"), ctx())


def test_an_order_worth_more_than_the_maximum_is_refused_at_its_price() -> None:
    account = Account("alice", balance=D("1000000.00"))
    with pytest.raises(OrderRejectedError, match=r"at most 10000"):
        decide_market_order(account, buy("100.01"), ctx("100.00"))
    assert decide_market_order(account, buy("100"), ctx("100.00")).amount == D("10000.00")


def test_an_order_worth_less_than_the_minimum_notional_is_refused() -> None:
    held = Account("alice").with_holding("SHIB", Holding(D("1")))
    with pytest.raises(OrderRejectedError, match=r"at least 0\.01"):
        decide_market_order(held, sell("0.001", "SHIB"), ctx("0.00002"))
    limits = OrderLimits(D("0.001"), D("10000"), D("1.00"), 100)
    with pytest.raises(OrderRejectedError):
        decide_market_order(Account("a", D("10")), buy("0.001"), ctx("100", limits))


@pytest.mark.parametrize(
    ("asset", "quantity", "field"),
    [
        ("", "1", "asset_id"),
        ("X" * 21, "1", "asset_id"),
        ("BTC", "0.0009", "quantity"),
        ("BTC", "-1", "quantity"),
        ("BTC", "NaN", "quantity"),
        ("BTC", "0.123456789", "quantity"),
        ("BTC", "1e400", "quantity"),
    ],
)
def test_bad_order_fields_are_refused_before_any_price(
    asset: str, quantity: str, field: str
) -> None:
    with pytest.raises(InvalidOrderError) as raised:
        validate_order(PlaceMarketOrder("buy", asset, Decimal(quantity)), LIMITS)
    assert raised.value.field == field


def test_a_valid_order_passes_validation() -> None:
    validate_order(buy("0.001"), LIMITS)
    validate_order(buy("0.12345678"), LIMITS)


def test_the_order_type_and_canonical_form_name_the_side() -> None:
    command = PlaceMarketOrder("sell", "ETH", D("1.50"), "c-1")
    assert command.order_type == "market_sell"
    assert command.canonical() == PlaceMarketOrder("sell", "ETH", D("1.5"), "c-1").canonical()
    assert command.canonical() != PlaceMarketOrder("buy", "ETH", D("1.5"), "c-1").canonical()
