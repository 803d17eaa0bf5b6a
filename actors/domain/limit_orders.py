"""Limit orders: place (reserve), fill on a crossing price (release the difference), cancel and
expire (release all). The rounding rule is the market orders' (``actors.domain.trading``).

A limit buy reserves ``quantity x limit price`` rounded up to the cent; it fills at a market
price at or below its limit, at that price, so its cost (rounded up) never exceeds what it
reserved, and the difference goes back to available cash. A limit sell reserves its quantity
and fills at a price at or above its limit. An order fills, is cancelled or expires at most
once: each removes it from the account's open orders, and every later attempt finds it gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from actors.domain.accounts import Account, ensure_sufficient_funds
from actors.domain.commands import CancelOrder, ExpireOrder, FillOrder, PlaceLimitOrder
from actors.domain.context import Context
from actors.domain.errors import (
    InvalidOrderError,
    OrderNotCancellableError,
    OrderNotFillableError,
    OrderRejectedError,
)
from actors.domain.events import LimitOrderFilled, LimitOrderPlaced, OrderCancelled, OrderExpired
from actors.domain.holdings import QUANTUM
from actors.domain.quotes import PRICE_PLACES, PRICE_QUANTUM
from actors.domain.reservations import OpenOrder
from actors.domain.trading import (
    buy_cost,
    ensure_sufficient_holdings,
    moved_by_fill,
    sale_proceeds,
    validate_quantity,
)

NOT_OPEN = "The order is not open."
NOT_CROSSED = "The price does not cross the order's limit."
NOT_DUE = "The order has not expired."


def validate_limit_order(command: PlaceLimitOrder, ctx: Context) -> None:
    """The checks of a limit order that need no market price: its quantity, its limit price,
    its value at that price, and an expiry in the future.

    Raises:
        InvalidOrderError: bad input, answered 422 and never recorded.
    """
    limits = ctx.order_limits
    validate_quantity(command, limits)
    price = command.limit_price
    if not price.is_finite() or price <= 0:
        raise InvalidOrderError("price", "The limit price must be a positive number.")
    if price != price.quantize(PRICE_QUANTUM):
        raise InvalidOrderError("price", f"The price has more than {PRICE_PLACES} decimal places.")
    if command.quantity * price > limits.max_value:
        raise InvalidOrderError("price", f"The order's value must be at most {limits.max_value}.")
    if sale_proceeds(command.quantity, price) < limits.min_notional:
        raise InvalidOrderError(
            "price", f"The order's cash amount must be at least {limits.min_notional}."
        )
    if command.expires_at is not None and command.expires_at <= ctx.at:
        raise InvalidOrderError("expires_at", "The expiry must be in the future.")


def decide_limit_order(
    account: Account, command: PlaceLimitOrder, ctx: Context
) -> LimitOrderPlaced:
    """Queue a limit order, reserving what it needs, or refuse it.

    Raises:
        OrderRejectedError: the account already has the most open orders allowed.
        InsufficientFundsError: a buy whose reservation is more than the available cash.
        InsufficientHoldingsError: a sale of more than the available holding.
    """
    limits = ctx.order_limits
    if len(account.open_orders) >= limits.max_open_orders:
        raise OrderRejectedError(f"At most {limits.max_open_orders} orders can be open at once.")
    quantity = command.quantity.quantize(QUANTUM)
    if command.side == "buy":
        reserved = buy_cost(quantity, command.limit_price)
        ensure_sufficient_funds(account, reserved)
    else:
        reserved = quantity
        ensure_sufficient_holdings(command.asset_id, account.holding(command.asset_id), quantity)
    order = OpenOrder(
        order_id=ctx.new_id(),
        client_order_id=command.client_order_id,
        side=command.side,
        asset_id=command.asset_id,
        quantity=quantity,
        limit_price=command.limit_price,
        reserved=reserved,
        placed_at=ctx.at,
        expires_at=command.expires_at,
    )
    return LimitOrderPlaced(order=order, at=ctx.at)


def apply_limit_order_placed(account: Account, event: LimitOrderPlaced) -> Account:
    """The account with the order open and its reservation held."""
    order = event.order
    opened = {**account.open_orders, order.order_id: order}
    if order.side == "buy":
        return replace(account, held=account.held + order.reserved, open_orders=opened)
    holding = account.holding(order.asset_id)
    held = replace(holding, held=holding.held + order.reserved)
    return replace(account.with_holding(order.asset_id, held), open_orders=opened)


def _open_order(account: Account, order_id: str) -> OpenOrder:
    order = account.open_orders.get(order_id)
    if order is None:
        raise OrderNotFillableError(order_id, NOT_OPEN)
    return order


def decide_fill(account: Account, command: FillOrder, ctx: Context) -> LimitOrderFilled:
    """Fill an open limit order at a market price that crosses its limit.

    Raises:
        OrderNotFillableError: the order is not open (filled, cancelled, expired, never placed)
            or the price does not cross its limit; nothing is recorded.
    """
    order = _open_order(account, command.order_id)
    if not order.crosses(command.price):
        raise OrderNotFillableError(order.order_id, NOT_CROSSED)
    if order.side == "buy":
        amount = buy_cost(order.quantity, command.price)  # <= reserved: price <= limit
        balance_after = account.balance - amount
        holding_after = account.holding(order.asset_id).quantity + order.quantity
        released = order.reserved - amount
    else:
        amount = sale_proceeds(order.quantity, command.price)
        balance_after = account.balance + amount
        holding_after = account.holding(order.asset_id).quantity - order.quantity
        released = order.reserved
    return LimitOrderFilled(
        order=order,
        price=command.price,
        amount=amount,
        released=released,
        balance_after=balance_after,
        holding_after=holding_after,
        at=ctx.at,
    )


def apply_limit_order_filled(account: Account, event: LimitOrderFilled) -> Account:
    """The account after a fill: the reservation released, cash and holding moved."""
    released = _released(account, event.order)
    return moved_by_fill(
        released,
        event.order.side,
        event.order.asset_id,
        event.order.quantity,
        event.amount,
        event.at,
    )


def decide_cancel(account: Account, command: CancelOrder, ctx: Context) -> OrderCancelled:
    """Cancel an open order, releasing everything it reserved.

    Raises:
        OrderNotCancellableError: the order is final already (a refusal, recorded: 409).
    """
    order = account.open_orders.get(command.order_id)
    if order is None:
        raise OrderNotCancellableError(command.order_id)
    return OrderCancelled(order=order, at=ctx.at)


def decide_expire(account: Account, command: ExpireOrder, ctx: Context) -> OrderExpired:
    """Expire an open order whose expiry has come, releasing everything it reserved.

    Raises:
        OrderNotFillableError: the order is not open or not due yet; nothing is recorded.
    """
    order = _open_order(account, command.order_id)
    if not order.expired_at(ctx.at):
        raise OrderNotFillableError(order.order_id, NOT_DUE)
    return OrderExpired(order=order, at=ctx.at)


def apply_order_released(account: Account, event: OrderCancelled | OrderExpired) -> Account:
    """The account after a cancel or an expiry: the order closed, its reservation released."""
    return _released(account, event.order)


def _released(account: Account, order: OpenOrder) -> Account:
    opened = {k: v for k, v in account.open_orders.items() if k != order.order_id}
    if order.side == "buy":
        return replace(account, held=account.held - order.reserved, open_orders=opened)
    holding = account.holding(order.asset_id)
    freed = replace(holding, held=holding.held - order.reserved)
    return replace(account.with_holding(order.asset_id, freed), open_orders=opened)


def reservations_of(orders: Mapping[str, OpenOrder]) -> dict[str, Decimal]:
    """What open orders reserve: cash under ``""``, and the quantity of each asset sold (the
    invariant: the account's ``held`` and each holding's ``held`` equal these)."""
    totals: dict[str, Decimal] = {}
    for order in orders.values():
        key = "" if order.side == "buy" else order.asset_id
        totals[key] = totals.get(key, Decimal(0)) + order.reserved
    return totals
