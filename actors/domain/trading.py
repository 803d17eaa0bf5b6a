"""Market orders: the rounding rule, the order limits, and the buy and sell rules.

Rounding (written down once, here): a buy costs ``quantity x price`` rounded UP to the cent, a
sale brings ``quantity x price`` rounded DOWN to the cent, so rounding never creates money for
the user. An order whose value ``quantity x price`` is above ``max_value`` is refused, and so is
one whose cash amount after rounding is below ``min_notional`` (a sale worth less than a cent
would otherwise give away the asset for nothing).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from actors.domain.accounts import Account, ensure_sufficient_funds
from actors.domain.commands import PlaceLimitOrder, PlaceMarketOrder, Side
from actors.domain.context import Context
from actors.domain.errors import InsufficientHoldingsError, InvalidOrderError, OrderRejectedError
from actors.domain.events import OrderFilled
from actors.domain.holdings import QUANTITY_PLACES, QUANTUM, Holding
from actors.domain.limits import OrderLimits
from actors.domain.money import CENT

ASSET_ID_MAX = 20
MAX_QUANTITY_DIGITS = 15  # no order can be worth its limit beyond this; keeps quantize exact


def buy_cost(quantity: Decimal, price: Decimal) -> Decimal:
    """What a buy of ``quantity`` at ``price`` costs: rounded up to the cent."""
    return (quantity * price).quantize(CENT, ROUND_UP)


def sale_proceeds(quantity: Decimal, price: Decimal) -> Decimal:
    """What a sale of ``quantity`` at ``price`` brings: rounded down to the cent."""
    return (quantity * price).quantize(CENT, ROUND_DOWN)


def validate_order(command: PlaceMarketOrder, limits: OrderLimits) -> None:
    """The checks of a market order that need no price (see ``validate_quantity``)."""
    validate_quantity(command, limits)


def validate_quantity(command: PlaceMarketOrder | PlaceLimitOrder, limits: OrderLimits) -> None:
    """The checks of any order that need no price: the asset id's shape, the quantity's
    minimum and places.

    Raises:
        InvalidOrderError: bad input, answered 422 and never recorded.
    """
    if not command.asset_id or len(command.asset_id) > ASSET_ID_MAX:
        raise InvalidOrderError("asset_id", "The asset id is not valid.")
    quantity = command.quantity
    if not quantity.is_finite() or quantity < limits.min_quantity:
        raise InvalidOrderError("quantity", f"The quantity must be at least {limits.min_quantity}.")
    if quantity.adjusted() > MAX_QUANTITY_DIGITS:
        raise InvalidOrderError("quantity", "The quantity is too large.")
    if quantity != quantity.quantize(QUANTUM):
        raise InvalidOrderError(
            "quantity", f"The quantity has more than {QUANTITY_PLACES} decimal places."
        )


def decide_market_order(account: Account, command: PlaceMarketOrder, ctx: Context) -> OrderFilled:
    """Fill a market order at the current price, or refuse it.

    Raises:
        OrderRejectedError: its value is above the maximum or its cash amount below the minimum.
        InsufficientFundsError: a buy costing more than the available cash.
        InsufficientHoldingsError: a sale of more than the available holding.
    """
    price = ctx.price(command.asset_id)
    quantity = command.quantity.quantize(QUANTUM)
    limits = ctx.order_limits
    if quantity * price > limits.max_value:
        raise OrderRejectedError(f"The order's value must be at most {limits.max_value}.")
    holding = account.holding(command.asset_id)
    if command.side == "buy":
        amount = buy_cost(quantity, price)
        _ensure_notional(amount, limits)
        ensure_sufficient_funds(account, amount)
        balance_after, holding_after = account.balance - amount, holding.quantity + quantity
    else:
        amount = sale_proceeds(quantity, price)
        _ensure_notional(amount, limits)
        ensure_sufficient_holdings(command.asset_id, holding, quantity)
        balance_after, holding_after = account.balance + amount, holding.quantity - quantity
    return OrderFilled(
        order_id=ctx.new_id(),
        client_order_id=command.client_order_id,
        side=command.side,
        asset_id=command.asset_id,
        quantity=quantity,
        price=price,
        amount=amount,
        balance_after=balance_after,
        holding_after=holding_after,
        at=ctx.at,
    )


def _ensure_notional(amount: Decimal, limits: OrderLimits) -> None:
    if amount < limits.min_notional:
        raise OrderRejectedError(f"The order's cash amount must be at least {limits.min_notional}.")


def ensure_sufficient_holdings(asset_id: str, holding: Holding, quantity: Decimal) -> None:
    """Refuse to sell more than the available holding: the rule that keeps holdings >= 0."""
    if quantity > holding.available:
        raise InsufficientHoldingsError(asset_id, quantity, holding.available)


def apply_order_filled(account: Account, event: OrderFilled) -> Account:
    """The account after a market fill: cash and the holding (with its cost basis) move."""
    return moved_by_fill(
        account, event.side, event.asset_id, event.quantity, event.amount, event.at
    )


def moved_by_fill(
    account: Account, side: Side, asset_id: str, quantity: Decimal, amount: Decimal, at: datetime
) -> Account:
    """The account after any fill: a buy pays ``amount`` and adds ``quantity`` at that cost; a
    sale takes ``quantity`` out with its share of the cost (average cost, to the cent) and
    brings ``amount``."""
    holding = account.holding(asset_id)
    if side == "buy":
        balance = account.balance - amount
        held_quantity, cost = holding.quantity + quantity, holding.cost + amount
    else:
        balance = account.balance + amount
        held_quantity = holding.quantity - quantity
        sold_cost = (holding.cost * quantity / holding.quantity).quantize(CENT)
        cost = holding.cost - sold_cost if held_quantity else Decimal("0.00")
    opened = holding.opened_at or at
    moved = replace(holding, quantity=held_quantity, cost=cost, opened_at=opened, updated_at=at)
    after = account.with_holding(asset_id, moved)
    return replace(after, balance=balance, transaction_count=account.transaction_count + 1)
