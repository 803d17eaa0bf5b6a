"""The limit-order rules: validation, reservations, fills at a crossing price, cancel, expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.domain.accounts import Account
from actors.domain.commands import CancelOrder, ExpireOrder, FillOrder, PlaceLimitOrder, Side
from actors.domain.errors import (
    InsufficientFundsError,
    InsufficientHoldingsError,
    InvalidOrderError,
    OrderNotCancellableError,
    OrderNotFillableError,
    OrderRejectedError,
)
from actors.domain.holdings import Holding
from actors.domain.limit_orders import (
    apply_limit_order_filled,
    apply_limit_order_placed,
    apply_order_released,
    decide_cancel,
    decide_expire,
    decide_fill,
    decide_limit_order,
    reservations_of,
    validate_limit_order,
)
from actors.domain.limits import OrderLimits
from tests.unit.test_trading import NOW, ctx

D = Decimal


def limit(
    side: Side, quantity: str, price: str, asset: str = "BTC", expires_in_s: float | None = None
) -> PlaceLimitOrder:
    expiry = NOW + timedelta(seconds=expires_in_s) if expires_in_s is not None else None
    return PlaceLimitOrder(side, asset, D(quantity), D(price), "c-1", expiry)


def placed(account: Account, command: PlaceLimitOrder) -> tuple[Account, str]:
    event = decide_limit_order(account, command, ctx())
    return apply_limit_order_placed(account, event), event.order.order_id


def rich(cash: str = "1000.00", btc: str = "0") -> Account:
    holdings = {"BTC": Holding(quantity=D(btc), cost=D("100.00"))} if D(btc) else {}
    return Account("alice", balance=D(cash), holdings=holdings)


def fill(account: Account, order_id: str, price: str) -> Account:
    event = decide_fill(account, FillOrder(order_id, D(price), NOW), ctx())
    return apply_limit_order_filled(account, event)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (limit("buy", "0.0001", "100"), "quantity"),
        (limit("buy", "1", "0"), "price"),
        (limit("buy", "1", "-5"), "price"),
        (replace(limit("buy", "1", "1"), limit_price=D("NaN")), "price"),
        (limit("buy", "1", "1.000000001"), "price"),
        (limit("buy", "2", "5000.01"), "price"),  # worth more than 10,000
        (limit("sell", "0.001", "5"), "price"),  # a sale worth less than a cent
        (limit("buy", "1", "10", expires_in_s=0), "expires_at"),
    ],
)
def test_bad_limit_orders_are_invalid_input(command: PlaceLimitOrder, field: str) -> None:
    with pytest.raises(InvalidOrderError) as raised:
        validate_limit_order(command, ctx())
    assert raised.value.field == field


def test_a_valid_limit_order_passes() -> None:
    validate_limit_order(limit("buy", "2", "5000.00", expires_in_s=60), ctx())


def test_a_buy_reserves_its_cost_at_the_limit_rounded_up() -> None:
    account, order_id = placed(rich("1000.00"), limit("buy", "0.003", "33.333"))
    assert account.held == D("0.10")  # 0.099999 rounded up
    assert account.available == D("999.90") and account.balance == D("1000.00")
    assert account.open_orders[order_id].reserved == D("0.10")
    assert reservations_of(account.open_orders) == {"": D("0.10")}


def test_a_sell_reserves_its_quantity() -> None:
    account, order_id = placed(rich("0", btc="2"), limit("sell", "1.5", "100"))
    holding = account.holding("BTC")
    assert (holding.held, holding.available, holding.quantity) == (D("1.5"), D("0.5"), D("2"))
    assert reservations_of(account.open_orders) == {"BTC": D("1.50000000")}
    assert account.open_orders[order_id].order_type == "limit_sell"


def test_a_reservation_needs_what_is_available() -> None:
    with pytest.raises(InsufficientFundsError):
        decide_limit_order(rich("99.99"), limit("buy", "1", "100"), ctx())
    account, _ = placed(rich("0", btc="1"), limit("sell", "0.6", "100"))
    with pytest.raises(InsufficientHoldingsError):
        decide_limit_order(account, limit("sell", "0.5", "100"), ctx())


def test_an_account_has_at_most_the_open_orders_allowed() -> None:
    account = rich("1000.00")
    ids = iter(["o-1", "o-2", "o-3"])
    few = replace(
        ctx(limits=OrderLimits(D("0.001"), D("10000"), D("0.01"), 2)), new_id=ids.__next__
    )
    for _ in range(2):
        account = apply_limit_order_placed(
            account, decide_limit_order(account, limit("buy", "1", "1"), few)
        )
    with pytest.raises(OrderRejectedError):
        decide_limit_order(account, limit("buy", "1", "1"), few)


def test_a_buy_fills_at_a_lower_price_and_releases_the_difference() -> None:
    account, order_id = placed(rich("1000.00"), limit("buy", "2", "100"))
    event = decide_fill(account, FillOrder(order_id, D("90.005"), NOW), ctx())
    assert (event.amount, event.released, event.balance_after) == (
        D("180.01"),
        D("19.99"),
        D("819.99"),
    )
    after = apply_limit_order_filled(account, event)
    assert (after.balance, after.held, after.open_orders) == (D("819.99"), D("0.00"), {})
    assert after.holding("BTC").quantity == D("2") and after.holding("BTC").cost == D("180.01")
    assert after.transaction_count == 1


def test_a_sell_fills_at_a_higher_price_and_frees_the_holding() -> None:
    account, order_id = placed(rich("0.00", btc="2"), limit("sell", "1", "100"))
    after = fill(account, order_id, "120.009")
    holding = after.holding("BTC")
    assert after.balance == D("120.00")  # proceeds rounded down
    assert (holding.quantity, holding.held, holding.cost) == (D("1"), D("0E-8"), D("50.00"))


def test_selling_the_whole_holding_closes_it() -> None:
    account, order_id = placed(rich("0.00", btc="1"), limit("sell", "1", "100"))
    assert fill(account, order_id, "100").holdings == {}


@pytest.mark.parametrize(("side", "price"), [("buy", "100.01"), ("sell", "99.99")])
def test_a_price_that_does_not_cross_does_not_fill(side: Side, price: str) -> None:
    account, order_id = placed(rich("1000.00", btc="5"), limit(side, "1", "100"))
    with pytest.raises(OrderNotFillableError, match="cross"):
        decide_fill(account, FillOrder(order_id, D(price), NOW), ctx())


def test_an_order_fills_once() -> None:
    account, order_id = placed(rich("1000.00"), limit("buy", "1", "100"))
    account = fill(account, order_id, "100")
    with pytest.raises(OrderNotFillableError, match="not open"):
        decide_fill(account, FillOrder(order_id, D("100"), NOW), ctx())
    with pytest.raises(OrderNotCancellableError):
        decide_cancel(account, CancelOrder(order_id), ctx())


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_cancel_releases_everything_reserved(side: Side) -> None:
    before = rich("1000.00", btc="3")
    account, order_id = placed(before, limit(side, "1", "100"))
    after = apply_order_released(account, decide_cancel(account, CancelOrder(order_id), ctx()))
    assert after == replace(before, open_orders={})


def test_an_order_expires_once_its_expiry_has_come() -> None:
    account, order_id = placed(rich("1000.00"), limit("buy", "1", "100", expires_in_s=60))
    with pytest.raises(OrderNotFillableError, match="not expired"):
        decide_expire(account, ExpireOrder(order_id), ctx())
    later = replace(ctx(), at=NOW + timedelta(seconds=60))
    event = decide_expire(account, ExpireOrder(order_id), later)
    after = apply_order_released(account, event)
    assert after.held == D("0.00") and after.open_orders == {}
    with pytest.raises(OrderNotFillableError, match="not open"):
        decide_expire(after, ExpireOrder(order_id), later)


def test_an_order_without_expiry_never_expires() -> None:
    account, order_id = placed(rich("1000.00"), limit("buy", "1", "100"))
    far = replace(ctx(), at=NOW + timedelta(days=3650))
    with pytest.raises(OrderNotFillableError):
        decide_expire(account, ExpireOrder(order_id), far)


@given(
    quantity=st.decimals(min_value=D("0.001"), max_value=D("5"), places=3),
    limit_price=st.decimals(min_value=D("1"), max_value=D("2000"), places=8),
    discount=st.decimals(min_value=D("0"), max_value=D("1"), places=4),
)
def test_a_buy_never_costs_more_than_it_reserved(
    quantity: Decimal, limit_price: Decimal, discount: Decimal
) -> None:
    account, order_id = placed(rich("10000.00"), limit("buy", str(quantity), str(limit_price)))
    price = (limit_price * (1 - discount)).quantize(D("0.00000001"))
    if price <= 0:
        return
    after = fill(account, order_id, str(price))
    assert after.held == 0 and after.balance >= account.balance - account.held
    assert after.balance + after.holding("BTC").cost == account.balance
